// Reads a request body into one Buffer, refusing (413) anything over max_request_size before it is
// buffered: by Content-Length when given, else as soon as the running total passes the limit.
import type { Context } from 'koa';
import { payloadTooLarge } from './errors.js';

export async function readBody(ctx: Context, limit: number): Promise<Buffer> {
  const declared = Number(ctx.get('content-length') || NaN);
  const tooLarge = () => payloadTooLarge(`Request body exceeds max_request_size (${limit} bytes).`);
  if (declared > limit) throw tooLarge();
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > limit) throw tooLarge();
    chunks.push(chunk);
  }
  return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, total);
}
