// The registered models by name, and the operations on them that both the Management API and
// start-up use: register, scale, unregister, describe, list.
import { readFile, realpath } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Manifest, Runtime } from '../../protocol/manifest.js';
import type { OutgoingItem } from '../../protocol/messages.js';
import { BUILT_IN_HANDLERS, DEFAULT_MODEL_FILE, RUNTIMES } from '../../protocol/manifest.js';
import { MAX_RESPONSE_TIMEOUT_S, MAX_TIMER_MS } from '../config/keys.js';
import type { ServerConfig } from '../config/server-config.js';
import { badRequest, conflict, forbidden, invalidModel, modelNotFound, registerFailed, requestTimeout, ServerError, workerStartFailed } from '../errors.js';
import type { Logger } from '../logging/logger.js';
import type { ServerMetrics } from '../metrics/server-metrics.js';
import { WorkerPool } from '../scheduling/worker-pool.js';
import type { WorkerSpec } from '../scheduling/worker.js';
import { ArchiveStore, isRemoteUrl } from '../archive/archive-store.js';
import { realPathInside } from '../archive/model-links.js';
import { redactPaths, type PathLabels } from './redact-paths.js';

export const MAX_WORKERS = 256;
/** Model names are path segments, metric labels and worker ids: kept short (docs/archives.md, Safety checks on archives). */
export const MAX_NAME_LENGTH = 64;

export interface RegisterParams {
  url: string;
  modelName?: string;
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
}

export interface Model {
  name: string;
  version?: string;
  url: string;
  manifest: Manifest;
  modelDir: string;
  runtime: Runtime;
  handler: string;
  batchSize: number;
  maxBatchDelay: number;
  responseTimeout: number;
  loadedAtStartup: boolean;
  warmup?: OutgoingItem;
  /** Requests of a worker that died are sent once more to another (inference is stateless). */
  retryOnWorkerDeath: boolean;
  pool: WorkerPool;
  cleanup: () => Promise<void>;
}

/** What an operation answers: an HTTP status and the `status` text (errors are thrown instead). */
export interface Outcome {
  code: number;
  status: string;
}

export interface RegisterOutcome extends Outcome {
  model: string;
}

export class ModelRegistry {
  private readonly models = new Map<string, Model>();
  /** Names taken by registrations still in progress: a second one with the same name is a 409. */
  private readonly pending = new Set<string>();
  private readonly archives: ArchiveStore;

  constructor(
    private readonly config: ServerConfig,
    private readonly log: Logger,
    private readonly metrics?: ServerMetrics,
  ) {
    this.archives = new ArchiveStore(config, log);
  }

  /**
   * Called on every change of the models or their loaded workers (the controller publishes the
   * routing table to the fronts); resolves once every front serves the new state.
   */
  onChange: () => Promise<void> = async () => undefined;

  private changed(): Promise<void> {
    return this.onChange();
  }

  get(name: string): Model {
    const model = this.models.get(name);
    if (!model) throw modelNotFound(`Model not found: ${name}`);
    return model;
  }

  has(name: string): boolean {
    return this.models.has(name);
  }

