// The one place where errors become a status and a JSON body `{code, type, message}`; unknown
// paths end here as 404. Error responses close the connection, as MMS's do.
import type { Middleware } from 'koa';
import type { Logger } from '../logging/logger.js';
import { ServerError, resourceNotFound } from './errors.js';
import { sendJson } from './respond.js';

export function errorMiddleware(log: Logger): Middleware {
  return async (ctx, next) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) throw resourceNotFound();
    } catch (err) {
      const e = toServerError(err);
      if (e.status >= 500) log.error({ err, path: ctx.path }, e.message);
      sendJson(ctx, e.status, e.toJSON());
      for (const [k, v] of Object.entries(e.headers)) ctx.set(k, v);
    }
    if (ctx.status >= 400) ctx.set('Connection', 'close');
  };
}

function toServerError(err: unknown): ServerError {
  if (err instanceof ServerError) return err;
  const e = err as { status?: number; expose?: boolean; message?: string; type?: string };
  if (e && typeof e.status === 'number' && e.status >= 400 && e.status < 500) {
    // Errors raised by Koa itself (e.g. an unparsable request): keep their status.
    const type = e.status === 413 ? 'RequestEntityTooLargeException' : 'BadRequestException';
    return new ServerError(e.status, type, e.expose && e.message ? e.message : 'Invalid HTTP message.');
  }
  return new ServerError(500, 'InternalServerException', (err as Error)?.message || 'Internal server error');
}
