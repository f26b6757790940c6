// One full garbage collection when a busy process goes quiet. V8 collects only as a process
// allocates, so after a burst of large request bodies the last ones' buffers, and the heap the burst
// grew, stay resident until the next traffic: measured on a front after cls load, 126 MB RSS, 96 MB
// after one collection. Fronts and the controller run with --expose-gc for it (fronts.ts, cli.ts);
// started without it, nothing happens.

/** CPU used in an interval above this share of it: busy. */
const BUSY_SHARE = 0.05;
/** CPU used in an interval below this share of it: quiet. */
const QUIET_SHARE = 0.01;

/** Decides, one interval at a time, when to collect: after a busy interval, at the first quiet one. */
export class IdleCollector {
  private last: number;
  private dirty = false;

  constructor(
    private readonly cpuMs: () => number,
    private readonly collect: () => void,
    private readonly intervalMs: number,
  ) {
    this.last = cpuMs();
  }

  /** An interval has passed; returns whether it collected. */
  tick(): boolean {
    const now = this.cpuMs();
    const used = now - this.last;
    this.last = now;
    if (used > this.intervalMs * BUSY_SHARE) this.dirty = true;
    else if (this.dirty && used < this.intervalMs * QUIET_SHARE) {
      this.dirty = false;
      this.collect();
      return true;
    }
    return false;
  }
}

/** Collects once whenever this process goes quiet after being busy (checked every `intervalMs`). */
export function collectWhenIdle(intervalMs = 2000): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (typeof gc !== 'function') return;
  const cpuMs = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  const collector = new IdleCollector(cpuMs, gc, intervalMs);
  setInterval(() => collector.tick(), intervalMs).unref();
}