  list(): Model[] {
    return [...this.models.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  async register(p: RegisterParams): Promise<RegisterOutcome> {
    const held: string[] = [];
    try {
      return await this.registerReserved(p, held);
    } catch (err) {
      throw this.redact(err, p.url);
    } finally {
      for (const name of held) this.pending.delete(name);
    }
  }

  /** Reserves the name before anything awaits (or as soon as the manifest names it); `held` lists what to release. */
  private async registerReserved(p: RegisterParams, held: string[]): Promise<RegisterOutcome> {
    const reserve = (name: string) => {
      checkName(name);
      if (this.models.has(name) || this.pending.has(name)) throw conflict(`Model ${name} is already registered.`);
      this.pending.add(name);
      held.push(name);
    };
    if (p.modelName) reserve(p.modelName);
    if (p.runtime !== undefined && !(RUNTIMES as readonly string[]).includes(p.runtime)) {
      throw badRequest(`Invalid RuntimeType value: ${p.runtime}`);
    }
    const workers = p.initialWorkers ?? this.config.defaultWorkersPerModel;
    checkWorkerCount('initial_workers', workers);
    // Both become timer delays: past what a Node timer holds they would fire at once.
    if (p.responseTimeout !== undefined && (p.responseTimeout <= 0 || p.responseTimeout > MAX_RESPONSE_TIMEOUT_S)) {
      throw badRequest(`response_timeout must be between 1 and ${MAX_RESPONSE_TIMEOUT_S} seconds, got ${p.responseTimeout}.`);
    }
    if (p.batchSize !== undefined && (p.batchSize < 1 || p.batchSize > 1024)) throw badRequest('batch_size must be between 1 and 1024.');
    if (p.maxBatchDelay !== undefined && (p.maxBatchDelay < 0 || p.maxBatchDelay > MAX_TIMER_MS)) {
      throw badRequest(`max_batch_delay must be between 0 and ${MAX_TIMER_MS} ms, got ${p.maxBatchDelay}.`);
    }
    if (p.runtime === 'node' && isRemoteUrl(p.url)) this.checkCodeFromUrl(p.url);
    const resolved = await this.archives.resolve(p.url);
    let model: Model;
    try {
      if (!p.modelName) {
        const name = resolved.manifest.model.modelName || p.defaultName;
        if (!name) throw invalidModel('Model name is not defined.');
        reserve(name);
      }
      model = this.createModel(p, resolved.manifest, resolved.modelDir, resolved.cleanup);
      if (model.runtime === 'node' && resolved.remote) this.checkCodeFromUrl(p.url);
      if (model.runtime === 'node') await checkHandlerFile(model.modelDir, model.handler);
      else if (!(BUILT_IN_HANDLERS as readonly string[]).includes(model.handler)) {
        throw invalidModel(`Unknown handler "${model.handler}" for runtime onnx (built-in: ${BUILT_IN_HANDLERS.join(', ')}).`);
      } else {
        await realPathInside(model.modelDir, resolved.manifest.model.modelFile ?? DEFAULT_MODEL_FILE, 'Model file');
      }
      if (resolved.manifest.model.warmup) model.warmup = await readWarmup(model.modelDir, resolved.manifest.model.warmup);
    } catch (err) {
      await resolved.cleanup();
      throw this.redact(err, p.url, resolved.modelDir);
    }
    this.models.set(model.name, model);
    await this.changed();
    this.log.info({ model: model.name, url: p.url, workers }, 'model registered');
    if (workers <= 0) return { code: 200, status: `Model "${model.name}" registered`, model: model.name };
    return { ...(await this.scaleModel(model, workers, workers, p.synchronous, true)), model: model.name };
  }

  /** Archive code runs with the server's rights (docs/archives.md, Trust): from a URL only when allowed. */
  private checkCodeFromUrl(url: string): void {
    if (this.config.allowCodeFromUrls) return;
    throw forbidden(`Model archive from ${url} carries code (runtime node); loading code from URLs is disabled (allow_code_from_urls).`);
  }

  /** The message without the server's absolute paths (model directory, work_dir, model_store). */
  private redact(err: unknown, url: string, modelDir?: string): unknown {
    const labels: PathLabels = [
      [path.resolve(this.config.workDir), '<work_dir>'],
      ...(this.config.modelStore ? [[path.resolve(this.config.modelStore), '<model_store>'] as [string, string]] : []),
    ];
    // Files of the model read relative to it; then an absolute path or URL the user typed is kept as
    // given (a short store name could match anywhere, so only those).
    const keep = path.isAbsolute(url) || url.includes('://') ? url : undefined;
    const clean = (m: string) => redactPaths(modelDir ? redactPaths(m, [[modelDir, '.']]) : m, labels, keep);
    if (err instanceof ServerError) {
      err.message = clean(err.message);
      return err;
    }
    return registerFailed(clean((err as Error)?.message ?? String(err)));
  }

  async scale(name: string, min: number, max: number, synchronous: boolean): Promise<Outcome> {
    checkWorkerCount('min_worker', min);
    checkWorkerCount('max_worker', max);
    if (max < min) throw badRequest('max_worker cannot be less than min_worker.');
    return this.scaleModel(this.get(name), min, max, synchronous, false);
  }

  async unregister(name: string): Promise<Outcome> {
    const model = this.get(name);
    this.models.delete(name);
    await this.changed(); // the fronts stop sending to it and finish what they sent
    const timeoutMs = this.config.unregisterModelTimeout * 1000;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
    const result = await Promise.race([model.pool.close(), timedOut]);
    clearTimeout(timer);
    if (result === 'timeout') {
      this.models.set(name, model);
      void this.changed();
      throw requestTimeout(`Timed out while cleaning resources: ${name}`);
    }
    await model.cleanup();
    this.log.info({ model: name }, 'model unregistered');
    return { code: 200, status: `Model "${name}" unregistered` };
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.models.keys()].map((name) => this.unregister(name).catch(() => undefined)));
  }

