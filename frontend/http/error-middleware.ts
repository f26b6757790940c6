// The one place where errors become a status and a JSON body `{code, type, message, errorCode}`, or
// `{"error"}` on /v2 paths, OpenAI's `{"error": {...}}` on /v1 paths (the catalogue is frontend/errors.ts); unknown paths end here as 404. Error responses close the
// connection, as MMS's do. What is logged for each is log-error.ts's choice (faults with their stack, refusals short).
import type { Middleware } from 'koa';
import type { Logger } from '../logging/logger.js';
import { ClientClosedError, ServerError, internal, isV2Path, payloadTooLarge, resourceNotFound, v2ErrorBody } from '../errors.js';

declare module 'koa' {
  interface DefaultState {
    /** The client went away mid-request (access-log.ts logs it as 499). */
    clientClosed?: boolean;
    /** The catalogue code of the error answered, for the access log line. */
    errorCode?: string;
  }
}
import { sendJson } from './respond.js';
import { logAnsweredError } from './log-error.js';
import { isOpenAiPath, openAiErrorBody } from '../openai/openai-errors.js';

/** `openAi`: this listener serves the OpenAI-compatible routes, so its /v1 paths answer OpenAI's shape. */
export function errorMiddleware(log: Logger, openAi = false): Middleware {
  return async (ctx, next) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) throw resourceNotFound();
    } catch (err) {
      if (err instanceof ClientClosedError) {
        // Nobody is left to answer and nothing failed here: no error line, no stack, no 500.
        ctx.state.clientClosed = true;
        log.debug({ path: ctx.path }, err.message);
        return;
      }
      const e = toServerError(err);
      ctx.state.errorCode = e.code;
      logAnsweredError(log, err, e, { path: ctx.path });
      sendJson(ctx, e.status, isV2Path(ctx.path) ? v2ErrorBody(e) : openAi && isOpenAiPath(ctx.path) ? openAiErrorBody(e) : e.toJSON());
      for (const [k, v] of Object.entries(e.headers)) ctx.set(k, v);
    }
    if (ctx.status >= 400) ctx.set('Connection', 'close');
  };
}

function toServerError(err: unknown): ServerError {
  if (err instanceof ServerError) return err;
  const e = err as { status?: number; expose?: boolean; message?: string };
  if (e && typeof e.status === 'number' && e.status >= 400 && e.status < 500) {
    // Errors raised by Koa itself (e.g. an unparsable request): keep their status.
    const message = e.expose && e.message ? e.message : 'Invalid HTTP message.';
    return e.status === 413 ? payloadTooLarge(message) : new ServerError('BAD_REQUEST', message, { status: e.status });
  }
  // Unforeseen: the message may name internals (paths, stack details); it is logged, not shown.
  return internal((err as Error)?.message || String(err));
}
