// The error catalogue: every failure the server answers has an entry with a stable code (clients
// match on `errorCode`, as on undici's `err.code`), its HTTP status, MMS's error `type` (its exception
// class name, kept in the body for compatibility) and whether its message may be shown. Errors are
// thrown anywhere on the request path as ServerError; error-middleware.ts (and client-error.ts for
// what Node's parser refuses) is the one place that renders them:
// `{"code": <status>, "type", "message", "errorCode"}`, on Open Inference Protocol routes (/v2) the
// protocol's `{"error": "<message>"}`; grpcStatus() is the one mapping to gRPC status codes.

/** gRPC status codes (grpc/doc/statuscodes.md), named here so this module needs no gRPC library. */
export const GRPC = {
  CANCELLED: 1, INVALID_ARGUMENT: 3, DEADLINE_EXCEEDED: 4, NOT_FOUND: 5, ALREADY_EXISTS: 6, PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8, FAILED_PRECONDITION: 9, UNIMPLEMENTED: 12, INTERNAL: 13, UNAVAILABLE: 14, UNAUTHENTICATED: 16,
} as const;

interface Entry {
  status: number;
  type: string;
  /** false: the message is logged, the client sees `Internal server error` (5xx only). */
  expose: boolean;
  /** The gRPC status when the HTTP status alone does not say it (grpcStatus). */
  grpc?: number;
}

const entry = (status: number, type: string, expose = true, grpc?: number): Entry => ({ status, type, expose, grpc });

export const CATALOGUE = {
  BAD_REQUEST: entry(400, 'BadRequestException'),
  /** The request's tensors do not fit the model: malformed, a value out of its datatype's range, data not following its shape, shapes the model cannot run on (named by the worker). */
  INVALID_INPUT: entry(400, 'BadRequestException'),
  INVALID_MODEL: entry(400, 'InvalidModelException'),
  DOWNLOAD_FAILED: entry(400, 'DownloadModelException'),
  UNAUTHORIZED: entry(401, 'UnauthorizedException'),
  FORBIDDEN: entry(403, 'ForbiddenException'),
  MODEL_NOT_FOUND: entry(404, 'ModelNotFoundException'),
  RESOURCE_NOT_FOUND: entry(404, 'ResourceNotFoundException'),
  METHOD_NOT_ALLOWED: entry(405, 'MethodNotAllowedException'),
  REQUEST_TIMEOUT: entry(408, 'RequestTimeoutException'),
  CONFLICT: entry(409, 'ConflictStatusException'),
  PAYLOAD_TOO_LARGE: entry(413, 'RequestEntityTooLargeException'),
  TOO_MANY_PARAMETERS: entry(413, 'RequestEntityTooLargeException'),
  DOWNLOAD_TOO_LARGE: entry(413, 'DownloadModelException'),
  HEADERS_TOO_LARGE: entry(431, 'RequestHeaderFieldsTooLargeException'),
  /** An Open Inference Protocol request for a model that is loading, failed to load or has no worker (readiness, metadata). */
  NOT_READY: entry(400, 'ModelNotReadyException', true, GRPC.UNAVAILABLE),
  /** An Open Inference Protocol request for a model whose handler is not the built-in tensor handler. */
  NOT_TENSOR_MODEL: entry(400, 'BadRequestException', true, GRPC.FAILED_PRECONDITION),
  /** An OpenAI-style embeddings request (/v1/embeddings) for a model whose handler is not an embedding handler. */
  NOT_EMBEDDING_MODEL: entry(400, 'BadRequestException'),
  /** The client went away before its request was complete: nothing is answered (logged as 499). */
  CLIENT_CLOSED: entry(499, 'ClientClosedRequest'),
  /** The model's handler failed the request or the batch (4xx or 5xx, the handler's status and type). */
  HANDLER_ERROR: entry(500, 'InternalServerException'),
  /** The handler's answer to a batch is not a list of one result per request, or a result cannot be serialised. */
  HANDLER_BAD_OUTPUT: entry(503, 'InternalServerException'),
  /** A request's answer is larger than max_response_size (checked in the worker), or a pipeline's stages hand on too many items for it. */
  RESPONSE_TOO_LARGE: entry(500, 'InternalServerException'),
  /** The worker ran out of memory running the request (a handler's allocation failed, or it chose status 507). */
  OUT_OF_MEMORY: entry(507, 'InternalServerException'),
  /** A worker answered a request's frame without an item for it. */
  WORKER_BAD_REPLY: entry(500, 'InternalServerException'),
  /** The worker answered nothing within the response timeout and was killed (no retry). */
  WORKER_TIMEOUT: entry(500, 'InternalServerException'),
  /** A worker could not be started: spawn, Load or warm-up failed (status 507: out of memory). */
  WORKER_START_FAILED: entry(500, 'InternalServerException'),
  /** Registering a model failed for a reason that is not the archive's (message free of server paths). */
  REGISTER_FAILED: entry(500, 'InternalServerException'),
  /** Anything unforeseen: the detail is logged, never shown. */
  INTERNAL: entry(500, 'InternalServerException', false),
  /** A load needs more memory than model_memory_budget leaves, and no idle model can be unloaded to make room. */
  MEMORY_BUDGET_EXCEEDED: entry(507, 'InsufficientMemoryException'),
  /** The model's admission limit is reached (job_queue_size and what its workers hold). */
  QUEUE_FULL: entry(503, 'ServiceUnavailableException'),
  /** The model has no worker and none is starting (or none became ready in time, or it was unregistered). */
  NO_WORKER: entry(503, 'ServiceUnavailableException'),
  /** The worker serving the request died, and so did the retry's (or retry is off). */
  WORKER_DIED: entry(503, 'ServiceUnavailableException'),
  /** The model cannot serve: its crash loop stopped restarts, or its load on demand failed (the message says why). */
  MODEL_UNAVAILABLE: entry(503, 'ServiceUnavailableException'),
  /** The request's deadline (X-Request-Deadline-Ms, or the gRPC call's deadline) passed before its answer. */
  DEADLINE_EXCEEDED: entry(504, 'DeadlineExceededException'),
} as const satisfies Record<string, Entry>;

