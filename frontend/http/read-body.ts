// Reads a request body into one Buffer, refusing (413) anything over max_request_size before it is
// buffered: by Content-Length when given, else as soon as the running total passes the limit. A
// client that goes away mid-body ends it with ClientClosedError.
import type { Context } from 'koa';
import { ClientClosedError, payloadTooLarge } from '../errors.js';

export async function readBody(ctx: Context, limit: number): Promise<Buffer> {
  const pieces = await readBodyPieces(ctx, limit);
  return pieces.length === 1 ? pieces[0] : Buffer.concat(pieces);
}

/** The body as the chunks it arrived in: a raw inference body is sent on to the worker unjoined. */
export async function readBodyPieces(ctx: Context, limit: number): Promise<Buffer[]> {
  const declared = Number(ctx.get('content-length') || NaN);
  const tooLarge = () => payloadTooLarge(`Request body exceeds max_request_size (${limit} bytes).`);
  if (declared > limit) throw tooLarge();
  if (declared === 0 || ctx.req.readableEnded) return [];
  // Plain events rather than an async iterator: this runs for every request.
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    const req = ctx.req;
    const onData = (chunk: Buffer) => {
      total += chunk.length;
      if (total > limit) {
        req.off('data', onData);
        req.resume();
        reject(tooLarge());
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => resolve(chunks));
    // A request stream only fails when its connection does (the client went away): not our error.
    req.once('error', () => reject(new ClientClosedError()));
    // 'close' follows 'end' on every request: only a close before the end is the client going away.
    req.once('close', () => {
      if (!req.readableEnded) reject(new ClientClosedError());
    });
  });
}

