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
  /** Unique per version: the name, or `name/version` (what the fronts report usage and workers by); absent: the name. */
  key?: string;
  name: string;
  version?: string;
  /** The version unversioned requests of the name reach (one per name); absent: true. */
  isDefault?: boolean;
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
  /** No worker now, but a request loads it (load_on_first_request, or scaled to 0 when idle): hold and ask. */
  onDemand?: boolean;
  /** Its crash loop stopped it (crash_loop_max_restarts): refuse at once, until it is scaled again. */
  failed?: boolean;
  /** Why requests are refused now (crash loop, failed load on demand): the 503 MODEL_UNAVAILABLE message. */
  refusal?: string;
  /** Open Inference Protocol platform name (`onnxruntime_onnx`, `node`). */
  platform: string;
  /** The manifest's handler (e.g. `sentence_embedding`): /v1/embeddings serves the embedding handlers' models. */
  handler?: string;
  /** Served by the built-in v2 tensor handler: takes Open Inference Protocol requests (REST /v2, gRPC). */
  openInference: boolean;
  /** The hash of the content it serves (hot reload, model_watch_interval): a new one empties its response cache. */
  content?: string;
  /** The tensors the loaded model reports; absent until a worker has loaded it. */
  metadata?: ModelMetadata;
  /** Registered with response_cache=true. */
  cache?: ResponseCacheRoute;
  /** A pipeline's stage: reached only through its pipeline, never by name (docs/pipelines.md). */
  hidden?: boolean;
  /** A pipeline: its stages' route keys in order; the front runs a request through them. */
  pipeline?: PipelineRoute;
}

export interface PipelineRoute {
  stages: Array<{
    key: string;
    /** The previous stage's v2 output → this stage's v2 input. */
    map?: Record<string, string>;
  }>;
  /** The last stage's handler gathers a request's final items into its answer. */
  gather: boolean;
  /** Every stage has a live worker (the pipeline's own entry has none: the protocol's model readiness). */
  ready: boolean;
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
  /** Queue waits and busy time recorded since the last ask (the autoscaler's input). */
  | { type: 'load'; id: number }
  /** The answer to a front's `exit-cause`: why that worker process ended, when known. */
  | { type: 'exit-cause'; id: number; cause?: string }
  | { type: 'stop' };

export type FrontMessage =
  /** Sent once the front listens for messages: the controller sends the table then (earlier ones are lost). */
  | { type: 'ready' }
  /** `grpcUrl`: where its gRPC service listens, when the server has one. */
  | { type: 'listening'; url: string; grpcUrl?: string }
  | { type: 'routes-applied'; version: number }
  | { type: 'metrics'; id: number; metrics: unknown[] }
  | { type: 'usage'; id: number; usage: Record<string, { inFlight: number; lastUsed: number }> }
  | { type: 'load'; id: number; load: Record<string, { waits: number[]; count: number; busyMs: number }> }
  /** A request arrived for an on-demand model with no worker: load it. */
  | { type: 'demand'; model: string }
  /** A request's worker process died: why? (answered with the controller's `exit-cause`). */
  | { type: 'exit-cause'; id: number; model: string; worker: string }
  /** A worker answered this front's first request to it. */
  | { type: 'worker-served'; model: string; worker: string }
  /** A worker had requests outstanding and answered none for the response timeout. */
  | { type: 'worker-stuck'; model: string; worker: string };

/** A route's key: tables of single-version models may leave it out (the name then). */
export const routeKey = (r: Pick<ModelRoute, 'key' | 'name'>): string => r.key ?? r.name;