  /** Per model: whether its workers keep failing, and how many run of how many wanted. */
  modelHealth(): Record<string, { status: 'Healthy' | 'Unhealthy'; workers: number; minWorkers: number }> {
    const out: Record<string, { status: 'Healthy' | 'Unhealthy'; workers: number; minWorkers: number }> = {};
    for (const m of this.list()) {
      out[m.name] = { status: m.pool.healthy ? 'Healthy' : 'Unhealthy', workers: m.pool.running, minWorkers: m.pool.minWorkers };
    }
    return out;
  }

  /** Ping rule (docs/api.md, Inference API): compare running workers with the sum of minimums. */
  health(): 'Healthy' | 'Partial Healthy' | 'Unhealthy' {
    let scaled = 0;
    let working = 0;
    for (const m of this.models.values()) {
      scaled += m.pool.minWorkers;
      working += m.pool.running;
    }
    if (scaled > 0 && working === 0) return 'Unhealthy';
    if (working > 0 && working < scaled) return 'Partial Healthy';
    return 'Healthy';
  }

  private async scaleModel(model: Model, min: number, max: number, synchronous: boolean, registering: boolean): Promise<Outcome> {
    // Wait for workers still starting from an earlier request too, as long as one start may take.
    const done = model.pool.scale(min, max, this.config.workerStartTimeout * 1000);
    if (!synchronous) {
      done.catch((err: Error) => this.log.error({ model: model.name, err: err.message }, 'worker start failed'));
      return { code: 202, status: 'Processing worker updates...' };
    }
    try {
      await done;
    } catch (err) {
      if (registering && this.models.get(model.name) === model) {
        await this.unregister(model.name).catch(() => undefined);
      }
      const e = err as ServerError;
      const failed = workerStartFailed(`Failed to start workers: ${e.message}`, e.status);
      throw this.redact(failed, model.url, model.modelDir);
    }
    if (model.pool.running >= min) return { code: 200, status: 'Workers scaled' };
    return { code: 210, status: 'Workers scaling in progress...' };
  }

  private createModel(p: RegisterParams, manifest: Manifest, modelDir: string, cleanup: () => Promise<void>): Model {
    const name = p.modelName || manifest.model.modelName || p.defaultName;
    if (!name) throw invalidModel('Model name is not defined.');
    const runtime = (p.runtime ?? manifest.runtime) as Runtime;
    const handler = p.handler || manifest.model.handler || this.config.defaultServiceHandler || (runtime === 'onnx' ? 'onnx' : '');
    if (!handler) throw invalidModel('Model handler is not defined.');
    const batchSize = Math.max(1, p.batchSize ?? manifest.model.batchSize ?? 1);
    const maxBatchDelay = Math.max(0, p.maxBatchDelay ?? manifest.model.maxBatchDelay ?? 100);
    if (maxBatchDelay > MAX_TIMER_MS) throw invalidModel(`Manifest field model.maxBatchDelay must be at most ${MAX_TIMER_MS}.`);
    const responseTimeout = p.responseTimeout ?? this.config.responseTimeout;
    const model: Model = {
      name, version: manifest.model.modelVersion, url: p.url, manifest, modelDir, runtime, handler, batchSize, maxBatchDelay,
      responseTimeout, loadedAtStartup: p.loadedAtStartup ?? false, cleanup,
      retryOnWorkerDeath: manifest.model.retryOnWorkerDeath !== false,
      pool: new WorkerPool({
        modelName: name,
        spec: (pool) => this.workerSpec(model, pool),
        log: this.log.child({ model: name }),
        observer: this.metrics?.observer(name),
        onChange: () => this.changed(),
      }),
    };
    return model;
  }

