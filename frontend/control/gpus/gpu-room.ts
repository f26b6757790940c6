// Room on the GPUs for more workers of a model, before the autoscaler or an on-demand load starts them.
import { memoryBudgetExceeded } from '../../errors.js';
import type { WorkerPool } from '../workers/worker-pool.js';
import type { Gpus } from './gpus.js';

export interface RoomModel {
  name: string;
  preload: boolean;
  pool: Pick<WorkerPool, 'snapshot'>;
}

/**
 * GPU memory for `add` more workers of a GPU model: each takes what its running workers take (from
 * nvidia-smi), and the round-robin may place it on any GPU, so the fullest one must have room. 507
 * otherwise; nothing measured (no GPU, no reading, shared processes) lets it through.
 */
export async function checkGpuRoom(gpus: Gpus, model: RoomModel, add: number): Promise<void> {
  const gpuWorkers = model.pool.snapshot().workers.filter((w) => w.gpuId >= 0 && w.pid !== undefined);
  if (model.preload || gpuWorkers.length === 0) return;
  const reading = await gpus.read();
  const perWorker = Math.max(0, ...gpuWorkers.map((w) => reading.processes.get(w.pid!) ?? 0));
  if (perWorker === 0 || reading.gpus.length === 0) return;
  const free = Math.min(...reading.gpus.map((g) => g.memoryTotalMiB - g.memoryUsedMiB));
  if (free >= perWorker * add) return;
  throw memoryBudgetExceeded(`Not enough GPU memory to add ${add} worker(s) to model ${model.name}: each takes about ${perWorker} MiB, and the fullest GPU has ${free} MiB free.`);
}
