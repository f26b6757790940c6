// How an answered error is logged (REST's error middleware and the gRPC service): a 4xx is the client's
// and only in the access log; a refusal (the server is busy, a model has no worker, a deadline passed)
// is expected under load or outage and can come thousands of times a second, so it is one short debug
// line without a stack (the access log carries its errorCode, and what caused it, a worker's death or a
// crash loop, is logged once by the controller); any other 5xx is a fault and keeps its stack.
import type { Logger } from '../logging/logger.js';
import type { ErrorCode, ServerError } from '../errors.js';

/** Exposed 5xx answers that refuse a request rather than report a fault (the catalogue, frontend/errors.ts). */
const REFUSALS: ReadonlySet<ErrorCode> = new Set(['QUEUE_FULL', 'NO_WORKER', 'WORKER_DIED', 'MODEL_UNAVAILABLE', 'DEADLINE_EXCEEDED', 'MEMORY_BUDGET_EXCEEDED']);

export const isRefusal = (e: ServerError) => REFUSALS.has(e.code);

/** `err`: what was thrown (its stack is logged for a fault); `e`: the error answered; `fields`: where (path, grpc method). */
export function logAnsweredError(log: Logger, err: unknown, e: ServerError, fields: Record<string, unknown>): void {
  if (e.status < 500) return;
  if (isRefusal(e)) log.debug({ ...fields, status: e.status, errorCode: e.code }, e.message);
  else log.error({ err, ...fields, errorCode: e.code }, e.message);
}
