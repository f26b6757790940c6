// What the autoscaler needs to see of each model's load, recorded where the replies arrive (a front,
// or the controller serving inference itself): the queue wait of every answered request, as the
// worker reported it in the reply (protocol/batch-stats.ts), and the time its workers spent running
// batches. The controller drains it every autoscale_interval_ms over IPC (docs/architecture.md,
// Autoscaling); between drains it is bounded by a reservoir sample.
import { parseBatchMessage } from '../../protocol/batch-stats.js';

/** Wait samples kept per model between two drains: enough for a percentile, bounded in memory. */
const MAX_SAMPLES = 2000;

export interface LoadEntry {
  /** Queue waits (ms) of answered requests: all of them, or a uniform sample of MAX_SAMPLES. */
  waits: number[];
  /** Requests answered. */
  count: number;
  /** Sum of the run times of the batches these replies were the first of (ms). */
  busyMs: number;
}

export type LoadMap = Record<string, LoadEntry>;

export class ModelLoad {
  private models = new Map<string, LoadEntry>();

  /** A reply frame's message for `model`. */
  reply(model: string, message: string): void {
    const s = parseBatchMessage(message);
    if (!s) return;
    let e = this.models.get(model);
    if (!e) this.models.set(model, (e = { waits: [], count: 0, busyMs: 0 }));
    e.count++;
    if (e.waits.length < MAX_SAMPLES) e.waits.push(s.waitMs);
    else {
      const i = Math.floor(Math.random() * e.count); // reservoir: each reply kept with equal chance
      if (i < MAX_SAMPLES) e.waits[i] = s.waitMs;
    }
    if (s.first) e.busyMs += s.runMs;
  }

  /** What was recorded since the last drain; starts afresh. */
  drain(): LoadMap {
    const out = Object.fromEntries(this.models);
    this.models = new Map();
    return out;
  }
}

/** Several fronts' drains as one (a sample stays a sample: the waits are concatenated). */
export function mergeLoad(maps: LoadMap[]): LoadMap {
  const out: LoadMap = {};
  for (const map of maps) {
    for (const [name, e] of Object.entries(map)) {
      const o = (out[name] ??= { waits: [], count: 0, busyMs: 0 });
      o.waits.push(...e.waits);
      o.count += e.count;
      o.busyMs += e.busyMs;
    }
  }
  return out;
}
