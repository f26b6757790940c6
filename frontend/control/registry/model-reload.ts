// One hot reload (docs/configuration.md, Hot reload): the model's new content is registered beside the
// old one with as many workers as the old one has now; once they are all loaded the registry points
// the model's key at them and publishes the routing table, which every front acknowledges only after
// its requests to the old workers are answered; then the old workers stop. A load that fails leaves
// the old version serving and nothing of the new one behind. A pipeline's workers are its stages':
// each new stage follows the old stage of its name.
import { MAX_TIMER_MS } from '../../config/keys.js';
import type { ModelRegistry, Model } from './model-registry.js';
import type { ModelContent } from './model-content.js';

export interface ReloadOptions {
  /** How long starting the new workers may take (ms). */
  startMs: number;
  /** The new version, once it exists and before any of its workers starts (closing the server stops it). */
  loading?: (next: Model) => void;
}

/** Resolves with the new version once it serves, or undefined when `old` was unregistered meanwhile. */
export async function reloadModel(registry: ModelRegistry, old: Model, content: ModelContent, o: ReloadOptions): Promise<Model | undefined> {
  const next = await registry.loadContent(old, content);
  o.loading?.(next);
  const discard = async () => {
    await closePools(next);
    await next.cleanup();
  };
  // Requests between two stages name the next stage by its key: a new stage list would leave them
  // nowhere to go, so changing the stages takes a new registration, not a reload.
  const [was, is] = [stageNames(old), stageNames(next)];
  if (was !== is) {
    await discard();
    throw new Error(`its stages changed (${was || 'none'} → ${is || 'none'}); register it again to change its stages`);
  }
  const startMs = Math.min(MAX_TIMER_MS, o.startMs);
  try {
    for (const [from, to] of counterparts(old, next)) await follow(from, to, startMs);
    // A scale or autoscaler move on the old version while the new one loaded: follow it once more.
    for (const [from, to] of counterparts(old, next)) {
      await follow(from, to, startMs);
      if (to.pool.running < to.pool.target) throw new Error(`${to.pool.running} of ${to.pool.target} workers of ${to.key} loaded`);
    }
  } catch (err) {
    await discard();
    throw err;
  }
  next.content = { ...content, loadedAt: new Date() };
  if (!(await registry.replace(old, next))) {
    await discard();
    return undefined;
  }
  await closePools(old);
  await old.cleanup();
  return next;
}

/** A model's stage names in order ('' for a plain model). */
const stageNames = (m: Model): string => (m.stages ?? []).map((s) => s.stage!.name).join(', ');

/** Each model with workers of the new version (itself, or its stages) and the old one whose counts it takes. */
function counterparts(old: Model, next: Model): Array<[Model, Model]> {
  const olds = old.stages ?? [old];
  if (!next.stages) return [[olds[0], next]];
  return next.stages.map((s, i) => [olds.find((o) => o.stage?.name === s.stage?.name) ?? olds[Math.min(i, olds.length - 1)], s]);
}

/** Stops every worker of a model (a pipeline's: its stages'). */
export async function closePools(m: Model): Promise<void> {
  await Promise.all([m.pool, ...(m.stages ?? []).map((s) => s.pool)].map((p) => p.close()));
}

/** The new version's limits and worker count as the old one's are now (0 for one unloaded until its next request). */
async function follow(old: Model, next: Model, startMs: number): Promise<void> {
  next.pool.limits(old.pool.minWorkers, old.pool.maxWorkers);
  if (next.pool.target !== old.pool.target) await next.pool.resize(old.pool.target, startMs);
}
