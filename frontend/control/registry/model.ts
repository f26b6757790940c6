// A registered model as the registry keeps it: its settings, where it came from, its workers, and for a
// pipeline its stages (docs/pipelines.md); and what the registry's operations answer.
import type { Manifest } from '../../../protocol/manifest.js';
import type { OutgoingItem } from '../../../protocol/messages.js';
import type { PipelineStage } from '../../../protocol/pipeline.js';
import type { WorkerPool } from '../workers/worker-pool.js';
import type { ModelContent } from './model-content.js';
import type { ModelSettings, RegisterParams } from './model-settings.js';

/**
 * A model at 0 workers that a request loads again: load_on_first_request, an idle timeout, or
 * autoscaling down to min_worker 0 below a max_worker above 0.
 */
export const loadsOnDemand = (m: Model): boolean =>
  m.lazy || m.idleTimeoutMs > 0 || (m.pool.minWorkers === 0 && m.pool.maxWorkers > 0);

export interface Model extends ModelSettings {
  /** The name, or `name/version` for a versioned model: unique, names the model to the fronts. */
  key: string;
  url: string;
  /** The registration as given (hot reload registers the new content with it). */
  params: RegisterParams;
  manifest: Manifest;
  modelDir: string;
  warmup?: OutgoingItem;
  pool: WorkerPool;
  cleanup: () => Promise<void>;
  /** Epoch ms; the memory budget's LRU order starts here. */
  registeredAt: number;
  /** With model_watch_interval, for a model from the store: what it was loaded from (model-content.ts). */
  content?: ModelContent;
  /** Why its last load on demand failed (its waiting requests get it as a 503), until the next try. */
  loadError?: string;
  /** A pipeline (docs/pipelines.md): its stages in order, each a model of its own; its own pool stays empty. */
  stages?: Model[];
  /** A pipeline's stage: the stage as the manifest lists it, and its pipeline. */
  stage?: PipelineStage;
  pipeline?: Model;
}

/** What an operation answers: an HTTP status and the `status` text (errors are thrown instead). */
export interface Outcome {
  code: number;
  status: string;
}

export interface RegisterOutcome extends Outcome {
  model: string;
}
