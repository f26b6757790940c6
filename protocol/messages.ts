// The messages that cross the frontend ↔ worker socket. Both sides import these types, so the
// wire table exists once. Layouts follow MMS 1.1.x (docs/protocol.md); the codec is in codec.ts.

/** First byte of every frontend → worker frame. */
export const Command = {
  load: 0x4c, // 'L'
  predict: 0x49, // 'I'
  /** Liveness check on the worker's control channel (docs/protocol.md "Pings"). */
  ping: 0x50, // 'P'
  /** Drop a queued request (its client left or its deadline passed); no reply (docs/protocol.md "Cancel"). */
  cancel: 0x43, // 'C'
} as const;

export interface LoadRequest {
  kind: 'load';
  modelName: string;
  /** Absolute path of the extracted model directory. */
  modelPath: string;
  batchSize: number;
  handler: string;
  /** -1 = CPU. */
  gpuId: number;
  /** Opaque per-connection token; MMS names its log pipes with it, we use it as the slot id. */
  ioDescriptor: string;
}

/**
 * The header of a KServe v2 binary body (lower-cased, as items carry headers): the length of its JSON
 * part, after which the tensors' bytes follow.
 */
export const V2_HEADER_LENGTH = 'inference-header-content-length';

/**
 * A parameter value as the frontend sends it: one buffer, or the pieces a body arrived in (written
 * one after another, never joined). Decoded on the worker side it is always one Buffer.
 */
export type OutgoingValue = Buffer | readonly Buffer[];

/** One named input of one request: a form field, a file part, or the raw body (`body`). */
export interface RequestParameter<V extends OutgoingValue = Buffer> {
  name: string;
  /** Empty string = no content type. */
  contentType: string;
  value: V;
}

export interface RequestItem<V extends OutgoingValue = Buffer> {
  requestId: string;
  /** Request headers, lower-case names, one value each. */
  headers: Array<[string, string]>;
  parameters: Array<RequestParameter<V>>;
}

/** A request item on the frontend's side. */
export type OutgoingItem = RequestItem<OutgoingValue>;

export interface PredictRequest<V extends OutgoingValue = Buffer> {
  kind: 'predict';
  batch: Array<RequestItem<V>>;
}

/** Answered with PONG_REPLY by a thread of its own, so a busy event loop does not delay it. */
export interface PingRequest {
  kind: 'ping';
}

/**
 * Drops the queued predict frame of this connection that holds `requestId`, if its batch has not
 * started; that frame is then answered, in its turn, with a cancelled reply. Nothing answers the cancel.
 */
export interface CancelRequest {
  kind: 'cancel';
  requestId: string;
}

export type WorkerRequest = LoadRequest | PredictRequest | PingRequest | CancelRequest;

export interface ReplyItem {
  requestId: string;
  /** Empty string = none. */
  contentType: string;
  status: number;
  /** Empty string = none. */
  reason: string;
  headers: Array<[string, string]>;
  body: Buffer;
}

/** A worker's answer to one request frame. Load replies carry no items. */
export interface WorkerReply {
  code: number;
  message: string;
  items: ReplyItem[];
}

export const StatusCode = {
  ok: 200,
  badRequest: 400,
  internalError: 500,
  /** A frame dropped by a cancel before its batch ran (nginx's "client closed request"). */
  cancelled: 499,
  predictionFailed: 503,
  outOfResources: 507,
} as const;

/** The header a front sets on an item with a deadline: epoch ms; the worker does not run it later. */
export const DEADLINE_ITEM_HEADER = 'x-mms-deadline';

/** The error type of a cancelled frame's items. */
export const CANCELLED_TYPE = 'RequestCancelledException';

/** The worker's answer to a ping. */
export const PONG_REPLY: WorkerReply = { code: 200, message: 'pong', items: [] };

/**
 * A failure as a worker reports it: a status (400–599), an error type (MMS's exception class name)
 * and a message, never an HTTP body; the frontend renders it (frontend/errors.ts `fromWorker`).
 */
export interface WorkerFailure {
  status: number;
  type: string;
  message: string;
  /** A catalogue code the worker names (frontend/errors.ts `WORKER_CODES`), e.g. INVALID_INPUT. */
  code?: string;
}

/** The error item header that carries `WorkerFailure.code`. */
export const ERROR_CODE_HEADER = 'x-mms-error-code';

/** Content type that marks an error item: `reason` is the type, the body the message (UTF-8). */
export const ERROR_ITEM_CONTENT_TYPE = 'application/x-mms-worker-error';

/** The reply item of a request the handler failed (alone, or with its whole batch). */
export function errorItem(requestId: string, f: WorkerFailure): ReplyItem {
  const headers: Array<[string, string]> = f.code ? [[ERROR_CODE_HEADER, f.code]] : [];
  return { requestId, contentType: ERROR_ITEM_CONTENT_TYPE, status: f.status, reason: f.type, headers, body: Buffer.from(f.message) };
}

/** The failure an error item reports; undefined for any other item (a handler's own answer). */
export function readErrorItem(item: ReplyItem): WorkerFailure | undefined {
  if (item.contentType !== ERROR_ITEM_CONTENT_TYPE) return undefined;
  const failure: WorkerFailure = { status: item.status, type: item.reason, message: item.body.toString('utf8') };
  const code = item.headers.find(([name]) => name === ERROR_CODE_HEADER)?.[1];
  return code ? { ...failure, code } : failure;
}

/** Body of an MMS error-form reply item (docs/protocol.md, "Reply frame"). */
export const ERROR_ITEM_BODY = Buffer.from('error');

/** Worker stdout line that tells the frontend the socket is listening. */
export const WORKER_READY_LINE = 'MMS worker started.';
export const WORKER_PID_PREFIX = '[PID] ';

/** The worker's control channel: a socket pair on this fd, for pings only (docs/protocol.md "Pings"). */
export const WORKER_CONTROL_FD = 3;

/**
 * Load-reply message; the frontend reads the worker pid back from `[PID]:` and the execution
 * provider the model's sessions run on (e.g. `cuda:0`, `cpu`) from `[EP]:`, when the worker reports one.
 */
export function loadedMessage(modelName: string, pid: number, provider?: string): string {
  return `loaded model ${modelName}. [PID]:${pid}${provider ? ` [EP]:${provider}` : ''}`;
}

export function parseLoadedProvider(message: string): string | undefined {
  return /\[EP\]:(\S+)/.exec(message)?.[1];
}

export function parseLoadedPid(message: string): number | undefined {
  const m = /\[PID\]:(\d+)/.exec(message);
  return m ? Number(m[1]) : undefined;
}
