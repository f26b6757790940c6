// An HTTP request → the RequestItem a worker receives (protocol.md §4): every header, then named
// parameters: query values (on every inference route; MMS only on SageMaker's), form fields and file
// parts, or the raw `body`.
import { Readable } from 'node:stream';
import type { Context } from 'koa';
import type { OutgoingItem, RequestParameter } from '../../protocol/messages.js';
import { badRequest } from './errors.js';

export async function toRequestItem(ctx: Context, pieces: Buffer[]): Promise<OutgoingItem> {
  const headers: Array<[string, string]> = [];
  for (const [name, value] of Object.entries(ctx.headers)) {
    if (value !== undefined) headers.push([name, Array.isArray(value) ? value[value.length - 1] : value]);
  }
  const parameters: OutgoingItem['parameters'] = [];
  const whole = () => (pieces.length === 1 ? pieces[0] : Buffer.concat(pieces));
  for (const [name, value] of new URLSearchParams(ctx.querystring)) parameters.push({ name, contentType: '', value: Buffer.from(value) });
  const type = (ctx.get('content-type').split(';')[0] ?? '').trim().toLowerCase();
  if (type === 'application/x-www-form-urlencoded') {
    for (const [name, value] of new URLSearchParams(whole().toString('utf8'))) parameters.push({ name, contentType: '', value: Buffer.from(value) });
  } else if (type === 'multipart/form-data') {
    parameters.push(...(await parseMultipart(ctx.get('content-type'), whole())));
  } else {
    parameters.push({ name: 'body', contentType: type, value: pieces });
  }
  return { requestId: ctx.state.requestId, headers, parameters };
}

async function parseMultipart(contentType: string, body: Buffer): Promise<RequestParameter[]> {
  const { default: busboy } = await import('busboy'); // loaded on the first multipart request
  return new Promise((resolve, reject) => {
    const out: RequestParameter[] = [];
    let parser: ReturnType<typeof busboy>;
    try {
      parser = busboy({ headers: { 'content-type': contentType } });
    } catch (err) {
      reject(badRequest(`Invalid multipart request: ${(err as Error).message}`));
      return;
    }
    parser.on('field', (name, value) => out.push({ name, contentType: '', value: Buffer.from(value) }));
    const fail = (err: Error) => reject(badRequest(`Invalid multipart request: ${err.message}`));
    parser.on('file', (name, stream, info) => {
      const chunks: Buffer[] = [];
      // A part cut off mid-way errors on its own stream too; unheard, that error would crash the server.
      stream.on('error', fail);
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => out.push({ name, contentType: info.mimeType, value: Buffer.concat(chunks) }));
    });
    parser.on('error', fail);
    parser.on('close', () => resolve(out));
    Readable.from([body]).pipe(parser);
  });
}
