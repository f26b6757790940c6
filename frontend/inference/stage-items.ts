// What one pipeline stage's reply hands to the next stage (docs/pipelines.md "Items between stages"):
// the items of an `application/x-mms-items` body (fan-out), the v2 answer renamed into the next
// stage's v2 request (`map`, an ONNX chain), or the reply's body as the next item's `body`.
import { V2_HEADER_LENGTH, type OutgoingItem, type ReplyItem, type RequestParameter } from '../../protocol/messages.js';
import { ITEMS_CONTENT_TYPE } from '../../protocol/pipeline.js';
import { MAX_REQUEST_ITEMS, TooManyItemsError, decodeItems } from '../../protocol/pipeline-items.js';
import { ServerError, fromWorker } from '../errors.js';
import type { RequestedOutput } from './chain-outputs.js';

/** Headers of the client's request that describe its body, not the next item's. */
const BODY_HEADERS = new Set(['content-type', 'content-length', 'transfer-encoding', V2_HEADER_LENGTH]);

const badOutput = (message: string) => fromWorker(503, '', message, 'HANDLER_BAD_OUTPUT');

/** Whether the reply fans out (holds items rather than one answer). */
export const isItems = (reply: ReplyItem): boolean => reply.contentType === ITEMS_CONTENT_TYPE;

/**
 * The next stage's items from a stage's reply; `parent` gives the request id and the client's headers;
 * `room`: how many more items the request may hand on (MAX_REQUEST_ITEMS in all).
 */
export function nextItems(reply: ReplyItem, parent: OutgoingItem, map: Record<string, string> | undefined, stage: string, outputs?: RequestedOutput[], room = MAX_REQUEST_ITEMS): OutgoingItem[] {
  const headers = parent.headers.filter(([h]) => !BODY_HEADERS.has(h));
  const item = (k: number, parameters: RequestParameter[], extra: Array<[string, string]> = []): OutgoingItem => ({
    requestId: `${parent.requestId}.${k}`,
    headers: [...headers, ...extra],
    parameters,
  });
  if (isItems(reply)) {
    let items;
    try {
      items = decodeItems(reply.body, room);
    } catch (err) {
      if (err instanceof TooManyItemsError) {
        throw new ServerError('RESPONSE_TOO_LARGE', `The stage before pipeline stage ${stage} answered ${err.message}: a request's stages hand on at most ${MAX_REQUEST_ITEMS} items in all.`);
      }
      throw badOutput(`The stage before pipeline stage ${stage} answered malformed items: ${(err as Error).message}`);
    }
    return items.map((parts, k) => item(k, parts));
  }
  if (map) {
    const next = v2Request(reply, map, stage, outputs);
    return [item(0, [{ name: 'body', contentType: next.contentType, value: next.body }], next.headers)];
  }
  return [item(0, [{ name: 'body', contentType: reply.contentType, value: reply.body }])];
}

interface V2Tensor {
  name: string;
  shape: number[];
  datatype: string;
  data?: unknown;
  parameters?: { binary_data_size?: number };
}

/**
 * A KServe v2 answer as the v2 request of the next stage: each output the map names becomes the input
 * it maps to (an empty map: every output, same name); binary outputs stay binary. `outputs`: the
 * outputs the client asked for, for the last stage of a chain.
 */
export function v2Request(reply: ReplyItem, map: Record<string, string>, stage: string, requested?: RequestedOutput[]): { contentType: string; headers: Array<[string, string]>; body: Buffer } {
  const headerLength = Number(reply.headers.find(([h]) => h === V2_HEADER_LENGTH)?.[1] ?? NaN);
  const binary = Number.isInteger(headerLength);
  let outputs: V2Tensor[];
  try {
    outputs = (JSON.parse((binary ? reply.body.subarray(0, headerLength) : reply.body).toString('utf8')) as { outputs?: V2Tensor[] }).outputs ?? [];
  } catch {
    throw badOutput(`Pipeline stage ${stage}'s input map needs a KServe v2 answer from the stage before it.`);
  }
  const all = Object.keys(map).length === 0;
  const inputs: V2Tensor[] = [];
  const bytes: Buffer[] = [];
  let at = binary ? headerLength : 0;
  if (!Array.isArray(outputs)) throw badOutput(`Pipeline stage ${stage}: the answer before it has no list of outputs.`);
  for (const o of outputs) {
    // The stage before is at fault for a malformed answer, not the client (503, never 400 or 500).
    if (typeof o !== 'object' || o === null || typeof o.name !== 'string') throw badOutput(`Pipeline stage ${stage}: an output of the answer before it has no name.`);
    const size = o.parameters?.binary_data_size;
    if (size !== undefined && (!Number.isInteger(size) || size < 0 || at + size > reply.body.length)) {
      throw badOutput(`Pipeline stage ${stage}: output ${o.name} of the answer before it declares binary_data_size ${String(size)}, which its bytes do not hold.`);
    }
    const data = size === undefined ? undefined : reply.body.subarray(at, (at += size));
    const name = all ? o.name : Object.hasOwn(map, o.name) ? map[o.name] : undefined;
    if (!name) continue;
    inputs.push({ name, shape: o.shape, datatype: o.datatype, ...(data ? { parameters: { binary_data_size: size } } : { data: o.data }) });
    if (data) bytes.push(data);
  }
  if (inputs.length === 0) throw badOutput(`Pipeline stage ${stage}: the answer before it has none of the outputs its map names (${Object.keys(map).join(', ')}).`);
  // Binary in, binary out: a client that asked the first stage for binary tensors gets them from the last.
  const head = Buffer.from(JSON.stringify({ inputs, ...(requested ? { outputs: requested } : {}), ...(binary ? { parameters: { binary_data_output: true } } : {}) }));
  if (bytes.length === 0) return { contentType: 'application/json', headers: [], body: head };
  return { contentType: 'application/octet-stream', headers: [[V2_HEADER_LENGTH, String(head.length)]], body: Buffer.concat([head, ...bytes]) };
}
