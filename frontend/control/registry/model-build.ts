// A registered model's object from resolved content: its settings, its pool (workers not started),
// a pipeline's stages, and the checks of its files. Registration and hot reload (model-reload.ts)
// build models the same way; the registry decides when one is registered or takes another's place.
import { DEFAULT_MODEL_FILE } from '../../../protocol/manifest.js';
import type { ServerConfig } from '../../config/server-config.js';
import { forbidden } from '../../errors.js';
import type { Logger } from '../../logging/logger.js';
import { WorkerPool, type PoolObserver } from '../workers/worker-pool.js';
import type { ResolvedModel } from '../archive/archive-store.js';
import { realPathInside } from '../archive/model-links.js';
import { checkHandlerFile, readWarmup } from './model-files.js';
import { modelSettings, type ModelSettings, type RegisterParams } from './model-settings.js';
import { modelKey } from './model-key.js';
import { usesGpu, workerSpec } from './worker-spec.js';
import type { Gpus } from '../gpus/gpus.js';
import type { CpuAllocator } from '../cpus/cpu-allocator.js';
import { Worker } from '../workers/worker.js';
import { HostShare, SharedSlot } from '../workers/worker-slot.js';
import type { ModelContent } from './model-content.js';
import { asStage, checkStageFiles, stageSettings } from './pipeline-models.js';
import type { Model } from './model-registry.js';

export interface BuildOptions {
  config: ServerConfig;
  log: Logger;
  gpus: Gpus;
  cpus: CpuAllocator;
  /** Per model, what its pool reports (the metrics). */
  observe?: (model: string) => PoolObserver;
  /** A pool's loaded workers changed: publish (the registry's onChange). */
  changed: () => Promise<void>;
}

/** Archive code runs with the server's rights (docs/archives.md, Trust): from a URL only when allowed. */
export function checkCodeFromUrl(config: ServerConfig, url: string): void {
  if (config.allowCodeFromUrls) return;
  throw forbidden(`Model archive from ${url} carries code (runtime node); loading code from URLs is disabled (allow_code_from_urls).`);
}

/** A model (no worker yet) from resolved content, its files checked; the caller cleans up on failure. */
export async function buildModel(o: BuildOptions, p: RegisterParams, resolved: ResolvedModel, content?: ModelContent): Promise<Model> {
  const model = createModel(o, modelSettings(p, resolved.manifest, o.config), p, resolved, content);
  const stages = model.handler === 'pipeline' ? resolved.manifest.model.stages : undefined;
  if (stages) model.stages = stages.map((s) => asStage(createModel(o, stageSettings(model, s), p, { ...resolved, cleanup: async () => undefined }), model, s));
  if ((model.runtime === 'node' || model.stages?.some((s) => s.runtime === 'node')) && resolved.remote) checkCodeFromUrl(o.config, p.url);
  if (stages) await checkStageFiles(model.modelDir, resolved.manifest, stages);
  else if (model.runtime === 'node') await checkHandlerFile(model.modelDir, model.handler);
  else await realPathInside(model.modelDir, resolved.manifest.model.modelFile ?? DEFAULT_MODEL_FILE, 'Model file');
  if (resolved.manifest.model.warmup) model.warmup = await readWarmup(model.modelDir, resolved.manifest.model.warmup);
  return model;
}

/** The most worker processes a pool may run: its maximum (the autoscaler's ceiling), never below its minimum. */
const mostWorkers = (m: Pick<Model, 'pool'>) => Math.max(m.pool.minWorkers, m.pool.maxWorkers);

/** `m`'s own worker processes at most: one per slot, or one per GPU it spans when shared (the sharing mode). */
export const ownProcesses = (m: Pick<Model, 'pool' | 'preload'>, gpus: number): number =>
  m.preload ? Math.min(mostWorkers(m), Math.max(1, gpus)) : mostWorkers(m);

/**
 * The worker processes whose intra-op threads share the free cores with `m`'s (workerSpec's
 * `processes`): the most it may run, since a worker keeps the threads it started with; sized by the
 * minimum, the workers the autoscaler or on-demand loading adds later would each take the threads
 * of the first and crowd the cores. A stage's workers share them with every stage of its pipeline.
 */
export function threadSharers(m: Pick<Model, 'pool' | 'preload' | 'pipeline'>, gpus: number): number {
  return m.pipeline ? m.pipeline.stages!.reduce((a, s) => a + Math.max(1, ownProcesses(s, gpus)), 0) : ownProcesses(m, gpus);
}

function createModel(o: BuildOptions, settings: ModelSettings, params: RegisterParams, resolved: ResolvedModel, content?: ModelContent): Model {
  const { modelDir, manifest, cleanup } = resolved;
  const log = o.log.child({ model: settings.name });
  const spec = (gpuId: number) => {
    const gpus = o.gpus.list.length;
    return workerSpec(model, threadSharers(model, gpus), o.config, gpuId, o.cpus, ownProcesses(model, gpus));
  };
  const share = new HostShare((gpuId) => new Worker(gpuId >= 0 ? `gpu${gpuId}` : 'cpu', spec(gpuId), log));
  const model: Model = {
    ...settings, key: modelKey(settings.name, settings.version), url: params.url, params, manifest, modelDir, cleanup, content, registeredAt: Date.now(),
    pool: new WorkerPool({
      modelName: settings.name,
      create: (slot, gpuId) =>
        settings.preload ? new SharedSlot(settings.name, slot, gpuId, share) : new Worker(slot, spec(gpuId), log),
      nextGpu: usesGpu(settings.executionProvider) ? () => o.gpus.next() : () => -1,
      log,
      observer: o.observe?.(settings.name),
      onChange: () => o.changed(),
      crashLoopLimit: o.config.crashLoopMaxRestarts,
    }),
  };
  return model;
}
