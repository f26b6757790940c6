// What the controller tells the inference fronts, and what they answer, over the cluster IPC channel.
// The routing table is the whole truth a front needs to serve a model: its limits and the worker
// processes to connect to. The controller pushes a new table on every change and waits for every
// front's acknowledgement before it answers a management call (docs/architecture.md, "Routing").
import type { ModelMetadata } from './model-metadata.js';

/** One loaded worker process a front may send requests to. */
export interface WorkerRoute {
  id: string;
  pid: number;
  socketPath: string;
  /** The model's workers (slots) it serves: 1, or more for a shared process (docs/gpu.md). */
  slots: number;
}

/** A model's response cache in each front (docs/api.md, "Response cache"); absent: off. */
export interface ResponseCacheRoute {
  /** Bytes of cached answers a front keeps for the model. */
  maxBytes: number;
  /** How long an answer is served from the cache (ms). */
  ttlMs: number;
}

export interface ModelRoute {
  name: string;
  version?: string;
  /** job_queue_size: the requests a model may hold waiting, shared out over the fronts. */
  queueSize: number;
  batchSize: number;
  /** No reply from a worker with requests outstanding for this long: it is stuck (ms). */
  responseTimeoutMs: number;
  retryOnWorkerDeath: boolean;
  /** Worker processes ready to serve, in start order. */
  workers: WorkerRoute[];
  /** Workers wanted (min_worker) and whether a start or restart is under way: hold, don't refuse. */
  minWorkers: number;
  starting: boolean;
  healthy: boolean;
  /** Open Inference Protocol platform name (`onnxruntime_onnx`, `node`). */
  platform: string;
  /** Served by the built-in v2 tensor handler: takes Open Inference Protocol requests (REST /v2, gRPC). */
  openInference: boolean;
  /** The tensors the loaded model reports; absent until a worker has loaded it. */
  metadata?: ModelMetadata;
  /** Registered with response_cache=true. */
  cache?: ResponseCacheRoute;
}

export interface RouteTable {
  version: number;
  models: ModelRoute[];
  /** Models loaded at start-up, for `/invocations` without a model name. */
  startupModels: string[];
}

/** Settings a front needs, built once by the controller (plain JSON). */
export interface FrontSettings {
  index: number;
  fronts: number;
  logLevel: string;
  pretty: boolean;
  /** With token authorization: the Inference API's key. */
  inferenceKey?: string;
}

export type ControllerMessage =
  | { type: 'routes'; table: RouteTable }
  | { type: 'metrics'; id: number }
  /** Each model's requests in flight and last use (the memory budget picks idle models by it). */
  | { type: 'usage'; id: number }
  | { type: 'stop' };

export type FrontMessage =
  /** Sent once the front listens for messages: the controller sends the table then (earlier ones are lost). */
  | { type: 'ready' }
  /** `grpcUrl`: where its gRPC service listens, when the server has one. */
  | { type: 'listening'; url: string; grpcUrl?: string }
  | { type: 'routes-applied'; version: number }
  | { type: 'metrics'; id: number; metrics: unknown[] }
  | { type: 'usage'; id: number; usage: Record<string, { inFlight: number; lastUsed: number }> }
  /** A worker answered this front's first request to it. */
  | { type: 'worker-served'; model: string; worker: string }
  /** A worker had requests outstanding and answered none for the response timeout. */
  | { type: 'worker-stuck'; model: string; worker: string };
