// The live console's one data call (`GET /console/api/summary`, docs/api.md, "Console"): every model
// version as describe shows it, each model's request counters from the fronts' metrics, and memory
// per GPU. Counters stay cumulative (summed over the fronts): the page turns two samples into rates
// and interval latencies, so the server keeps no history for it.
import type { ModelRegistry } from './registry/model-registry.js';
import { describe } from './management-routes.js';

/** One model's cumulative request counters (by model name, as every metric is). */
export interface Traffic {
  requests: number;
  /** Requests answered with a status of 400 or above (499: the client went away). */
  errors: number;
  /** Arrival-to-response seconds: sum, count, and cumulative bucket counts as `[le, count]`. */
  latency: Histogram;
  /** Seconds in a worker's queue before the batch ran. */
  queueWait: Histogram;
  /** Requests admitted and not yet answered, now. */
  queueDepth: number;
}

export interface Histogram {
  sum: number;
  count: number;
  buckets: Array<[number, number]>;
}

export interface ConsoleSummary {
  /** Epoch ms of this sample. */
  time: number;
  models: Array<Record<string, unknown>>;
  traffic: Record<string, Traffic>;
  gpus: Array<{ id: number; name: string; memoryUsedBytes: number; memoryTotalBytes: number; utilization?: number }>;
}

/** prom-client's getMetricsAsJSON() entries, as far as the console reads them. */
interface MetricJson {
  name: string;
  values: Array<{ value: number; metricName?: string; labels: Record<string, string | number> }>;
}

const MIB = 1024 * 1024;

/** `frontMetrics`: each front's registry as JSON (none when nobody serves inference yet). */
export async function consoleSummary(registry: ModelRegistry, frontMetrics: () => Promise<unknown[][]>): Promise<ConsoleSummary> {
  const [models, fronts, gpu] = await Promise.all([
    Promise.all(registry.list().map((m) => describe(registry, m))),
    frontMetrics(),
    registry.gpus.read(),
  ]);
  return {
    time: Date.now(),
    models,
    traffic: traffic(fronts),
    gpus: gpu.gpus.map((g) => ({
      id: g.deviceId,
      name: g.name,
      memoryUsedBytes: g.memoryUsedMiB * MIB,
      memoryTotalBytes: g.memoryTotalMiB * MIB,
      ...(g.utilization !== undefined ? { utilization: g.utilization / 100 } : {}),
    })),
  };
}

/** Sums the request metrics of every front per model. */
export function traffic(fronts: unknown[][]): Record<string, Traffic> {
  // No prototype: a model may be named `toString` or `constructor`.
  const out: Record<string, Traffic> = Object.create(null) as Record<string, Traffic>;
  const of = (model: string): Traffic =>
    (out[model] ??= { requests: 0, errors: 0, latency: emptyHistogram(), queueWait: emptyHistogram(), queueDepth: 0 });
  for (const metric of fronts.flat() as MetricJson[]) {
    for (const v of metric.values ?? []) {
      const model = v.labels?.model;
      if (typeof model !== 'string') continue;
      switch (metric.name) {
        case 'mms_requests_total':
          of(model).requests += v.value;
          if (Number(v.labels.status) >= 400) of(model).errors += v.value;
          break;
        case 'mms_queue_depth':
          of(model).queueDepth += v.value;
          break;
        case 'mms_request_duration_seconds':
          addHistogram(of(model).latency, metric.name, v);
          break;
        case 'mms_queue_wait_seconds':
          addHistogram(of(model).queueWait, metric.name, v);
          break;
      }
    }
  }
  for (const t of Object.values(out)) for (const h of [t.latency, t.queueWait]) h.buckets.sort((a, b) => a[0] - b[0]);
  return out;
}

const emptyHistogram = (): Histogram => ({ sum: 0, count: 0, buckets: [] });

function addHistogram(h: Histogram, name: string, v: MetricJson['values'][number]): void {
  if (v.metricName === `${name}_sum`) h.sum += v.value;
  else if (v.metricName === `${name}_count`) h.count += v.value;
  else if (v.metricName === `${name}_bucket`) {
    const le = v.labels.le === '+Inf' ? Infinity : Number(v.labels.le);
    if (le === Infinity) return; // equals count; JSON has no Infinity
    const bucket = h.buckets.find((b) => b[0] === le);
    if (bucket) bucket[1] += v.value;
    else h.buckets.push([le, v.value]);
  }
}
