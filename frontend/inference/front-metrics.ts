// A front's metrics, on a prom-client registry of its own: requests and latencies from the HTTP
// layer, and queue wait, inference time and batch sizes as the workers report them in replies. The
// controller merges every front's registry with its own into one /metrics.
import client from 'prom-client';
import { parseBatchMessage } from '../../protocol/batch-stats.js';

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export interface RequestMetrics {
  request(model: string, status: number, seconds: number): void;
}

export class FrontMetrics implements RequestMetrics {
  readonly registry = new client.Registry();
  private readonly requests = new client.Counter({
    name: 'mms_requests_total',
    help: 'Inference requests answered, by model and HTTP status',
    labelNames: ['model', 'status'],
    registers: [this.registry],
  });
  private readonly perFront = new client.Counter({
    name: 'mms_front_requests_total',
    help: 'Inference requests answered, by inference front',
    labelNames: ['front'],
    registers: [this.registry],
  });
  private readonly cacheHits = new client.Counter({
    name: 'mms_cache_hits_total',
    help: "Inference requests answered from the model's response cache",
    labelNames: ['model'],
    registers: [this.registry],
  });
  private readonly cacheMisses = new client.Counter({
    name: 'mms_cache_misses_total',
    help: "Inference requests of a model with a response cache that its cache could not answer",
    labelNames: ['model'],
    registers: [this.registry],
  });
  private readonly total = this.histogram('mms_request_duration_seconds', 'Inference request latency from arrival to response, in seconds');
  private readonly queueWait = this.histogram('mms_queue_wait_seconds', "Time a request waited in its worker's queue before its batch ran");
  private readonly inference = this.histogram('mms_inference_duration_seconds', 'Run time of each batch a worker ran');
  private readonly batchSize = this.histogram('mms_batch_size', 'Requests per batch run by a worker', [1, 2, 4, 8, 16, 32, 64, 128]);
  private readonly sessionCpu = new client.Counter({
    name: 'mms_session_cpu_seconds_total',
    help: "CPU time inside onnxruntime's session.run, all threads, as the workers report it per batch",
    labelNames: ['model'],
    registers: [this.registry],
  });
  private readonly front: string;

  constructor(index: number) {
    this.front = String(index);
    client.collectDefaultMetrics({ register: this.registry, prefix: 'mms_front_' });
  }

  /** The requests each model holds in this front (admitted, not yet answered). */
  pending(read: () => Array<[string, number]>): void {
    new client.Gauge({
      name: 'mms_queue_depth',
      help: 'Requests admitted for a model and not yet answered',
      labelNames: ['model'],
      registers: [this.registry],
      aggregator: 'sum',
      collect() {
        this.reset();
        for (const [model, n] of read()) this.set({ model }, n);
      },
    });
  }

  request(model: string, status: number, seconds: number): void {
    this.requests.inc({ model, status: String(status) });
    this.perFront.inc({ front: this.front });
    this.total.observe({ model }, seconds);
  }

  /** A lookup in a model's response cache. */
  cacheLookup(model: string, hit: boolean): void {
    (hit ? this.cacheHits : this.cacheMisses).inc({ model });
  }

  /** A worker's reply frame message: the batch that carried the request. */
  reply(model: string, message: string): void {
    const s = parseBatchMessage(message);
    if (!s) return;
    this.queueWait.observe({ model }, s.waitMs / 1000);
    if (!s.first) return; // a batch is counted once, by the reply of its first frame
    this.inference.observe({ model }, s.runMs / 1000);
    this.batchSize.observe({ model }, s.size);
    if (s.sessionCpuUs !== undefined) this.sessionCpu.inc({ model }, s.sessionCpuUs / 1e6);
  }

  private histogram(name: string, help: string, buckets = LATENCY_BUCKETS): client.Histogram<'model'> {
    return new client.Histogram({ name, help, labelNames: ['model'], buckets, registers: [this.registry] });
  }
}
