// The contract between the worker and a model handler, built-in or shipped in an archive
// (docs/archives.md). One handler instance serves one loaded model; `handle` gets a whole batch.
import type { Manifest } from '../protocol/manifest.js';
import type { WorkerFailure } from '../protocol/messages.js';
import type { ModelMetadata } from '../protocol/model-metadata.js';
import { withoutSourcePaths } from './source-paths.js';

export interface HandlerContext {
  modelName: string;
  modelDir: string;
  manifest: Manifest;
  batchSize: number;
  /** GPU index, or null on CPU. */
  gpuId: number | null;
  /** MMS's names, for handlers ported from Python. */
  system_properties: {
    model_dir: string;
    gpu_id: number | null;
    batch_size: number;
    server_name: string;
    server_version: string;
  };
  /** Settings the server passes to every handler (e.g. ORT thread counts). */
  options: WorkerOptions;
}

export interface WorkerOptions {
  intraOpThreads: number;
  interOpThreads: number;
  /** Tried in order, each alone (backend-worker/onnx-session.ts). */
  executionProviders: string[];
  /** The CUDA device of the worker's GPU (the Load frame's GPU id; 0 on a CPU worker). */
  deviceId: number;
}

export interface InputPart {
  contentType: string;
  value: Buffer;
}

export interface InferenceInput {
  requestId: string;
  /** Lower-case header names. */
  headers: Record<string, string>;
  /** Named inputs: the raw body is `body`; form fields keep their names. */
  params: Record<string, InputPart>;
}

export interface InferenceResult {
  body: Buffer | string | unknown;
  status?: number;
  reason?: string;
  contentType?: string;
  headers?: Record<string, string>;
}

/** An item answer: a full result, an Error (fails only this request), or a plain value as the body. */
export type InferenceOutput = InferenceResult | Error | Buffer | string | unknown;

export interface Handler {
  initialize?(context: HandlerContext): Promise<void> | void;
  handle(batch: InferenceInput[], context: HandlerContext): Promise<InferenceOutput[]> | InferenceOutput[];
  close?(): Promise<void> | void;
  /**
   * A pipeline's last stage only (docs/pipelines.md): one request's final items, in order, as the
   * parts `0`, `1`, … of one input, → that request's one answer.
   */
  gather?(input: InferenceInput, context: HandlerContext): Promise<InferenceOutput> | InferenceOutput;
  /**
   * The model's tensors, for Open Inference Protocol metadata; a handler that speaks v2 tensors
   * reports them (after initialize), others leave it out and their models take no v2 requests.
   */
  metadata?(): ModelMetadata;
}

/**
 * An error a handler throws (or returns for one item) to choose the HTTP status and error type; the
 * built-in handlers also name a catalogue code the frontend knows (`code`, e.g. INVALID_INPUT).
 */
export class HandlerError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type = errorType(status),
    readonly code?: string,
  ) {
    super(message);
    this.name = 'HandlerError';
  }
}

/** A request whose tensors do not fit the model (400 `INVALID_INPUT`, docs/api.md "Common behaviour"). */
export const invalidInput = (message: string): HandlerError => new HandlerError(400, message, 'BadRequestException', 'INVALID_INPUT');

/** A handler's answer that is not one result per request of the batch (503 `HANDLER_BAD_OUTPUT`). */
export const badOutput = (message: string): HandlerError => new HandlerError(503, message, 'InternalServerException', 'HANDLER_BAD_OUTPUT');

/** The worker ran out of memory for the request (507 `OUT_OF_MEMORY`, MMS's "Out of resources"). */
export const outOfMemory = (message: string): HandlerError => new HandlerError(507, message, 'InternalServerException', 'OUT_OF_MEMORY');

/** A failed allocation as V8 reports it (`new ArrayBuffer(n)`: "Array buffer allocation failed"). */
const ALLOCATION_FAILED = /allocation failed|out of memory/i;

/** The error body's `type` for a status, as the frontend names it (docs/api.md "Common behaviour"). */
export function errorType(status: number): string {
  if (status === 413) return 'RequestEntityTooLargeException';
  return status < 500 ? 'BadRequestException' : 'InternalServerException';
}

/** Status an error asks for: a HandlerError's, or any error's numeric `status` (400–599), else 500. */
export function errorStatus(err: unknown): number {
  const status = (err as { status?: unknown })?.status;
  return typeof status === 'number' && Number.isInteger(status) && status >= 400 && status <= 599 ? status : 500;
}

/** A compact JSON answer (plain objects returned by a handler are indented, as MMS does). */
export function jsonResult(value: unknown, status?: number): InferenceResult {
  return { body: Buffer.from(JSON.stringify(value)), contentType: 'application/json', status };
}

/** What the worker reports for a thrown (or returned) error: status, type, message (no native source paths) and code. */
export function failureOf(err: unknown): WorkerFailure {
  const message = withoutSourcePaths((err as Error)?.message || '') || 'Prediction failed';
  if (err instanceof HandlerError && err.code) return { status: errorStatus(err), type: err.type, message, code: err.code };
  // Out of memory keeps its own code whoever reports it: a failed allocation, or a handler's 507.
  const status = errorStatus(err);
  if (status === 507 || (err instanceof RangeError && ALLOCATION_FAILED.test(err.message))) {
    const type = err instanceof HandlerError ? err.type : errorType(507);
    return { status: 507, type, message, code: 'OUT_OF_MEMORY' };
  }
  return { status, type: err instanceof HandlerError ? err.type : errorType(status), message };
}
