// A model's settings from what registration gives: the request's parameters, then the archive's
// manifest, then the server's configuration, first one set wins (docs/api.md, Register a model).
// Pure: no files, no processes; every rule it breaks is a ServerError (400) for the caller to answer.
import { BUILT_IN_HANDLERS, MAX_NAME_LENGTH, versionProblem, type Manifest, type Runtime } from '../../../protocol/manifest.js';
import { MAX_TIMER_MS } from '../../config/keys.js';
import { EXECUTION_PROVIDERS, type ExecutionProvider, type ServerConfig } from '../../config/server-config.js';
import { badRequest, invalidModel } from '../../errors.js';
import { checkRegisterValues, checkWorkerCount } from './model-params.js';

export { MAX_BATCH_SIZE, MAX_SESSIONS, MAX_WORKERS, checkWorkerCount } from './model-params.js';
/** Model names are path segments, metric labels and worker ids: kept short (docs/archives.md, Safety checks on archives). */
export { MAX_NAME_LENGTH };

/**
 * Registration parameters (Management API, repository load, start-up, snapshot), as typed by the user;
 * the ones a request can give are listed in model-params.ts.
 */
export interface RegisterParams {
  url: string;
  modelName?: string;
  /** `model_version`: beats the manifest's modelVersion (docs/api.md, Model versions). */
  modelVersion?: string;
  /** Already registered (any version of the name): answered 200 and left as it is (start-up models after a snapshot). */
  ifAbsent?: boolean;
  handler?: string;
  runtime?: string;
  batchSize?: number;
  maxBatchDelay?: number;
  initialWorkers?: number;
  synchronous: boolean;
  /** Seconds. */
  responseTimeout?: number;
  loadedAtStartup?: boolean;
  /** Start-up models only: the name when neither model_name nor the manifest gives one. */
  defaultName?: string;
  /** auto, cpu, cuda or webgpu (docs/gpu.md, Execution providers). */
  executionProvider?: string;
  /** The GPU-sharing mode: one worker process per GPU serves all of the model's workers there. */
  preloadModel?: boolean;
  /** Sessions in each shared worker process. */
  preloadSessions?: number;
  /** Start with no worker; load on the first request. */
  loadOnFirstRequest?: boolean;
  /** Unused this long (ms): scaled to 0 workers; 0: never. */
  idleTimeoutMs?: number;
  /** Answers repeated inputs from each front's response cache (docs/api.md, Response cache). */
  responseCache?: boolean;
  /** Bytes and seconds, over response_cache_size and response_cache_ttl. */
  responseCacheSize?: number;
  responseCacheTtl?: number;
  /** Each CPU worker process pinned to cores of its own (docs/configuration.md, CPU pinning). */
  cpuAffinity?: boolean;
}

export type SettingsConfig = Pick<
  ServerConfig,
  'defaultWorkersPerModel' | 'defaultServiceHandler' | 'responseTimeout' | 'executionProvider' | 'preloadModel' | 'preloadSessions' | 'loadOnFirstRequest' | 'modelIdleTimeoutMs' | 'responseCache' | 'cpuAffinity'
>;

export interface ModelSettings {
  name: string;
  version?: string;
  runtime: Runtime;
  handler: string;
  batchSize: number;
  /** Milliseconds. */
  maxBatchDelay: number;
  /** Seconds. */
  responseTimeout: number;
  loadedAtStartup: boolean;
  /** Requests of a worker that died are sent once more to another (inference is stateless). */
  retryOnWorkerDeath: boolean;
  executionProvider: ExecutionProvider;
  /** Workers share one process per GPU (or one on CPU), which loads `sessions` sessions. */
  preload: boolean;
  sessions: number;
  /** load_on_first_request: registered with no worker, loaded by its first request. */
  lazy: boolean;
  /** Scaled to 0 workers after this long unused (ms); 0: never. */
  idleTimeoutMs: number;
  /** The response cache (bytes per front, seconds an answer lives); absent: off. */
  responseCache?: { sizeBytes: number; ttlSeconds: number };
  /** cpu_affinity: each CPU worker process pinned to cores of its own. */
  cpuAffinity: boolean;
}

/**
 * What the parameters alone can get wrong, checked before the archive is fetched; returns the
 * number of workers to start.
 */
