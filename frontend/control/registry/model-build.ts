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

function createModel(o: BuildOptions, settings: ModelSettings, params: RegisterParams, resolved: ResolvedModel, content?: ModelContent): Model {
  const { modelDir, manifest, cleanup } = resolved;
  const log = o.log.child({ model: settings.name });
  // Worker processes the model's minimum asks for: one per slot, or one per GPU it spans when shared.
  // A stage's workers share the cores with every stage of its pipeline.
  const processes = () => model.pipeline?.stages!.reduce((a, s) => a + Math.max(1, s.pool.minWorkers), 0)
    ?? (model.preload ? Math.min(model.pool.minWorkers, Math.max(1, o.gpus.list.length)) : model.pool.minWorkers);
  // The model's (a stage's) own processes as they are about to be: what caps a stage's intraOpThreads.
  const own = () => {
    const n = Math.max(1, model.pool.minWorkers, model.pool.target);
    return model.preload ? Math.min(n, Math.max(1, o.gpus.list.length)) : n;
  };
  const spec = (gpuId: number) => workerSpec(model, processes(), o.config, gpuId, o.cpus, own());
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
