// The outputs a client names in an Open Inference Protocol request to an ONNX chain (docs/pipelines.md,
// "An ONNX chain without code") are the last stage's: they are lifted out of the request the first
// stage gets and handed to the last stage's (stage-items.ts v2Request), as Triton does for an ensemble.
import { V2_HEADER_LENGTH, type OutgoingItem } from '../../protocol/messages.js';

/** One requested output as the v2 request names it (its parameters, e.g. `binary_data`, kept). */
export type RequestedOutput = { name: string } & Record<string, unknown>;

/**
 * `item` without the `outputs` of its v2 request, and those outputs; the item as it came (and none)
 * when it names none or is no v2 request. Only a body that mentions `"outputs"` is parsed.
 */
export function liftOutputs(item: OutgoingItem): { item: OutgoingItem; outputs?: RequestedOutput[] } {
  if (item.parameters.length !== 1 || item.parameters[0].name !== 'body') return { item };
  const param = item.parameters[0];
  const pieces = Buffer.isBuffer(param.value) ? [param.value] : param.value;
  const total = pieces.reduce((n, b) => n + b.length, 0);
  const declared = item.headers.find(([h]) => h === V2_HEADER_LENGTH)?.[1];
  const headerLength = declared === undefined ? total : Number(declared);
  if (!Number.isInteger(headerLength) || headerLength < 0 || headerLength > total || pieces.length === 0) return { item };
  const head = pieces[0].length >= headerLength ? pieces[0].subarray(0, headerLength) : Buffer.concat(pieces).subarray(0, headerLength);
  if (!head.includes('"outputs"')) return { item };
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(head.toString('utf8')) as Record<string, unknown>;
  } catch {
    return { item }; // the first stage refuses it with its own words
  }
  if (!Array.isArray(doc.outputs)) return { item };
  const outputs = doc.outputs as RequestedOutput[];
  delete doc.outputs;
  const newHead = Buffer.from(JSON.stringify(doc));
  const headers = item.headers.map(([h, v]): [string, string] => (h === V2_HEADER_LENGTH ? [h, String(newHead.length)] : [h, v]));
  return { item: { ...item, headers, parameters: [{ ...param, value: [newHead, ...after(pieces, headerLength)] }] }, outputs };
}

/** The pieces' bytes from byte `n` on, as views. */
function after(pieces: readonly Buffer[], n: number): Buffer[] {
  const out: Buffer[] = [];
  for (const b of pieces) {
    if (n >= b.length) n -= b.length;
    else {
      out.push(n > 0 ? b.subarray(n) : b);
      n = 0;
    }
  }
  return out;
}
