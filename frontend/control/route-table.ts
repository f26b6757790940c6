// The routing table the controller publishes: per model, its limits and the loaded workers the fronts
// may send to, built from the registry's snapshots.
import type { ModelRoute, RouteTable, WorkerRoute } from '../../protocol/routes.js';
import type { WorkerView } from './workers/worker-pool.js';
import type { ServerConfig } from '../config/server-config.js';
import { loadsOnDemand, type Model } from './registry/model-registry.js';
import { describeExit } from './workers/exit-info.js';

/** The ready workers by process: the slots of a shared process become one route that counts them. */
function processes(workers: WorkerView[]): WorkerRoute[] {
  const out = new Map<string, WorkerRoute>();
  for (const w of workers) {
    if (w.state !== 'READY' || !w.socketPath || w.pid === undefined) continue;
    const route = out.get(w.hostId);
    if (route) route.slots++;
    else out.set(w.hostId, { id: w.hostId, pid: w.pid, socketPath: w.socketPath, slots: 1 });
  }
  return [...out.values()];
}

export function buildRouteTable(
  version: number,
  models: Model[],
  startupModels: string[],
  config: ServerConfig,
  isDefault: (m: Model) => boolean,
): RouteTable {
  const route = (m: Model): ModelRoute => {
    const pool = m.pool.snapshot();
    return {
      key: m.key,
      name: m.name,
      version: m.version,
      isDefault: isDefault(m),
      queueSize: config.jobQueueSize,
      batchSize: m.batchSize,
      responseTimeoutMs: m.responseTimeout * 1000,
      retryOnWorkerDeath: m.retryOnWorkerDeath,
      workers: processes(pool.workers),
      minWorkers: Math.min(pool.minWorkers, pool.target), // a model scaled to 0 on purpose is not unhealthy
      starting: pool.starting,
      healthy: pool.healthy && !pool.failed,
      onDemand: loadsOnDemand(m),
      failed: pool.failed,
      refusal: pool.failed
        ? `its workers failed again and again, restarts stopped (crash_loop_max_restarts); last: ${pool.lastExit ? describeExit(pool.lastExit) : 'no exit status'}. Scale it to try again.`
        : pool.target === 0 ? m.loadError : undefined,
      platform: m.runtime === 'onnx' ? 'onnxruntime_onnx' : m.runtime,
      handler: m.handler,
      openInference: m.runtime === 'onnx' && m.handler === 'onnx',
      ...(pool.metadata ? { metadata: pool.metadata } : {}),
      ...(m.content ? { content: m.content.hash } : {}),
      ...(m.responseCache ? { cache: { maxBytes: m.responseCache.sizeBytes, ttlMs: m.responseCache.ttlSeconds * 1000 } } : {}),
    };
  };
  return { version, startupModels, models: models.flatMap((m) => (m.stages ? pipelineRoutes(m, route(m), route) : [route(m)])) };
}

/**
 * A pipeline: its own entry (no workers; healthy when every stage is, starting while one is) and one
 * hidden entry per stage, which the front sends the stage's items to.
 */
function pipelineRoutes(m: Model, own: ModelRoute, route: (m: Model) => ModelRoute): ModelRoute[] {
  const stages = m.stages!.map((s) => ({ ...route(s), hidden: true, isDefault: false }));
  const [first, last] = [stages[0], stages[stages.length - 1]];
  const gather = m.stages![m.stages!.length - 1].stage!.gather === true;
  // An ONNX chain takes the Open Inference Protocol: v2 tensors into its first stage, the last
  // stage's v2 answer back (docs/pipelines.md, "An ONNX chain without code").
  const openInference = first.openInference && last.openInference && !gather && stages.every((s, i) => i === 0 || m.stages![i].stage!.map);
  const pipeline: ModelRoute = {
    ...own,
    healthy: stages.every((s) => s.healthy),
    starting: stages.some((s) => s.starting),
    failed: stages.some((s) => s.failed),
    refusal: stages.find((s) => s.refusal)?.refusal,
    openInference,
    pipeline: {
      stages: m.stages!.map((s) => ({ key: s.key, ...(s.stage!.map ? { map: s.stage!.map } : {}) })),
      gather,
      ready: stages.every((s) => s.workers.length > 0),
    },
  };
  delete pipeline.metadata;
  if (openInference && first.metadata && last.metadata) pipeline.metadata = { inputs: first.metadata.inputs, outputs: last.metadata.outputs };
  return [pipeline, ...stages];
}
