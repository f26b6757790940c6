// The registered models by name and version, and the operations on them that the Management API,
// start-up and the snapshot use: register, scale, unregister, set-default, describe, list. Versions
// of one name live side by side (docs/api.md, Model versions); `key` names one of them. What a model's settings are comes from
// model-settings.ts, what its workers start with from worker-spec.ts, what a registered model holds from model.ts.
import type { ServerConfig } from '../../config/server-config.js';
import { MAX_TIMER_MS } from '../../config/keys.js';
import { badRequest, conflict, modelNotFound, requestTimeout, ServerError, workerStartFailed } from '../../errors.js';
import type { Logger } from '../../logging/logger.js';
import type { PoolObserver } from '../workers/worker-pool.js';
import { ArchiveStore, isRemoteUrl } from '../archive/archive-store.js';
import { checkName, checkRegisterParams, checkWorkerCount, modelName, modelVersion, type RegisterParams } from './model-settings.js';
import { modelKey, nameOfKey, versionsFirst } from './model-key.js';
import { redactError } from './redact-paths.js';
import { Gpus } from '../gpus/gpus.js';
import { checkGpuRoom } from '../gpus/gpu-room.js';
import { MemoryBudget } from './memory-budget.js';
import { buildModel, checkCodeFromUrl, type BuildOptions } from './model-build.js';
import { readContent, type ModelContent } from './model-content.js';
import { CpuAllocator } from '../cpus/cpu-allocator.js';
import { hostCpus } from '../../config/host-cpus.js';
import type { UsageMap } from '../../inference/model-usage.js';
import { budgeted, stageOf, stageWorkers, withPipelineUsage } from './pipeline-models.js';

export type { RegisterParams } from './model-settings.js';

import { loadsOnDemand, type Model, type Outcome, type RegisterOutcome } from './model.js';
export { loadsOnDemand, type Model, type Outcome, type RegisterOutcome };

/** A registration that found its model registered already, asked to skip it (start-up models after a snapshot). */
class AlreadyRegistered extends Error {
  constructor(readonly model: string) {
    super(`Model "${model}" already registered`);
  }
}

export class ModelRegistry {
  /** By key. */
  private readonly models = new Map<string, Model>();
  /** Per name, the key of the version that unversioned requests reach. */
  private readonly defaults = new Map<string, string>();
  /** Keys taken by registrations still in progress: a second one with the same key is a 409. */
  private readonly pending = new Set<string>();
  private readonly archives: ArchiveStore;
  readonly budget: MemoryBudget;
  /** On-demand loads under way (a burst of first requests loads once). */
  private readonly loadingOnDemand = new Set<string>();
  /** Cores for the pinned workers of every model (cpu_affinity). */
  readonly cpus: CpuAllocator;
  /** What a model is built with (model-build.ts). */
  private readonly builder: BuildOptions;