export function checkRegisterParams(p: RegisterParams, config: SettingsConfig): number {
  if (p.modelName) checkName(p.modelName);
  if (p.modelVersion !== undefined) checkVersion(p.modelVersion);
  checkRegisterValues(p);
  const workers = p.initialWorkers ?? config.defaultWorkersPerModel;
  checkWorkerCount('initial_workers', workers); // default_workers_per_model too
  if (!p.responseCache && (p.responseCacheSize !== undefined || p.responseCacheTtl !== undefined)) {
    throw badRequest('response_cache_size and response_cache_ttl need response_cache=true.');
  }
  return workers;
}

/** The model's name: model_name, else the manifest's, else the start-up default (checked). */
export function modelName(p: RegisterParams, manifest: Manifest): string {
  const name = p.modelName || manifest.model.modelName || p.defaultName;
  if (!name) throw invalidModel('Model name is not defined.');
  checkName(name);
  return name;
}

/** The model's version: model_version, else the manifest's modelVersion, else none. */
export function modelVersion(p: RegisterParams, manifest: Manifest): string | undefined {
  return p.modelVersion ?? manifest.model.modelVersion;
}

/** The merged settings; throws for a handler or manifest value the server cannot run. */
export function modelSettings(p: RegisterParams, manifest: Manifest, config: SettingsConfig): ModelSettings {
  const name = modelName(p, manifest);
  const runtime = (p.runtime ?? manifest.runtime) as Runtime;
  // A pipeline's handlers are its stages'; a handler named at registration runs the archive as one model.
  const pipeline = manifest.model.stages !== undefined && (!p.handler || p.handler === 'pipeline');
  const handler = pipeline ? 'pipeline' : p.handler || manifest.model.handler || config.defaultServiceHandler || (runtime === 'onnx' ? 'onnx' : '');
  if (!handler) throw invalidModel('Model handler is not defined.');
  if (!pipeline && runtime === 'onnx' && !(BUILT_IN_HANDLERS as readonly string[]).includes(handler)) {
    throw invalidModel(`Unknown handler "${handler}" for runtime onnx (built-in: ${BUILT_IN_HANDLERS.join(', ')}).`);
  }
  const batchSize = Math.max(1, p.batchSize ?? manifest.model.batchSize ?? 1);
  const maxBatchDelay = Math.max(0, p.maxBatchDelay ?? manifest.model.maxBatchDelay ?? 100);
  if (maxBatchDelay > MAX_TIMER_MS) throw invalidModel(`Manifest field model.maxBatchDelay must be at most ${MAX_TIMER_MS}.`);
  const provider = p.executionProvider ?? manifest.model.executionProvider ?? config.executionProvider;
  if (!(EXECUTION_PROVIDERS as readonly string[]).includes(provider)) {
    throw invalidModel(`Manifest field model.executionProvider must be one of ${EXECUTION_PROVIDERS.join(', ')}, got "${provider}".`);
  }
  return {
    name,
    version: modelVersion(p, manifest),
    runtime,
    handler,
    batchSize,
    maxBatchDelay,
    responseTimeout: p.responseTimeout ?? config.responseTimeout,
    loadedAtStartup: p.loadedAtStartup ?? false,
    retryOnWorkerDeath: manifest.model.retryOnWorkerDeath !== false,
    executionProvider: provider as ExecutionProvider,
    preload: p.preloadModel ?? config.preloadModel,
    sessions: p.preloadSessions ?? config.preloadSessions,
    lazy: p.loadOnFirstRequest ?? config.loadOnFirstRequest,
    idleTimeoutMs: p.idleTimeoutMs ?? config.modelIdleTimeoutMs,
    cpuAffinity: p.cpuAffinity ?? config.cpuAffinity,
    ...(p.responseCache
      ? { responseCache: { sizeBytes: p.responseCacheSize ?? config.responseCache.sizeBytes, ttlSeconds: p.responseCacheTtl ?? config.responseCache.ttlSeconds } }
      : {}),
  };
}

/** MMS's name rule, plus a length cap: an over-long name could be registered but not addressed. */
export function checkName(name: string): void {
  if (name.length > MAX_NAME_LENGTH) {
    throw badRequest(`Invalid model name "${name.slice(0, 16)}…" (${name.length} characters): a model name has at most ${MAX_NAME_LENGTH} characters.`);
  }
  if (!/^[A-Za-z0-9][A-Za-z0-9_\-.]*$/.test(name)) {
    throw badRequest(`Invalid model name "${name}": use letters, digits, '_', '-' and '.', starting with a letter or digit.`);
  }
}

/** `model_version`: the rule the manifest's modelVersion follows too (protocol/manifest.ts). */
export function checkVersion(version: string): void {
  const problem = versionProblem(version);
  if (problem) throw badRequest(problem);
}
