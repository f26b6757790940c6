// Open Inference Protocol (KServe v2) request parsing and response building, JSON and the binary
// tensor extension (`Inference-Header-Content-Length`). Every client mistake is a 400 INVALID_INPUT
// naming the problem.
import { ort, type InputSpec } from '../onnx-session.js';
import { invalidInput, type InferenceInput, type InferenceResult } from '../handler-api.js';
import { jsonElements } from './tensor-json.js';
import { V2_HEADER_LENGTH } from '../../protocol/messages.js';
import { V2_TYPES, halfToFloat, v2TypeOf, viewBytes } from './tensor-types.js';

export interface V2Request {
  id?: string;
  feeds: Record<string, ort.Tensor>;
  /** Requested outputs (all when undefined) and whether each comes back as binary. */
  outputs?: Array<{ name: string; binary: boolean }>;
  binaryByDefault: boolean;
}

const bad = invalidInput;

export function parseV2Request(item: InferenceInput, specs: readonly InputSpec[]): V2Request {
  const body = item.params.body?.value ?? firstParam(item);
  if (!body || body.length === 0) throw bad(`${received(item)}; expected a KServe v2 inference request: JSON (Content-Type: application/json), or the binary extension with Inference-Header-Content-Length.`);
  const headerLength = item.headers[V2_HEADER_LENGTH];
  let jsonEnd = body.length;
  if (headerLength !== undefined) {
    jsonEnd = Number(headerLength);
    if (!Number.isInteger(jsonEnd) || jsonEnd < 0 || jsonEnd > body.length) {
      throw bad(`Invalid Inference-Header-Content-Length ${headerLength} for a body of ${body.length} bytes.`);
    }
  }
  let doc: unknown;
  try {
    doc = JSON.parse(body.toString('utf8', 0, jsonEnd));
  } catch (err) {
    throw bad(`Malformed JSON in inference request: ${(err as Error).message}`);
  }
  if (!isObject(doc) || !Array.isArray(doc.inputs) || doc.inputs.length === 0) {
    throw bad('Inference request must be a JSON object with a non-empty "inputs" array.');
  }
  const byName = new Map(specs.map((s) => [s.name, s]));
  const feeds: Record<string, ort.Tensor> = {};
  let binaryOffset = jsonEnd;
  for (const raw of doc.inputs) {
    if (!isObject(raw) || typeof raw.name !== 'string') throw bad('Each input needs a string "name".');
    const name = raw.name;
    const spec = byName.get(name);
    if (!spec) throw bad(`Unknown input "${name}"; the model's inputs are: ${specs.map((s) => s.name).join(', ')}.`);
    if (feeds[name]) throw bad(`Input "${name}" is given twice.`);
    const shape = checkShape(name, raw.shape, spec);
    const datatype = raw.datatype;
    const info = typeof datatype === 'string' ? V2_TYPES[datatype] : undefined;
    if (!info) throw bad(`Input "${name}" has unknown datatype ${JSON.stringify(datatype)}.`);
    if (spec.type && spec.type !== info.ort) {
      throw bad(`Input "${name}" has datatype ${datatype} but the model expects ${v2TypeOf(spec.type)}.`);
    }
    const count = shape.reduce((a, b) => a * b, 1);
    const params = isObject(raw.parameters) ? raw.parameters : {};
    if (params.binary_data_size !== undefined) {
      const size = params.binary_data_size;
      if (!Number.isInteger(size) || (size as number) < 0 || binaryOffset + (size as number) > body.length) {
        throw bad(`Input "${name}" declares binary_data_size ${size} but only ${body.length - binaryOffset} bytes follow.`);
      }
      const bytes = body.subarray(binaryOffset, binaryOffset + (size as number));
      binaryOffset += size as number;
      feeds[name] = tensorFromBytes(name, datatype as string, bytes, shape, count);
    } else {
      feeds[name] = tensorFromJson(name, datatype as string, raw.data, shape, count, jsonEnd);
    }
  }
  if (binaryOffset !== body.length) throw bad(`${body.length - binaryOffset} unexpected bytes after the binary inputs.`);
  const missing = specs.filter((s) => !feeds[s.name]).map((s) => s.name);
  if (missing.length) throw bad(`Missing input(s): ${missing.join(', ')}.`);
  return { id: typeof doc.id === 'string' ? doc.id : undefined, feeds, ...parseOutputs(doc) };
}

