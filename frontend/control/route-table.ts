// The routing table the controller publishes: per model, its limits and the loaded workers the fronts
// may send to, built from the registry's snapshots.
import type { RouteTable } from '../../protocol/routes.js';
import type { ServerConfig } from '../config/server-config.js';
import type { Model } from './registry/model-registry.js';

export function buildRouteTable(version: number, models: Model[], startupModels: string[], config: ServerConfig): RouteTable {
  return {
    version,
    startupModels,
    models: models.map((m) => {
      const pool = m.pool.snapshot();
      return {
        name: m.name,
        version: m.version,
        queueSize: config.jobQueueSize,
        batchSize: m.batchSize,
        responseTimeoutMs: m.responseTimeout * 1000,
        retryOnWorkerDeath: m.retryOnWorkerDeath,
        workers: pool.workers
          .filter((w) => w.state === 'READY' && w.socketPath && w.pid !== undefined)
          .map((w) => ({ id: w.id, pid: w.pid!, socketPath: w.socketPath! })),
        minWorkers: pool.minWorkers,
        starting: pool.starting,
        healthy: pool.healthy,
        platform: m.runtime === 'onnx' ? 'onnxruntime_onnx' : m.runtime,
        openInference: m.runtime === 'onnx' && m.handler === 'onnx',
        ...(pool.metadata ? { metadata: pool.metadata } : {}),
      };
    }),
  };
}
