// One hot reload (docs/configuration.md, Hot reload): the model's new content is registered beside the
// old one with as many workers as the old one has now; once they are all loaded the registry points
// the model's key at them and publishes the routing table, which every front acknowledges only after
// its requests to the old workers are answered; then the old workers stop. A load that fails leaves
// the old version serving and nothing of the new one behind.
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
    await next.pool.close();
    await next.cleanup();
  };
  try {
    await follow(old, next, Math.min(MAX_TIMER_MS, o.startMs));
    // A scale or autoscaler move on the old version while the new one loaded: follow it once more.
    await follow(old, next, Math.min(MAX_TIMER_MS, o.startMs));
    if (next.pool.running < next.pool.target) throw new Error(`${next.pool.running} of ${next.pool.target} workers loaded`);
  } catch (err) {
    await discard();
    throw err;
  }
  next.content = { ...content, loadedAt: new Date() };
  if (!(await registry.replace(old, next))) {
    await discard();
    return undefined;
  }
  await old.pool.close();
  await old.cleanup();
  return next;
}

/** The new version's limits and worker count as the old one's are now (0 for one unloaded until its next request). */
async function follow(old: Model, next: Model, startMs: number): Promise<void> {
  next.pool.limits(old.pool.minWorkers, old.pool.maxWorkers);
  if (next.pool.target !== old.pool.target) await next.pool.resize(old.pool.target, startMs);
}