export type ErrorCode = keyof typeof CATALOGUE;

export interface ServerErrorOptions {
  /** Another status than the entry's (a handler's own status, 507 out of memory, a Koa 4xx). */
  status?: number;
  /** Another type than the entry's (a handler's own error type). */
  type?: string;
  /** Extra response headers, e.g. Retry-After on 503. */
  headers?: Record<string, string>;
}

export interface ErrorBody {
  code: number;
  type: string;
  message: string;
  errorCode: ErrorCode;
}

export class ServerError extends Error {
  readonly status: number;
  readonly type: string;
  readonly expose: boolean;
  readonly headers: Record<string, string>;
  readonly grpc?: number;

  constructor(
    readonly code: ErrorCode,
    message: string,
    o: ServerErrorOptions = {},
  ) {
    super(message);
    const e: Entry = CATALOGUE[code];
    this.status = o.status ?? e.status;
    this.type = o.type ?? e.type;
    this.expose = e.expose;
    this.headers = o.headers ?? {};
    this.grpc = e.grpc;
  }

  /** The message a client may see. */
  get shown(): string {
    return this.expose ? this.message : 'Internal server error';
  }

  /** The response body; an unexposed error's message stays in the log. */
  toJSON(): ErrorBody {
    return { code: this.status, type: this.type, message: this.shown, errorCode: this.code };
  }
}

/** Open Inference Protocol routes answer errors in the protocol's shape (docs/api.md, Open Inference Protocol). */
export const isV2Path = (path: string): boolean => path === '/v2' || path.startsWith('/v2/');

/** The protocol's error body: `{"error": "<message>"}`. */
export const v2ErrorBody = (e: ServerError): { error: string } => ({ error: e.shown });

const GRPC_BY_STATUS: Record<number, number> = {
  400: GRPC.INVALID_ARGUMENT, 401: GRPC.UNAUTHENTICATED, 403: GRPC.PERMISSION_DENIED, 404: GRPC.NOT_FOUND,
  405: GRPC.UNIMPLEMENTED, 408: GRPC.DEADLINE_EXCEEDED, 409: GRPC.ALREADY_EXISTS, 413: GRPC.RESOURCE_EXHAUSTED,
  431: GRPC.RESOURCE_EXHAUSTED, 499: GRPC.CANCELLED, 501: GRPC.UNIMPLEMENTED, 503: GRPC.UNAVAILABLE,
  504: GRPC.DEADLINE_EXCEEDED, 507: GRPC.RESOURCE_EXHAUSTED,
};

/** The gRPC status of an error: the entry's own, else by its HTTP status (other 4xx: INVALID_ARGUMENT, 5xx: INTERNAL). */
export function grpcStatus(e: ServerError): number {
  return e.grpc ?? GRPC_BY_STATUS[e.status] ?? (e.status < 500 ? GRPC.INVALID_ARGUMENT : GRPC.INTERNAL);
}

/** An error as a response body, written as MMS writes JSON: 2-space indent, trailing newline. */
export const errorJson = (e: ServerError): string => `${JSON.stringify(e.toJSON(), null, 2)}\n`;

export const badRequest = (message: string) => new ServerError('BAD_REQUEST', message);
export const invalidModel = (message: string) => new ServerError('INVALID_MODEL', message);
export const downloadFailed = (message: string) => new ServerError('DOWNLOAD_FAILED', message);
export const downloadTooLarge = (url: string, max: number) =>
  new ServerError('DOWNLOAD_TOO_LARGE', `Model at ${url} is larger than max_download_size (${max} bytes).`);
export const unauthorized = () =>
  new ServerError('UNAUTHORIZED', 'Token authorization failed: send this API\'s key as "Authorization: Bearer <key>" (see the key file).', { headers: { 'WWW-Authenticate': 'Bearer' } });
