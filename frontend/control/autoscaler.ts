// Autoscaling inside one server (docs/architecture.md, Autoscaling): every autoscale_interval_ms the
// controller drains each front's record of queue waits and busy time (inference/model-load.ts) and,
// per model, keeps a sliding window of them. A model grows by one worker when the window's queue-wait
// percentile reaches autoscale_up_wait_ms, shrinks by one when it is at most autoscale_down_wait_ms
// and the others would stay under autoscale_down_utilisation (the gap between the two is the
// hysteresis), returns to min_worker after autoscale_idle_ms without a request, and to 0 after its own
// idle timeout. After any decision a model waits autoscale_cooldown_ms and its window starts afresh,
// so the next decision sees the new worker count. Growth goes through the memory budget.
import type { AutoscaleConfig } from '../config/server-config.js';
import type { Logger } from '../logging/logger.js';
import type { LoadMap } from '../inference/model-load.js';
import type { UsageMap } from '../inference/model-usage.js';
import type { PoolSnapshot } from './workers/worker-pool.js';
import { ServerError } from '../errors.js';

export interface ScaledModel {
  name: string;
  /** The version's key (model-key.ts): loads, usage and resizes are per version. */
  key: string;
  registeredAt: number;
  /** 0: never scaled to 0 for idleness. */
  idleTimeoutMs: number;
  pool: { snapshot(): PoolSnapshot };
}

export type Direction = 'up' | 'down' | 'hold';

export interface AutoscalerOptions {
  config: AutoscaleConfig;
  log: Logger;
  models: () => ScaledModel[];
  /** Sets a model's workers (through the memory budget when growing). */
  resize: (name: string, n: number) => Promise<void>;
  load: () => Promise<LoadMap>;
  usage: () => Promise<UsageMap>;
  /** Every decision, for the metrics. */
  decided: (model: string, direction: Direction, reason: string) => void;
}

interface Chunk {
  t: number;
  waits: number[];
  busyMs: number;
}

interface Window {
  chunks: Chunk[];
  /** Observation started (registration or the last decision). */
  since: number;
  lastDecision: number;
}

export interface Decision {
  to: number;
  direction: Direction;
  reason: string;
  waitMs?: number;
  utilisation?: number;
}

/** The p-th percentile (nearest rank) of `values`. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

export class Autoscaler {
  private timer?: NodeJS.Timeout;
  private busy = false;
  private readonly windows = new Map<string, Window>();
  /** Per model, the window's queue-wait percentile (ms) and utilisation (0..1) as last computed (metrics). */
  readonly observed = new Map<string, { waitMs: number; utilisation: number }>();

  constructor(private readonly o: AutoscalerOptions) {}

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.o.config.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** One round: drain the fronts' records, then decide per model. */
  async tick(now = Date.now()): Promise<void> {
    if (this.busy) return; // a resize still under way: the next round sees its outcome
    this.busy = true;
    try {
      const [load, usage] = await Promise.all([this.o.load(), this.o.usage()]);
      const models = this.o.models();
      for (const key of this.windows.keys()) {
        if (models.some((m) => m.key === key)) continue;
        this.windows.delete(key);
        this.observed.delete(key);
      }
      const moves: Array<Promise<void>> = [];
      for (const m of models) {
        const w = this.window(m, now);
        const l = load[m.key];
        if (l && (l.waits.length || l.busyMs)) w.chunks.push({ t: now, waits: l.waits, busyMs: l.busyMs });
        while (w.chunks.length && w.chunks[0].t <= now - this.o.config.windowMs) w.chunks.shift();
        const d = this.decide(m, w, usage[m.key], now);
        if (d) moves.push(this.apply(m, w, d, now));
      }
      await Promise.all(moves);
    } catch (err) {
      this.o.log.warn({ err: (err as Error).message }, 'autoscale round failed');
    } finally {
      this.busy = false;
    }
  }

  private window(m: ScaledModel, now: number): Window {
    let w = this.windows.get(m.key);
    if (!w) this.windows.set(m.key, (w = { chunks: [], since: now, lastDecision: 0 }));
    return w;
  }

  decide(m: ScaledModel, w: Window, u: UsageMap[string] | undefined, now: number): Decision | undefined {
    const c = this.o.config;
    const s = m.pool.snapshot();
    if (s.failed || s.starting || s.target === 0) return undefined; // 0: an on-demand load brings it back
    const waits = w.chunks.flatMap((k) => k.waits);
    const observedMs = Math.max(1, Math.min(c.windowMs, now - w.since));
    const utilisation = w.chunks.reduce((a, k) => a + k.busyMs, 0) / (observedMs * s.target);
    const waitMs = percentile(waits, c.percentile);
    this.observed.set(m.key, { waitMs, utilisation });
    const inFlight = u?.inFlight ?? 0;
    const quietMs = inFlight > 0 ? 0 : now - Math.max(m.registeredAt, u?.lastUsed ?? 0, w.lastDecision, s.lastStartedAt);
    if (m.idleTimeoutMs > 0 && quietMs >= m.idleTimeoutMs) return { to: 0, direction: 'down', reason: 'idle_timeout' };
    if (now - w.lastDecision < c.cooldownMs) return undefined;
    if (s.target > s.minWorkers && quietMs >= c.idleMs) return { to: s.minWorkers, direction: 'down', reason: 'idle' };
    const enough = waits.length >= c.minSamples;
    if (enough && waitMs >= c.upWaitMs && s.target < s.maxWorkers) {
      return { to: s.target + 1, direction: 'up', reason: 'queue_wait', waitMs, utilisation };
    }
    // Down only on a full window (or enough samples), when the workers left would still not be busy.
    const seen = enough || now - w.since >= c.windowMs;
    const after = s.target > 1 ? (utilisation * s.target) / (s.target - 1) : Infinity;
    if (seen && s.target > s.minWorkers && waitMs <= c.downWaitMs && after < c.downUtilisation / 100) {
      return { to: s.target - 1, direction: 'down', reason: 'low_utilisation', waitMs, utilisation };
    }
    return undefined;
  }

  private async apply(m: ScaledModel, w: Window, d: Decision, now: number): Promise<void> {
    const from = m.pool.snapshot().target;
    w.lastDecision = now;
    w.since = now;
    w.chunks = [];
    const fields = { model: m.name, from, to: d.to, reason: d.reason, queueWaitMs: d.waitMs, utilisation: d.utilisation };
    try {
      await this.o.resize(m.key, d.to);
      this.o.decided(m.name, d.direction, d.reason);
      this.o.log.info(fields, `autoscale: ${d.direction} to ${d.to} workers (${d.reason})`);
    } catch (err) {
      const budget = err instanceof ServerError && err.code === 'MEMORY_BUDGET_EXCEEDED';
      this.o.decided(m.name, 'hold', budget ? 'memory_budget' : 'start_failed');
      this.o.log.warn({ ...fields, err: (err as Error).message }, `autoscale: ${d.direction} to ${d.to} workers not done`);
    }
  }
}
