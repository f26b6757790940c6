// gRPC ModelInfer ↔ the v2 binary-data format the worker's codec reads and writes (docs/api.md,
// "Open Inference Protocol: gRPC"). A request becomes one body: a small JSON header naming every input
// with its binary_data_size, then each input's bytes: the raw_input_contents themselves (views of the
// received chunks, grpc-infer-decode.ts, sent on to the worker without a copy), or typed contents laid
// out as the same little-endian bytes. Every output is asked for as binary, and the reply's bytes
// become raw_output_contents as views of the worker's reply.
import { V2_HEADER_LENGTH, type OutgoingItem, type ReplyItem } from '../../protocol/messages.js';
import type { InferInputTensor, InferParameter, InferTensorContents, ModelInferResponse } from '../../protocol/grpc-proto.js';
import type { ChunkedInferRequest } from './grpc-infer-decode.js';
import { badRequest, internal } from '../errors.js';

type Field = keyof InferTensorContents;
type Encode = (values: unknown[]) => Buffer;

const view = (a: ArrayBufferView): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
const numbers = (Ctor: new (values: number[]) => ArrayBufferView): Encode => (v) => view(new Ctor(v.map(Number)));
const bigints = (Ctor: new (values: bigint[]) => ArrayBufferView): Encode => (v) => view(new Ctor(v.map((x) => BigInt(x as string | number))));

/** Per datatype: the InferTensorContents field that carries it and its little-endian layout. */
const TYPED: Record<string, [Field, Encode]> = {
  BOOL: ['bool_contents', (v) => view(Uint8Array.from(v, (b) => (b ? 1 : 0)))],
  INT8: ['int_contents', numbers(Int8Array as never)],
  INT16: ['int_contents', numbers(Int16Array as never)],
  INT32: ['int_contents', numbers(Int32Array as never)],
  UINT8: ['uint_contents', numbers(Uint8Array as never)],
  UINT16: ['uint_contents', numbers(Uint16Array as never)],
  UINT32: ['uint_contents', numbers(Uint32Array as never)],
  INT64: ['int64_contents', bigints(BigInt64Array as never)],
  UINT64: ['uint64_contents', bigints(BigUint64Array as never)],
  FP32: ['fp32_contents', numbers(Float32Array as never)],
  FP64: ['fp64_contents', numbers(Float64Array as never)],
  BYTES: ['bytes_contents', (v) => bytesElements(v as Uint8Array[])],
};

/** BYTES elements as the binary extension lays them out: a 4-byte little-endian length, then the bytes. */
function bytesElements(elements: Uint8Array[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of elements) {
    const len = Buffer.alloc(4);
    len.writeUInt32LE(e.length);
    parts.push(len, Buffer.from(e.buffer, e.byteOffset, e.byteLength));
  }
  return Buffer.concat(parts);
}

const filled = (c: InferTensorContents | undefined): Field[] =>
  c ? (Object.keys(c) as Field[]).filter((k) => Array.isArray(c[k]) && c[k]!.length > 0) : [];

function typedBytes(t: InferInputTensor, name: string): Buffer {
  const datatype = t.datatype ?? '';
  const given = filled(t.contents);
  if (datatype === 'FP16') throw badRequest(`Input "${name}" of FP16 must be sent as raw_input_contents.`);
  const typed = TYPED[datatype];
  if (!typed) throw badRequest(`Input "${name}" has unknown datatype ${JSON.stringify(datatype)}.`);
  const [field, encode] = typed;
  const other = given.find((f) => f !== field);
  if (other) throw badRequest(`Input "${name}" of ${datatype} takes its values in contents.${field}, not contents.${other}.`);
  return encode((t.contents?.[field] as unknown[] | undefined) ?? []);
}

/** A parameter map's plain values (the oneof's chosen member). */
function plain(params: Record<string, InferParameter> | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, p] of Object.entries(params ?? {})) {
    const choice = p.parameter_choice ?? (['bool_param', 'int64_param', 'string_param'] as const).find((c) => p[c] !== undefined);
    if (choice) out[k] = choice === 'int64_param' ? Number(p.int64_param) : p[choice];
  }
  return out;
}

/** The request as the worker's v2 codec reads it (one `body` parameter, binary-data extension). */
export function toV2Item(req: ChunkedInferRequest, requestId: string): OutgoingItem {
  const inputs = req.inputs ?? [];
  const raw = req.raw_input_contents ?? [];
  if (raw.length > 0 && raw.length !== inputs.length) {
    throw badRequest(`raw_input_contents has ${raw.length} entries but the request has ${inputs.length} inputs.`);
  }
  const pieces: Buffer[] = [];
  const head = inputs.map((t, i) => {
    const name = t.name ?? '';
    let size = 0;
    if (raw.length > 0) {
      if (filled(t.contents).length > 0) throw badRequest(`Input "${name}" has contents although raw_input_contents is used.`);
      for (const part of raw[i]) {
        pieces.push(part);
        size += part.length;
      }
    } else {
      const bytes = typedBytes(t, name);
      pieces.push(bytes);
      size = bytes.length;
    }
    const shape = (t.shape ?? []).map(Number);
    return { name, datatype: t.datatype ?? '', shape, parameters: { ...plain(t.parameters), binary_data_size: size } };
  });
  const outputs = req.outputs?.length ? req.outputs.map((o) => ({ name: o.name ?? '', parameters: { binary_data: true } })) : undefined;
  const header = Buffer.from(JSON.stringify({
    ...(req.id ? { id: req.id } : {}),
    inputs: head,
    ...(outputs ? { outputs } : {}),
    parameters: { ...plain(req.parameters), binary_data_output: true },
  }));
  return {
    requestId,
    headers: [[V2_HEADER_LENGTH, String(header.length)], ['content-type', 'application/octet-stream']],
    parameters: [{ name: 'body', contentType: 'application/octet-stream', value: [header, ...pieces] }],
  };
}

interface V2Output {
  name: string;
  datatype: string;
  shape: number[];
  data?: unknown[];
  parameters?: { binary_data_size?: number };
}

/** The worker's v2 binary-data reply as a ModelInferResponse, every output in raw_output_contents. */
export function fromV2Reply(reply: ReplyItem): ModelInferResponse {
  const body = reply.body;
  const declared = reply.headers.find(([k]) => k === V2_HEADER_LENGTH)?.[1];
  const end = declared === undefined ? body.length : Number(declared);
  let doc: { model_name?: string; model_version?: string; id?: string; outputs?: V2Output[] };
  try {
    doc = JSON.parse(body.toString('utf8', 0, end));
  } catch {
    throw internal('The worker answered with no v2 inference response.');
  }
  let at = end;
  const raw: Buffer[] = [];
  const outputs = (doc.outputs ?? []).map((o) => {
    const size = o.parameters?.binary_data_size;
    if (size !== undefined) {
      raw.push(body.subarray(at, (at += size)));
    } else if (o.datatype === 'BYTES' && Array.isArray(o.data)) {
      raw.push(bytesElements(o.data.map((s) => Buffer.from(String(s)))));
    } else {
      throw internal(`Output "${o.name}" came back without binary data.`);
    }
    return { name: o.name, datatype: o.datatype, shape: o.shape };
  });
  return {
    model_name: doc.model_name ?? '',
    ...(doc.model_version !== undefined ? { model_version: doc.model_version } : {}),
    ...(doc.id !== undefined ? { id: doc.id } : {}),
    outputs,
    raw_output_contents: raw,
  };
}