export const forbidden = (message: string) => new ServerError('FORBIDDEN', message);
export const modelNotFound = (message: string) => new ServerError('MODEL_NOT_FOUND', message);
export const resourceNotFound = () => new ServerError('RESOURCE_NOT_FOUND', 'Requested resource is not found, please refer to API document.');
export const methodNotAllowed = () => new ServerError('METHOD_NOT_ALLOWED', 'Requested method is not allowed, please refer to API document.');
export const requestTimeout = (message: string) => new ServerError('REQUEST_TIMEOUT', message);
export const conflict = (message: string) => new ServerError('CONFLICT', message);
export const payloadTooLarge = (message: string) => new ServerError('PAYLOAD_TOO_LARGE', message);
export const tooManyParameters = (max: number) =>
  new ServerError('TOO_MANY_PARAMETERS', `Request exceeds max_request_parameters (${max}): too many query values, form fields or multipart parts.`);
export const headersTooLarge = (limit: number) => new ServerError('HEADERS_TOO_LARGE', `Request line and headers exceed ${limit} bytes.`);
export const notReady = (message: string) => new ServerError('NOT_READY', message);
export const notTensorModel = (model: string) =>
  new ServerError('NOT_TENSOR_MODEL', `Model ${model} is not served by the built-in tensor handler (onnx), so it takes no Open Inference Protocol requests; use /predictions/${model}.`);
export const notEmbeddingModel = (model: string, handler: string | undefined) =>
  new ServerError('NOT_EMBEDDING_MODEL', `Model ${model} is not an embedding model (handler ${handler ?? 'unknown'}): /v1/embeddings serves models whose handler is sentence_embedding or text_embedding; use /predictions/${model}.`);
export const internal = (message: string) => new ServerError('INTERNAL', message);
export const workerStartFailed = (message: string, status?: number) => new ServerError('WORKER_START_FAILED', message, { status });
export const registerFailed = (message: string) => new ServerError('REGISTER_FAILED', message);
export const memoryBudgetExceeded = (message: string) => new ServerError('MEMORY_BUDGET_EXCEEDED', message);
export const workerBadReply = () => new ServerError('WORKER_BAD_REPLY', 'Worker returned no reply for this request.');
export const workerTimeout = () => new ServerError('WORKER_TIMEOUT', 'Worker died.');
/** `cause`: how the process ended, when the controller knows (e.g. `worker process exited (signal SIGKILL)`). */
export const workerDied = (model: string, cause?: string) =>
  new ServerError('WORKER_DIED', `Worker died while serving the request for model: ${model}${cause ? `: ${cause}` : ''}.`);
const retryLater = { 'Retry-After': '1' };
export const modelUnavailable = (model: string, reason: string) => new ServerError('MODEL_UNAVAILABLE', `Model ${model} cannot serve: ${reason}`);
const noWorkerMessage = (model: string) => `No worker is available to serve request for model: ${model}. Consider increasing job queue size.`;
export const deadlineExceeded = (model: string) =>
  new ServerError('DEADLINE_EXCEEDED', `The request's deadline passed before model ${model} answered it.`);
export const queueFull = (model: string) => new ServerError('QUEUE_FULL', noWorkerMessage(model), { headers: retryLater });
export const noWorker = (model: string) => new ServerError('NO_WORKER', noWorkerMessage(model), { headers: retryLater });

/**
 * The codes a worker names for a failure (the built-in handlers' and the worker's own: a frame it
 * dropped for a cancel or a passed deadline, bad handler output, an answer too large, out of memory);
 * any other failure is HANDLER_ERROR.
 */
const WORKER_CODES: ReadonlySet<string> = new Set<ErrorCode>([
  'INVALID_INPUT', 'CLIENT_CLOSED', 'DEADLINE_EXCEEDED', 'HANDLER_BAD_OUTPUT', 'RESPONSE_TOO_LARGE', 'OUT_OF_MEMORY',
]);

/**
 * The one mapping of a worker's failure report (a failed batch's code and message, or an error
 * item's status, type, message and code; protocol/messages.ts) to a catalogue entry: a handler
 * chooses a status and a type; a code the worker names (WORKER_CODES) keeps its entry's status and type.
 */
export function fromWorker(status: number, type: string, message: string, code?: string): ServerError {
  if (code && WORKER_CODES.has(code)) return new ServerError(code as ErrorCode, message || 'Prediction failed');
  const ok = Number.isInteger(status) && status >= 400 && status <= 599;
  return new ServerError('HANDLER_ERROR', message || 'Prediction failed', { status: ok ? status : 500, type: type || undefined });
}

/**
 * The client closed the connection before its request was complete: not a server failure. Nothing can
 * be answered; error-middleware.ts marks the request and access-log.ts records status 499 (nginx's).
 */
export class ClientClosedError extends ServerError {
  constructor(message = 'Client closed the connection before the request body was complete.') {
    super('CLIENT_CLOSED', message);
  }
}