  private workerSpec(model: Model, pool: WorkerPool): WorkerSpec {
    const cores = os.availableParallelism();
    const intra = this.config.onnxIntraOpThreads || Math.max(1, Math.floor(cores / Math.max(1, pool.minWorkers)));
    return {
      modelName: model.name,
      modelDir: model.modelDir,
      handler: model.handler,
      runtime: model.runtime,
      batchSize: model.batchSize,
      maxBatchDelay: model.maxBatchDelay,
      gpuId: -1,
      intraOpThreads: intra,
      responseTimeoutMs: model.responseTimeout * 1000,
      startTimeoutMs: this.config.workerStartTimeout * 1000,
      maxResponseSize: this.config.maxResponseSize,
      ping: this.config.workerPing,
      env: this.workerEnv(),
      warmup: model.warmup,
    };
  }

  private workerEnv(): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) {
      if (!this.config.blacklistEnvVars?.test(k)) env[k] = v;
    }
    env.MMS_DECODE_INPUT_REQUEST = String(this.config.decodeInputRequest);
    // onnxruntime-node's 1DS telemetry: files in TMPDIR and the cache, uploads to Microsoft
    // (docs/dependencies.md, "onnxruntime-node telemetry"). Off unless the operator sets it.
    env.ORT_DISABLE_TELEMETRY = process.env.ORT_DISABLE_TELEMETRY ?? '1';
    return env;
  }
}

/** The manifest's example request, read once at registration. */
async function readWarmup(modelDir: string, warmup: { file: string; contentType?: string }): Promise<OutgoingItem> {
  const root = await realpath(modelDir);
  const full = await realpath(path.resolve(modelDir, warmup.file)).catch(() => undefined);
  if (!full || !full.startsWith(root + path.sep)) throw invalidModel(`Warm-up file not found in the model directory: ${warmup.file}`);
  const contentType = warmup.contentType ?? '';
  return {
    requestId: 'warmup',
    headers: contentType ? [['content-type', contentType]] : [],
    parameters: [{ name: 'body', contentType, value: await readFile(full) }],
  };
}

/** A custom handler must be a file inside the model directory (links followed). */
async function checkHandlerFile(modelDir: string, handler: string): Promise<void> {
  const file = handler.split(':')[0];
  const root = await realpath(modelDir);
  const full = await realpath(path.resolve(modelDir, file)).catch(() => undefined);
  if (!full) throw invalidModel(`Handler file not found in the model archive: ${file}`);
  if (!full.startsWith(root + path.sep)) throw invalidModel(`Handler path is outside the model directory: ${handler}`);
}

/** MMS's name rule, plus a length cap: an over-long name could be registered but not addressed. */
function checkName(name: string): void {
  if (name.length > MAX_NAME_LENGTH) {
    throw badRequest(`Invalid model name "${name.slice(0, 16)}…" (${name.length} characters): a model name has at most ${MAX_NAME_LENGTH} characters.`);
  }
  if (!/^[A-Za-z0-9][A-Za-z0-9_\-.]*$/.test(name)) {
    throw badRequest(`Invalid model name "${name}": use letters, digits, '_', '-' and '.', starting with a letter or digit.`);
  }
}

function checkWorkerCount(name: string, n: number): void {
  if (!Number.isInteger(n) || n < 0 || n > MAX_WORKERS) {
    throw badRequest(`${name} must be an integer between 0 and ${MAX_WORKERS}, got ${n}.`);
  }
}

