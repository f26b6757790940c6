// Prometheus metrics with prom-client, on a registry of our own (no global state): request counts and
// latencies from the HTTP layer, queue wait, inference time and batch sizes from the pools, and
// gauges (queue depth, workers by state, worker RSS) read from the registry when scraped.
import client from 'prom-client';
import type { ModelRegistry } from '../registry/model-registry.js';
import type { PoolObserver } from '../scheduling/worker-pool.js';
import { readWorkerMemory } from '../scheduling/worker-memory.js';

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export class ServerMetrics {
  readonly registry = new client.Registry();
  private readonly requests = new client.Counter({
    name: 'mms_requests_total',
    help: 'Inference requests answered, by model and HTTP status',
    labelNames: ['model', 'status'],
    registers: [this.registry],
  });
  private readonly total = this.perModelHistogram('mms_request_duration_seconds', 'Inference request latency from arrival to response, in seconds');
  private readonly queueWait = this.perModelHistogram('mms_queue_wait_seconds', 'Time a request waited in its model queue before its batch was sent');
  private readonly inference = this.perModelHistogram('mms_inference_duration_seconds', 'Time from sending a batch to a worker to its reply');
  private readonly batchSize = this.perModelHistogram('mms_batch_size', 'Requests per batch sent to a worker', [1, 2, 4, 8, 16, 32, 64, 128]);
  private readonly restarts = new client.Counter({
    name: 'mms_worker_restarts_total',
    help: 'Worker restarts after a crash, timeout or failed start',
    labelNames: ['model'],
    registers: [this.registry],
  });

  constructor(models: () => ModelRegistry | undefined) {
    client.collectDefaultMetrics({ register: this.registry, prefix: 'mms_frontend_' });
    new client.Gauge({
      name: 'mms_queue_depth',
      help: 'Requests waiting in a model queue',
      labelNames: ['model'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const m of models()?.list() ?? []) this.set({ model: m.name }, m.pool.queue.length);
      },
    });
    new client.Gauge({
      name: 'mms_workers',
      help: 'Workers by model and state',
      labelNames: ['model', 'state'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const m of models()?.list() ?? []) {
          for (const w of m.pool.workers) this.inc({ model: m.name, state: w.state });
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
        for (const m of models()?.list() ?? []) {
          const workers = [...m.pool.workers]; // the pool may change while /proc is read
          const rss = await readWorkerMemory(workers.map((w) => w.pid));
          workers.forEach((w, i) => this.set({ model: m.name, worker: w.id }, rss[i]));
        }
      },
    });
  }

  private perModelHistogram(name: string, help: string, buckets = LATENCY_BUCKETS): client.Histogram<'model'> {
    return new client.Histogram({ name, help, labelNames: ['model'], buckets, registers: [this.registry] });
  }

  observer(model: string): PoolObserver {
    return {
      batch: (size, waits, inferenceMs) => {
        this.batchSize.observe({ model }, size);
        this.inference.observe({ model }, inferenceMs / 1000);
        for (const w of waits) this.queueWait.observe({ model }, w / 1000);
      },
      restart: () => this.restarts.inc({ model }),
    };
  }

  request(model: string, status: number, seconds: number): void {
    this.requests.inc({ model, status: String(status) });
    this.total.observe({ model }, seconds);
  }
}
