// An HTTP request → the RequestItem a worker receives (protocol.md, "Predict"): every header, then
// named parameters: query values (on every inference route; MMS only on SageMaker's), form fields and
// file parts, or the raw `body`; at most max_request_parameters of them (parameter-cap.ts).
import { Readable } from 'node:stream';
import type { Context } from 'koa';
import { V2_HEADER_LENGTH, type OutgoingItem, type RequestParameter } from '../../protocol/messages.js';
import { badRequest, tooManyParameters } from '../errors.js';
import { countPairs } from './parameter-cap.js';

export async function toRequestItem(ctx: Context, pieces: Buffer[], maxParameters: number): Promise<OutgoingItem> {
  const headers: Array<[string, string]> = [];
  for (const [name, value] of Object.entries(ctx.headers)) {
    if (value !== undefined) headers.push([name, Array.isArray(value) ? value[value.length - 1] : value]);
  }
  const parameters: OutgoingItem['parameters'] = [];
  const whole = () => (pieces.length === 1 ? pieces[0] : Buffer.concat(pieces));
  // Counted before parsing, so an oversized form or query costs a byte scan, not 200k objects.
  if (countPairs(ctx.querystring, maxParameters) > maxParameters) throw tooManyParameters(maxParameters);
  for (const [name, value] of new URLSearchParams(ctx.querystring)) parameters.push({ name, contentType: '', value: Buffer.from(value) });
  const left = maxParameters - parameters.length;
  const type = (ctx.get('content-type').split(';')[0] ?? '').trim().toLowerCase();
  // The binary tensor extension's header says what the body is, whatever its type says (curl's
  // --data-binary sends application/x-www-form-urlencoded): it goes on whole, never parsed as a form.
  const mayBeForm = ctx.get(V2_HEADER_LENGTH) === '';
  if (mayBeForm && type === 'application/x-www-form-urlencoded') {
    const body = whole();
    if (countPairs(body, left) > left) throw tooManyParameters(maxParameters);
    for (const [name, value] of new URLSearchParams(body.toString('utf8'))) parameters.push({ name, contentType: '', value: Buffer.from(value) });
  } else if (mayBeForm && type === 'multipart/form-data') {
    parameters.push(...(await parseMultipart(ctx.get('content-type'), whole(), left, maxParameters)));
  } else {
    if (left < 1) throw tooManyParameters(maxParameters);
    parameters.push({ name: 'body', contentType: type, value: pieces });
  }
  return { requestId: ctx.state.requestId, headers, parameters };
}

/** The parts as parameters; more than `left` parts → 413 (busboy skips the parts past its limit). */
async function parseMultipart(contentType: string, body: Buffer, left: number, maxParameters: number): Promise<RequestParameter[]> {
  const { default: busboy } = await import('busboy'); // loaded on the first multipart request
  return new Promise((resolve, reject) => {
    const out: RequestParameter[] = [];
    let parser: ReturnType<typeof busboy>;
    try {
      // partsLimit fires when the limit-th part ends: one more than allowed means too many.
      parser = busboy({ headers: { 'content-type': contentType }, limits: { parts: left + 1 } });
    } catch (err) {
      reject(badRequest(`Invalid multipart request: ${(err as Error).message}`));
      return;
    }
    const fail = (err: Error) => reject(badRequest(`Invalid multipart request: ${err.message}`));
    // A part's name is its parameter's name (RFC 7578 requires one); busboy passes a part without it.
    const nameless = () => fail(new Error('a part without a name (Content-Disposition: form-data; name="...")'));
    parser.on('field', (name, value) => {
      if (!name) return nameless();
      out.push({ name, contentType: '', value: Buffer.from(value) });
    });
    parser.on('file', (name, stream, info) => {
      if (!name) {
        stream.resume();
        return nameless();
      }
      const chunks: Buffer[] = [];
      // A part cut off mid-way errors on its own stream too; unheard, that error would crash the server.
      stream.on('error', fail);
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => out.push({ name, contentType: info.mimeType, value: Buffer.concat(chunks) }));
    });
    parser.on('partsLimit', () => reject(tooManyParameters(maxParameters)));
    parser.on('error', fail);
    parser.on('close', () => resolve(out));
    Readable.from([body]).pipe(parser);
  });
}
