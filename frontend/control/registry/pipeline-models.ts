// A pipeline model's stages as the registry keeps them (docs/pipelines.md): each stage is a model of
// its own (settings, worker pool, routing-table entry) under the key `<model key>#<stage>`, which no
// model name or version can hold, so it is never reachable or listed as a model.
import { DEFAULT_MODEL_FILE, type Manifest } from '../../../protocol/manifest.js';
import { STAGE_SEPARATOR, stageKey, stageRuntime, type PipelineStage } from '../../../protocol/pipeline.js';
import { MAX_TIMER_MS } from '../../config/keys.js';
import { EXECUTION_PROVIDERS, type ExecutionProvider } from '../../config/server-config.js';
import { badRequest, invalidModel, modelNotFound } from '../../errors.js';
import type { Model } from './model-registry.js';
import type { BudgetedModel } from './memory-budget.js';
import type { UsageMap } from '../../inference/model-usage.js';
import { realPathInside } from '../archive/model-links.js';
import { checkHandlerFile } from './model-files.js';
import { checkWorkerCount, MAX_BATCH_SIZE, type ModelSettings } from './model-settings.js';

/** The stage's settings: the pipeline's, with the stage's handler, batching and provider. */
export function stageSettings(pipeline: ModelSettings, s: PipelineStage): ModelSettings {
  const batchSize = Math.max(1, s.batchSize ?? 1);
  if (batchSize > MAX_BATCH_SIZE) throw invalidModel(`Pipeline stage ${s.name}: batchSize must be at most ${MAX_BATCH_SIZE}.`);
  const maxBatchDelay = s.maxBatchDelay ?? pipeline.maxBatchDelay;
  if (maxBatchDelay > MAX_TIMER_MS) throw invalidModel(`Pipeline stage ${s.name}: maxBatchDelay must be at most ${MAX_TIMER_MS}.`);
  const provider = s.executionProvider ?? pipeline.executionProvider;
  if (!(EXECUTION_PROVIDERS as readonly string[]).includes(provider)) {
    throw invalidModel(`Pipeline stage ${s.name}: executionProvider must be one of ${EXECUTION_PROVIDERS.join(', ')}, got "${provider}".`);
  }
  return {
    ...pipeline,
    name: `${pipeline.name}${STAGE_SEPARATOR}${s.name}`,
    runtime: stageRuntime(s),
    handler: s.handler ?? 'onnx',
    batchSize,
    maxBatchDelay,
    executionProvider: provider as ExecutionProvider,
    // Each stage shares its GPU's process (preload_model), loads on its first item and goes idle on
    // its own (load_on_first_request, model_idle_timeout), as a model does; the pipeline caches answers.
    responseCache: undefined,
  };
}

/** A stage's workers at registration: its own minWorkers/maxWorkers, else the registration's initial workers. */
export function stageWorkers(s: PipelineStage, initial: number): { min: number; max: number } {
  const min = s.minWorkers ?? initial;
  const max = Math.max(min, s.maxWorkers ?? min);
  checkWorkerCount(`stage ${s.name} minWorkers`, min);
  checkWorkerCount(`stage ${s.name} maxWorkers`, max);
  return { min, max };
}

/**
 * Every stage's handler file (runtime node) is in the archive, and so is the model file of every other
 * stage that names one or runs the built-in v2 handler (which needs one): a built-in handler joins it to
 * the model directory, so a `../` or absolute path would read outside the archive.
 */
export async function checkStageFiles(modelDir: string, manifest: Manifest, stages: PipelineStage[]): Promise<void> {
  for (const s of stages) {
    if (stageRuntime(s) === 'node') await checkHandlerFile(modelDir, s.handler!);
    else if (s.modelFile !== undefined || (s.handler ?? 'onnx') === 'onnx' || s.handler === 'tensor') {
      await realPathInside(modelDir, s.modelFile ?? manifest.model.modelFile ?? DEFAULT_MODEL_FILE, `Model file of stage ${s.name}`);
    }
  }
}

/** A model made from `stageSettings` as the pipeline's stage `s`: keyed `<pipeline key>#<stage>`. */
export function asStage(stage: Model, pipeline: Model, s: PipelineStage): Model {
  stage.key = stageKey(pipeline.key, s.name);
  stage.stage = s;
  stage.pipeline = pipeline;
  return stage;
}

/** The pipeline's stage by name (404 when it has none of that name; 400 when the model is no pipeline). */
export function stageOf(model: Model, name: string): Model {
  const s = model.stages?.find((x) => x.stage!.name === name);
  if (s) return s;
  throw model.stages ? modelNotFound(`Model ${model.name} has no stage "${name}".`) : badRequest(`Model ${model.name} is not a pipeline: it has no stages to scale.`);
}

/**
 * What the memory budget counts of a model: a pipeline's workers are its stages' (its own pool has
 * none), so an idle pipeline is unloaded as a whole and a registration reserves every stage's workers.
 */
export function budgeted(model: Model): BudgetedModel {
  const stages = model.stages;
  const pool = stages
    ? { snapshot: () => ({ ...model.pool.snapshot(), workers: stages.flatMap((s) => s.pool.snapshot().workers) }) }
    : model.pool;
  return { name: model.key, url: model.url, registeredAt: model.registeredAt, pool };
}

/** The fronts' usage per key, each pipeline's added as its stages' together (requests in flight, last use). */
export function withPipelineUsage(models: Model[], usage: UsageMap): UsageMap {
  const out = { ...usage };
  for (const m of models) {
    if (!m.stages) continue;
    const parts = m.stages.map((s) => usage[s.key]).filter((u) => u !== undefined);
    if (parts.length) out[m.key] = { inFlight: parts.reduce((a, u) => a + u.inFlight, 0), lastUsed: Math.max(...parts.map((u) => u.lastUsed)) };
  }
  return out;
}
