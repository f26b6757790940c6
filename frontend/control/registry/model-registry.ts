// The registered models by name, and the operations on them that both the Management API and
// start-up use: register, scale, unregister, describe, list. What a model's settings are comes from
// model-settings.ts, what its workers start with from worker-spec.ts.
import path from 'node:path';
import type { Manifest } from '../../../protocol/manifest.js';
import type { OutgoingItem } from '../../../protocol/messages.js';
import { DEFAULT_MODEL_FILE } from '../../../protocol/manifest.js';
import type { ServerConfig } from '../../config/server-config.js';
import { MAX_TIMER_MS } from '../../config/keys.js';
import { badRequest, conflict, forbidden, modelNotFound, registerFailed, requestTimeout, ServerError, workerStartFailed } from '../../errors.js';
import type { Logger } from '../../logging/logger.js';
import { WorkerPool, type PoolObserver } from '../workers/worker-pool.js';
import { ArchiveStore, isRemoteUrl } from '../archive/archive-store.js';
import { realPathInside } from '../archive/model-links.js';
import { checkHandlerFile, readWarmup } from './model-files.js';
import { checkName, checkRegisterParams, checkWorkerCount, modelName, modelSettings, type ModelSettings, type RegisterParams } from './model-settings.js';
import { redactPaths, type PathLabels } from './redact-paths.js';
import { usesGpu, workerSpec } from './worker-spec.js';
import { Gpus } from '../gpus/gpus.js';
import { Worker } from '../workers/worker.js';
import { HostShare, SharedSlot } from '../workers/worker-slot.js';
import { MemoryBudget } from './memory-budget.js';
import type { UsageMap } from '../../inference/model-usage.js';

export type { RegisterParams } from './model-settings.js';

export interface Model extends ModelSettings {
  url: string;
  manifest: Manifest;
  modelDir: string;
  warmup?: OutgoingItem;
  pool: WorkerPool;
  cleanup: () => Promise<void>;
  /** Epoch ms; the memory budget's LRU order starts here. */
  registeredAt: number;
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
  readonly budget: MemoryBudget;

  constructor(
    private readonly config: ServerConfig,
    private readonly log: Logger,
    /** Per model, what its pool reports (the metrics). */
    private readonly observe?: (model: string) => PoolObserver,
    /** The server's GPUs and their round-robin (none: every worker on the CPU). */
    readonly gpus: Gpus = new Gpus(),
  ) {
    this.archives = new ArchiveStore(config, log);
    this.budget = new MemoryBudget({
      bytes: config.modelMemoryBudget,
      log,
      models: () => this.list(),
      usage: () => this.usage(),
      evict: async (name) => void (await this.unregister(name).catch((err) => {
        if (!(err instanceof ServerError && err.code === 'MODEL_NOT_FOUND')) throw err; // gone already: freed
      })),
      onEvict: (name) => this.onEvict(name),
    });
  }

  /** Requests in flight and last use per model (the controller asks whoever serves inference). */
  usage: () => Promise<UsageMap> = async () => ({});

  /** A model was unloaded to make room for another (metrics count it). */
  onEvict: (model: string) => void = () => undefined;

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
    const workers = checkRegisterParams(p, this.config);
    if (p.runtime === 'node' && isRemoteUrl(p.url)) this.checkCodeFromUrl(p.url);
    const resolved = await this.archives.resolve(p.url);
    let model: Model;
    try {
      if (!p.modelName) reserve(modelName(p, resolved.manifest));
      model = this.createModel(modelSettings(p, resolved.manifest, this.config), p.url, resolved.manifest, resolved.modelDir, resolved.cleanup);
      if (model.runtime === 'node' && resolved.remote) this.checkCodeFromUrl(p.url);
      if (model.runtime === 'node') await checkHandlerFile(model.modelDir, model.handler);
      else await realPathInside(model.modelDir, resolved.manifest.model.modelFile ?? DEFAULT_MODEL_FILE, 'Model file');
      if (resolved.manifest.model.warmup) model.warmup = await readWarmup(model.modelDir, resolved.manifest.model.warmup);
      if (workers > 0) await this.budget.admit(model.name, await this.budget.estimate(p.url, model.modelDir, workers));
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

  private async scaleModel(model: Model, min: number, max: number, synchronous: boolean, registering: boolean): Promise<Outcome> {
    // Wait for workers still starting from an earlier request too, as long as one start may take.
    const done = model.pool.scale(min, max, Math.min(MAX_TIMER_MS, (this.config.workerStartTimeout + this.config.modelLoadTimeout) * 1000));
    if (!synchronous) {
      done.then(() => (registering ? this.settleBudget(model) : undefined))
        .catch((err: Error) => this.log.error({ model: model.name, err: err.message }, 'worker start failed'))
        .finally(() => this.budget.release(model.name));
      return { code: 202, status: 'Processing worker updates...' };
    }
    try {
      await done;
      if (registering) await this.settleBudget(model);
    } catch (err) {
      this.budget.release(model.name);
      if (err instanceof ServerError && err.code === 'MEMORY_BUDGET_EXCEEDED') throw err;
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

  /** The loaded model's measured memory against the budget; over it (nothing idle to unload): unloaded again, 507. */
  private async settleBudget(model: Model): Promise<void> {
    try {
      await this.budget.settle(model);
    } catch (err) {
      if (this.models.get(model.name) === model) await this.unregister(model.name).catch(() => undefined);
      throw err;
    }
  }

  private createModel(settings: ModelSettings, url: string, manifest: Manifest, modelDir: string, cleanup: () => Promise<void>): Model {
    const log = this.log.child({ model: settings.name });
    // Worker processes the model's minimum asks for: one per slot, or one per GPU it spans when shared.
    const processes = () => (model.preload ? Math.min(model.pool.minWorkers, Math.max(1, this.gpus.list.length)) : model.pool.minWorkers);
    const share = new HostShare((gpuId) => new Worker(gpuId >= 0 ? `gpu${gpuId}` : 'cpu', workerSpec(model, processes(), this.config, gpuId), log));
    const model: Model = {
      ...settings, url, manifest, modelDir, cleanup, registeredAt: Date.now(),
      pool: new WorkerPool({
        modelName: settings.name,
        create: (slot, gpuId) =>
          settings.preload ? new SharedSlot(settings.name, slot, gpuId, share) : new Worker(slot, workerSpec(model, processes(), this.config, gpuId), log),
        nextGpu: usesGpu(settings.executionProvider) ? () => this.gpus.next() : () => -1,
        log,
        observer: this.observe?.(settings.name),
        onChange: () => this.changed(),
      }),
    };
    return model;
  }
}
