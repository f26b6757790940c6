// Typed errors with an HTTP status and MMS's error `type` (its exception class name). Thrown anywhere
// on the request path; error-middleware.ts is the one place that turns them into responses.

export class ServerError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
    /** Extra response headers, e.g. Retry-After on 503. */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }

  toJSON(): { code: number; type: string; message: string } {
    return { code: this.status, type: this.type, message: this.message };
  }
}

export const badRequest = (message: string) => new ServerError(400, 'BadRequestException', message);
export const invalidModel = (message: string) => new ServerError(400, 'InvalidModelException', message);
export const downloadFailed = (message: string) => new ServerError(400, 'DownloadModelException', message);
export const unauthorized = () =>
  new ServerError(401, 'UnauthorizedException', 'Token authorization failed: send this API\'s key as "Authorization: Bearer <key>" (see the key file).', { 'WWW-Authenticate': 'Bearer' });
export const forbidden = (message: string) => new ServerError(403, 'ForbiddenException', message);
export const modelNotFound = (message: string) => new ServerError(404, 'ModelNotFoundException', message);
export const resourceNotFound = () =>
  new ServerError(404, 'ResourceNotFoundException', 'Requested resource is not found, please refer to API document.');
export const methodNotAllowed = () =>
  new ServerError(405, 'MethodNotAllowedException', 'Requested method is not allowed, please refer to API document.');
export const requestTimeout = (message: string) => new ServerError(408, 'RequestTimeoutException', message);
export const conflict = (message: string) => new ServerError(409, 'ConflictStatusException', message);
export const payloadTooLarge = (message: string) => new ServerError(413, 'RequestEntityTooLargeException', message);
export const headersTooLarge = (limit: number) =>
  new ServerError(431, 'RequestHeaderFieldsTooLargeException', `Request line and headers exceed ${limit} bytes.`);
export const internal = (message: string, status = 500) => new ServerError(status, 'InternalServerException', message);
export const serviceUnavailable = (message: string) => new ServerError(503, 'ServiceUnavailableException', message);

export const workerDied = () => internal('Worker died.');

/** A batch's worker went away: crashed or exceeded the response timeout (then the worker is killed). */
export class WorkerLostError extends ServerError {
  constructor(readonly timedOut: boolean) {
    super(500, 'InternalServerException', 'Worker died.');
  }
}
export const noWorker = (model: string) =>
  new ServerError(503, 'ServiceUnavailableException', `No worker is available to serve request for model: ${model}. Consider increasing job queue size.`, { 'Retry-After': '1' });

/**
 * The client closed the connection before its request was complete: not a server failure. Nothing can
 * be answered; error-middleware.ts marks the request and access-log.ts records status 499 (nginx's).
 */
export class ClientClosedError extends ServerError {
  constructor() {
    super(499, 'ClientClosedRequest', 'Client closed the connection before the request body was complete.');
  }
}
