// The controller's Prometheus metrics, on a prom-client registry of its own (no global state): worker
// restarts, workers by state and worker RSS, read from the registry when scraped. Request, queue and
// batch metrics live in the fronts (inference/front-metrics.ts); `render` merges them all into the
// one /metrics text.
import client from 'prom-client';
import type { PoolObserver, PoolSnapshot } from './workers/worker-pool.js';
import { readWorkerMemory } from './workers/worker-memory.js';
import { Gpus } from './gpus/gpus.js';
import { nameOfKey } from './registry/model-key.js';

export class ServerMetrics {
  readonly registry = new client.Registry();
  private readonly restarts = new client.Counter({
    name: 'mms_worker_restarts_total',
    help: 'Worker restarts after a crash, timeout or failed start',
    labelNames: ['model'],
    registers: [this.registry],
  });

  private readonly decisions = new client.Counter({
    name: 'mms_autoscale_decisions_total',
    help: 'Autoscaling decisions by model, direction (up, down, hold: wanted but not done) and reason',
    labelNames: ['model', 'direction', 'reason'],
    registers: [this.registry],
  });

  private readonly evictions = new client.Counter({
    name: 'mms_model_evictions_total',
    help: 'Idle models unloaded to make room for a load within model_memory_budget',
    labelNames: ['model'],
    registers: [this.registry],
  });

  /** `models`: the registered models' names and pool snapshots, read when scraped; `budget`: model_memory_budget and its use; `gpus`: read too. */
  constructor(
    models: () => Iterable<{ name: string; pool: { snapshot(): PoolSnapshot } }>,
    budget: () => { bytes: number; used(): Promise<number> },
    gpus: Gpus = new Gpus(),
  ) {
    client.collectDefaultMetrics({ register: this.registry, prefix: 'mms_frontend_' });
    new client.Gauge({
      name: 'mms_memory_budget_bytes',
      help: 'model_memory_budget: resident memory all models\' workers may hold together',
      registers: [this.registry],
      collect() {
        this.set(budget().bytes);
      },
    });
    new client.Gauge({
      name: 'mms_models_memory_bytes',
      help: 'Resident memory the models\' workers hold (what counts against model_memory_budget)',
      registers: [this.registry],
      async collect() {
        this.set(await budget().used());
      },
    });
    new client.Gauge({
      name: 'mms_autoscale_target_workers',
      help: 'Workers each model keeps now (between min_worker and max_worker; 0 when unloaded until its next request)',
      labelNames: ['model'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const m of models()) this.set({ model: m.name }, m.pool.snapshot().target);
      },
    });
    new client.Gauge({
      name: 'mms_workers',
      help: 'Workers by model and state',
      labelNames: ['model', 'state'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const m of models()) {
          for (const w of m.pool.snapshot().workers) this.inc({ model: m.name, state: w.state });
        }
      },
    });
    new client.Gauge({
      name: 'mms_worker_rss_bytes',
      help: 'Resident memory of each worker process',
      labelNames: ['model', 'worker'],
      registers: [this.registry],
      async collect() {
        this.reset();
        for (const m of models()) {
          const workers = m.pool.snapshot().workers;
          const rss = await readWorkerMemory(workers.map((w) => w.pid));
          workers.forEach((w, i) => this.set({ model: m.name, worker: w.id }, rss[i]));
        }
      },
    });
    if (gpus.list.length) gpuGauges(this.registry, gpus);
  }

  evicted(model: string): void {
    this.evictions.inc({ model });
  }

  autoscaled(model: string, direction: string, reason: string): void {
    this.decisions.inc({ model, direction, reason });
  }

  /** The autoscaler's view of each model: its window's queue-wait percentile and utilisation. */
  autoscaler(observed: () => Map<string, { waitMs: number; utilisation: number }>): void {
    new client.Gauge({
      name: 'mms_autoscale_queue_wait_seconds',
      help: "The autoscaler's queue-wait percentile (autoscale_percentile) over its window, per model",
      labelNames: ['model'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [key, o] of observed()) this.set({ model: nameOfKey(key) }, o.waitMs / 1000); // per name, as every metric
      },
    });
    new client.Gauge({
      name: 'mms_autoscale_utilisation_ratio',
      help: "Share of the autoscaler's window the model's workers spent running batches (0-1 per worker, averaged)",
      labelNames: ['model'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [key, o] of observed()) this.set({ model: nameOfKey(key) }, o.utilisation);
      },
    });
  }

  observer(model: string): PoolObserver {
    return { restart: () => this.restarts.inc({ model }) };
  }

  /** The exposition text of this registry merged with the fronts' (prom-client JSON each). */
  async render(fronts: unknown[][]): Promise<string> {
    const own = await this.registry.getMetricsAsJSON();
    if (fronts.length === 0) return this.registry.metrics();
    return client.AggregatorRegistry.aggregate([own, ...fronts] as Array<typeof own>).metrics();
  }
}

/** GPU memory and utilisation per GPU, from one nvidia-smi reading per scrape (docs/gpu.md, Metrics). */
function gpuGauges(registry: client.Registry, gpus: Gpus): void {
  const MIB = 1024 * 1024;
  const gauge = (name: string, help: string, value: (g: Awaited<ReturnType<Gpus['read']>>['gpus'][number]) => number | undefined) =>
    new client.Gauge({
      name,
      help,
      labelNames: ['gpu', 'name'],
      registers: [registry],
      async collect() {
        this.reset();
        for (const g of (await gpus.read()).gpus) {
          const v = value(g);
          if (v !== undefined) this.set({ gpu: String(g.deviceId), name: g.name }, v);
        }
      },
    });
  gauge('mms_gpu_memory_used_bytes', 'GPU memory in use, by every process on the GPU', (g) => g.memoryUsedMiB * MIB);
  gauge('mms_gpu_memory_total_bytes', 'GPU memory', (g) => g.memoryTotalMiB * MIB);
  gauge('mms_gpu_utilization_ratio', 'Share of the last sample period a kernel ran on the GPU (0-1)', (g) => (g.utilization === undefined ? undefined : g.utilization / 100));
}