  constructor(
    private readonly config: ServerConfig,
    private readonly log: Logger,
    /** Per model, what its pool reports (the metrics). */
    observe?: (model: string) => PoolObserver,
    /** The server's GPUs and their round-robin (none: every worker on the CPU). */
    readonly gpus: Gpus = new Gpus(),
  ) {
    this.archives = new ArchiveStore(config, log);
    this.cpus = new CpuAllocator(hostCpus(), log);
    this.builder = { config, log, gpus, cpus: this.cpus, observe, changed: () => this.changed() };
    this.budget = new MemoryBudget({
      bytes: config.modelMemoryBudget,
      log,
      // The budget counts each version on its own: by key.
      models: () => this.list().map(budgeted),
      // A pipeline is in use while any of its stages is (its requests are counted per stage).
      usage: async () => withPipelineUsage(this.list(), await this.usage()),
      evict: async (key) => {
        const model = this.models.get(key);
        // A model that loads on demand keeps its registration: its workers go, its next request loads it.
        if (model && loadsOnDemand(model)) return void (await Promise.all((model.stages ?? [model]).map((m) => m.pool.resize(0))));
        if (model) await this.unload(model); // gone already: freed
      },
      onEvict: (key) => this.onEvict(nameOfKey(key)),
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

  /** A version of the model, or its default version. */
  get(name: string, version?: string): Model {
    const key = version === undefined ? this.defaults.get(name) : modelKey(name, version);
    const model = key === undefined ? undefined : this.models.get(key);
    if (!model) throw modelNotFound(version === undefined || !this.defaults.has(name) ? `Model not found: ${name}` : `Model version not found: ${name}/${version}`);
    return model;
  }

  /** A model's version, or a pipeline's stage (`<key>#<stage>`). */
  byKey(key: string): Model | undefined {
    return this.models.get(key) ?? this.withStages().find((m) => m.key === key);
  }

  /** Every model and every pipeline's stages (the models with workers of their own: metrics, autoscaling). */
  withStages(): Model[] {
    return this.list().flatMap((m) => m.stages ?? [m]);
  }

  has(name: string): boolean {
    return this.defaults.has(name);
  }

  isDefault(model: Model): boolean {
    return this.defaults.get(model.name) === model.key;
  }

  /** Every version of every model, by name, then versions in order. */
  list(): Model[] {
    return [...this.models.values()].sort(versionsFirst);
  }

  /** The model's versions in order (404 when none). */
  versions(name: string): Model[] {
    const all = this.list().filter((m) => m.name === name);
    if (all.length === 0) throw modelNotFound(`Model not found: ${name}`);
    return all;
  }

  /** Unversioned requests reach this version from now on. */
  async setDefault(name: string, version: string): Promise<Outcome> {
    const model = this.get(name, version);
    this.defaults.set(name, model.key);
    await this.changed();
    this.log.info({ model: name, version }, 'default version set');
    return { code: 200, status: `Default version of model "${name}" set to ${version}` };
  }

  async register(p: RegisterParams): Promise<RegisterOutcome> {
    const held: string[] = [];
    try {
      return await this.registerReserved(p, held);
    } catch (err) {
      if (err instanceof AlreadyRegistered) return { code: 200, status: err.message, model: err.model };
      throw this.redact(err, p.url);
    } finally {
      for (const name of held) this.pending.delete(name);
    }
  }

  /** Reserves the name before anything awaits (or as soon as the manifest names it); `held` lists what to release. */
  private async registerReserved(p: RegisterParams, held: string[]): Promise<RegisterOutcome> {
    // An unversioned model is its name's only one; versions of a name may be added side by side.
    // Early (before the manifest gives the version) only the same key conflicts; the final check also
    // weighs the name's other versions.
    const reserve = (name: string, version: string | undefined, final: boolean) => {
      checkName(name);
      const key = modelKey(name, version);
      const mine = held.includes(key);
      const taken = (!mine && (this.models.has(key) || this.pending.has(key)))
        || (final && (version === undefined ? this.defaults.has(name) : this.models.has(name)));
      if (taken && p.ifAbsent && this.defaults.has(name)) throw new AlreadyRegistered(name);
      if (taken) throw conflict(`Model ${name} is already registered.`); // MMS's words, whatever the version
      if (mine) return;
      this.pending.add(key);
      held.push(key);
    };
    if (p.modelName) reserve(p.modelName, p.modelVersion, false);
    // A start-up model the snapshot restored from the same URL: its archive is not extracted again.
    const restored = p.ifAbsent ? [...this.models.values()].find((m) => m.url === p.url && (!p.modelName || m.name === p.modelName)) : undefined;
    if (restored) throw new AlreadyRegistered(restored.name);
    const workers = checkRegisterParams(p, this.config);
    if (p.runtime === 'node' && isRemoteUrl(p.url)) checkCodeFromUrl(this.config, p.url);
    // Hashed before it is read: a change in between shows as a change at the watch's next look. A
    // path that cannot be read is resolve's to refuse (404), with its own words.
    const store = this.config.modelWatchInterval > 0 ? this.archives.storePath(p.url) : undefined;
    const content = store ? await readContent(store).catch(() => undefined) : undefined;
    const resolved = await this.archives.resolve(p.url);
    let model: Model;
    try {
      reserve(modelName(p, resolved.manifest), modelVersion(p, resolved.manifest), true);
      model = await buildModel(this.builder, p, resolved, content);
      // A pipeline reserves every stage's workers (each loads its stage's files: the archive counts for each).
      const held = model.stages ? model.stages.reduce((a, s) => a + stageWorkers(s.stage!, workers).min, 0) : workers;
      if (held > 0 && !model.lazy) await this.budget.admit(model.key, await this.budget.estimate(p.url, model.modelDir, held));
    } catch (err) {
      await resolved.cleanup();
      throw this.redact(err, p.url, resolved.modelDir);
    }
    this.models.set(model.key, model);
    if (!this.defaults.has(model.name)) this.defaults.set(model.name, model.key); // the first version is the default
    await this.changed();
    this.log.info({ model: model.name, version: model.version, url: p.url, workers, lazy: model.lazy }, 'model registered');
    if (model.lazy) {
      for (const m of model.stages ?? [model]) {
        const { min, max } = m.stage ? stageWorkers(m.stage, workers) : { min: workers, max: workers };
        m.pool.limits(min, Math.max(1, max));
      }
      return { code: 200, status: `Model "${model.name}" registered; it loads on its first request`, model: model.name };
    }
    if (model.stages) return { ...(await this.scaleStages(model, (s) => stageWorkers(s.stage!, workers), p.synchronous, true)), model: model.name };
    if (workers <= 0) return { code: 200, status: `Model "${model.name}" registered`, model: model.name };
    return { ...(await this.scaleModel(model, workers, workers, p.synchronous, true)), model: model.name };
  }

  /**
   * Hot reload (model-reload.ts): `old`'s registration again from the store's new content, under the
   * same name and version whatever the new manifest says; no worker started yet.
   */
  async loadContent(old: Model, content: ModelContent): Promise<Model> {
    const p: RegisterParams = { ...old.params, modelName: old.name, modelVersion: old.version };
    const resolved = await this.archives.resolve(p.url).catch((err: unknown) => Promise.reject(this.redact(err, p.url)));
    const manifest = { ...resolved.manifest, model: { ...resolved.manifest.model, modelVersion: old.version } };
    try {
      const next = await buildModel(this.builder, p, { ...resolved, manifest }, content);
      next.registeredAt = old.registeredAt;
      return next;
    } catch (err) {
      await resolved.cleanup();
      throw this.redact(err, p.url, resolved.modelDir);
    }
  }

  /** `next` serves in `old`'s place; resolves once every front sends to `next` only (false: `old` is gone). */
  async replace(old: Model, next: Model): Promise<boolean> {
    if (this.models.get(old.key) !== old || next.key !== old.key) return false;
    this.models.set(old.key, next);
    await this.changed();
    return true;
  }

  /** The message without the server's absolute paths (model directory, work_dir, model_store). */
  private redact(err: unknown, url: string, modelDir?: string): unknown {
    if (err instanceof AlreadyRegistered) return err;
    return redactError(err, url, this.config, modelDir);
  }

  /** `stage`: one stage of a pipeline; a pipeline without it: every stage to the same counts. */
  async scale(name: string, min: number, max: number, synchronous: boolean, version?: string, stage?: string): Promise<Outcome> {
    checkWorkerCount('min_worker', min);
    checkWorkerCount('max_worker', max);
    if (max < min) throw badRequest('max_worker cannot be less than min_worker.');
    const model = this.get(name, version);
    if (stage !== undefined) return this.scaleModel(stageOf(model, stage), min, max, synchronous, false);
    if (model.stages) return this.scaleStages(model, () => ({ min, max }), synchronous, false);
    return this.scaleModel(model, min, max, synchronous, false);
  }

  /** A pipeline's stages, each to `counts` (at registration: its own minWorkers/maxWorkers, else initial_workers). */
  private async scaleStages(model: Model, counts: (s: Model) => { min: number; max: number }, synchronous: boolean, registering: boolean): Promise<Outcome> {
    // A registration waits for the stages' workers even when its caller does not, to measure them
    // against the memory budget (as scaleModel does for a model) and free the reservation.
    const plan = model.stages!.map((s) => ({ s, ...counts(s) }));
    // Every stage's limits first: a stage's workers size their intra-op threads by all the pipeline's
    // workers (model-build.ts `threadSharers`), so the first stage must not count the later ones as 1.
    for (const { s, min, max } of plan) s.pool.limits(min, max);
    const scaled = Promise.all(plan.map(({ s, min, max }) => this.scaleModel(s, min, max, synchronous || registering, false)));
    if (!registering) return firstNotDone(await scaled);
    const settled = scaled.then(async (outcomes) => (await this.settleBudget(model), outcomes)).finally(() => this.budget.release(model.key));
    if (!synchronous) {
      settled.catch((err: Error) => this.log.error({ model: model.name, err: err.message }, 'worker start failed'));
      return { code: 202, status: 'Processing worker updates...' };
    }
    try {
      return firstNotDone(await settled);
    } catch (err) {
      await this.unload(model).catch(() => undefined);
      throw err;
    }
  }

  /**
   * The autoscaler's and on-demand loading's move: `n` workers for the model. Growing reserves memory
   * first (unloading idle models, least recently used first; 507 when that cannot make room) and
   * measures after; a grown model over the budget goes back to what it had.
   */
  async resize(key: string, n: number): Promise<void> {
    const model = this.byKey(key);
    if (!model) throw modelNotFound(`Model not found: ${key}`);
    const from = model.pool.target;
    if (n <= from) return model.pool.resize(n);
    await checkGpuRoom(this.gpus, model, n - from);
    await this.budget.admit(key, await this.budget.estimate(model.url, model.modelDir, n));
    try {
      await model.pool.resize(n, this.config.workerStartTimeout * 1000);
      await this.budget.settle(model);
    } catch (err) {
      if (this.models.get(key) === model) await model.pool.resize(from).catch(() => undefined);
      throw err;
    } finally {
      this.budget.release(key);
    }
  }

  /** A request waits for an on-demand model (a version's key) that has no worker: load its minimum (at least one). */
  demand(key: string): void {
    const model = this.byKey(key);
    if (!model || model.pool.target > 0 || model.pool.failed || this.loadingOnDemand.has(key)) return;
    this.loadingOnDemand.add(key);
    model.loadError = undefined;
    this.log.info({ model: model.name, version: model.version }, 'loading model on its first request');
    this.resize(key, Math.max(1, model.pool.minWorkers))
      .catch((err: Error) => {
        this.log.warn({ model: model.name, version: model.version, err: err.message }, 'could not load model on demand');
        model.loadError = `loading it on demand failed: ${err.message}`;
        void this.changed(); // the fronts refuse its waiting requests with that reason
      })
      .finally(() => this.loadingOnDemand.delete(key));
  }

  /**
   * Unregisters a version, or the default version. The default goes only when it is the name's last
   * version: another must be made the default first (as TorchServe), so unversioned requests never
   * change version without an operator saying so.
   */
  async unregister(name: string, version?: string): Promise<Outcome> {
    const model = this.get(name, version);
    if (this.isDefault(model) && this.list().some((m) => m.name === name && m !== model)) {
      throw conflict(`Version ${model.version} is the default version of model ${name}; set another default first (PUT /models/${name}/{version}/set-default).`);
    }
    await this.unload(model);
    return { code: 200, status: version === undefined ? `Model "${name}" unregistered` : `Model "${name}" version ${version} unregistered` };
  }

  /** Stops the model's workers and forgets it (another version becomes the default if it was). */
  private async unload(model: Model): Promise<void> {
    const { name, key } = model;
    if (this.models.get(key) !== model) return;
    this.models.delete(key);
    const wasDefault = this.defaults.get(name) === key;
    if (wasDefault) {
      const next = this.list().filter((m) => m.name === name).pop(); // eviction or closing: the highest version left
      if (next) this.defaults.set(name, next.key);
      else this.defaults.delete(name);
    }
    await this.changed(); // the fronts stop sending to it and finish what they sent
    const timeoutMs = this.config.unregisterModelTimeout * 1000;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
    const pools = [model.pool, ...(model.stages ?? []).map((s) => s.pool)];
    const result = await Promise.race([Promise.all(pools.map((p) => p.close())), timedOut]);
    clearTimeout(timer);
    if (result === 'timeout') {
      this.models.set(key, model);
      if (wasDefault || !this.defaults.has(name)) this.defaults.set(name, key);
      void this.changed();
      throw requestTimeout(`Timed out while cleaning resources: ${key}`);
    }
    await model.cleanup();
    this.log.info({ model: name, version: model.version }, 'model unregistered');
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.models.values()].map((model) => this.unload(model).catch(() => undefined)));
  }

  private async scaleModel(model: Model, min: number, max: number, synchronous: boolean, registering: boolean): Promise<Outcome> {
    // Wait for workers still starting from an earlier request too, as long as one start may take.
    const done = model.pool.scale(min, max, Math.min(MAX_TIMER_MS, (this.config.workerStartTimeout + this.config.modelLoadTimeout) * 1000));
    if (!synchronous) {
      done.then(() => (registering ? this.settleBudget(model) : undefined))
        .catch((err: Error) => this.log.error({ model: model.name, err: err.message }, 'worker start failed'))
        .finally(() => this.budget.release(model.key));
      return { code: 202, status: 'Processing worker updates...' };
    }
    try {
      await done;
      if (registering) await this.settleBudget(model);
    } catch (err) {
      this.budget.release(model.key);
      if (err instanceof ServerError && err.code === 'MEMORY_BUDGET_EXCEEDED') throw err;
      if (registering) await this.unload(model).catch(() => undefined);
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
      await this.budget.settle(budgeted(model));
    } catch (err) {
      await this.unload(model).catch(() => undefined);
      throw err;
    }
  }
}

/** A pipeline's answer: the first stage's that is not done, else the first's. */
const firstNotDone = (outcomes: Outcome[]): Outcome => outcomes.find((o) => o.code !== 200) ?? outcomes[0];