/** Why no body reached the handler: the front read it as a form (curl -d sends one), or there was none. */
function received(item: InferenceInput): string {
  const type = (item.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (type === 'application/x-www-form-urlencoded' || type === 'multipart/form-data') {
    return `Request body was read as form fields (Content-Type: ${type}), not as a tensor request`;
  }
  return 'Request body is empty';
}

/** Without a raw body: the first typed part (a multipart upload), query values having no type. */
function firstParam(item: InferenceInput): Buffer | undefined {
  return Object.values(item.params).find((p) => p.contentType !== '')?.value;
}

function checkShape(name: string, shape: unknown, spec: InputSpec): number[] {
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
    throw bad(`Input "${name}" needs "shape" as an array of non-negative integers.`);
  }
  // An empty tensor is no inference request, and some kernels fail on one with an internal error.
  if (shape.includes(0)) throw bad(`Input "${name}" has shape [${shape}] with a zero dimension; empty tensors are not accepted.`);
  if (spec.shape) {
    if (spec.shape.length !== shape.length) {
      throw bad(`Input "${name}" has shape [${shape}] but the model expects rank ${spec.shape.length} ([${spec.shape}]).`);
    }
    spec.shape.forEach((d, i) => {
      if (typeof d === 'number' && d > 0 && d !== shape[i]) {
        throw bad(`Input "${name}" has shape [${shape}] but dimension ${i} must be ${d} ([${spec.shape}]).`);
      }
    });
  }
  return shape as number[];
}

function tensorFromBytes(name: string, datatype: string, bytes: Buffer, shape: number[], count: number): ort.Tensor {
  const info = V2_TYPES[datatype];
  if (datatype === 'BYTES') return new ort.Tensor('string', splitBytesElements(name, bytes, count), shape);
  if (bytes.length !== count * info.bytes) {
    throw bad(`Input "${name}" has ${bytes.length} bytes but shape [${shape}] of ${datatype} needs ${count * info.bytes}.`);
  }
  const data = viewBytes(bytes, info);
  return new ort.Tensor(info.ort as 'float32', data as Float32Array, shape);
}

function splitBytesElements(name: string, bytes: Buffer, count: number): string[] {
  const out: string[] = [];
  let at = 0;
  while (at + 4 <= bytes.length) {
    const len = bytes.readUInt32LE(at);
    if (at + 4 + len > bytes.length) break;
    out.push(bytes.toString('utf8', at + 4, at + 4 + len));
    at += 4 + len;
  }
  if (at !== bytes.length || out.length !== count) throw bad(`Input "${name}" has malformed BYTES data.`);
  return out;
}

function tensorFromJson(name: string, datatype: string, data: unknown, shape: number[], count: number, textLength: number): ort.Tensor {
  if (!Array.isArray(data)) throw bad(`Input "${name}" needs "data" (an array) or binary_data_size.`);
  const elements = jsonElements(name, datatype, data, shape, count, textLength);
  return new ort.Tensor(V2_TYPES[datatype].ort as 'float32', elements as Float32Array, shape);
}

function parseOutputs(doc: Record<string, unknown>): Pick<V2Request, 'outputs' | 'binaryByDefault'> {
  const params = isObject(doc.parameters) ? doc.parameters : {};
  const binaryByDefault = params.binary_data_output === true;
  if (doc.outputs === undefined) return { binaryByDefault };
  if (!Array.isArray(doc.outputs)) throw bad('"outputs" must be an array.');
  const outputs = doc.outputs.map((o) => {
    if (!isObject(o) || typeof o.name !== 'string') throw bad('Each requested output needs a string "name".');
    const p = isObject(o.parameters) ? o.parameters : {};
    return { name: o.name, binary: p.binary_data === undefined ? binaryByDefault : p.binary_data === true };
  });
  return { outputs, binaryByDefault };
}

export function buildV2Response(
  modelName: string,
  modelVersion: string | undefined,
  request: V2Request,
  results: Record<string, ort.Tensor>,
): InferenceResult {
  const wanted = request.outputs ?? Object.keys(results).map((name) => ({ name, binary: request.binaryByDefault }));
  const binaries: Buffer[] = [];
  const outputs = wanted.map(({ name, binary }) => {
    const t = results[name];
    const head = { name, datatype: v2TypeOf(t.type), shape: t.dims };
    if (binary && t.type !== 'string') {
      const data = t.data as ArrayBufferView;
      binaries.push(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
      return { ...head, parameters: { binary_data_size: data.byteLength } };
    }
    return { ...head, data: jsonData(t) };
  });
  const json = Buffer.from(JSON.stringify({ model_name: modelName, model_version: modelVersion, id: request.id, outputs }));
  if (binaries.length === 0) return { body: json, contentType: 'application/json' };
  return {
    body: Buffer.concat([json, ...binaries]),
    contentType: 'application/octet-stream',
    headers: { [V2_HEADER_LENGTH]: String(json.length) },
  };
}

function jsonData(t: ort.Tensor): unknown[] {
  const data = t.data as ArrayLike<number | bigint | string>;
  if (t.type === 'float16') return Array.from(data as Uint16Array, halfToFloat);
  if (t.type === 'bool') return Array.from(data as Uint8Array, (v) => v !== 0);
  if (t.type === 'int64' || t.type === 'uint64') return Array.from(data as BigInt64Array, Number);
  return Array.from(data);
}

/** Names the outputs a request asks for that the model does not have. */
export function unknownOutputs(request: V2Request, outputNames: readonly string[]): string[] {
  return (request.outputs ?? []).map((o) => o.name).filter((n) => !outputNames.includes(n));
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
