// The chaos run's killer and restart watcher: SIGKILLs a random READY worker every interval, and
// polls describe to time how long each killed worker takes to be replaced by a new READY one.
import { isOurChild } from './chaos-cleanup.js';

const POLL_MS = 20;
/** A killed worker not READY again within this is reported as not replaced. */
export const RESTART_LIMIT_MS = 60_000;

export interface DescribedWorker {
  id: string;
  pid: number;
  status: string;
}

export interface Kill {
  n: number;
  pid: number;
  workerId: string;
  /** performance.now() just before the signal. */
  at: number;
  restartMs?: number;
  replacedBy?: string;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** New READY worker ids are matched to pending kills, oldest first. */
export class RestartWatcher {
  readonly kills: Kill[] = [];
  readonly pending: Kill[] = [];
  describeErrors = 0;
  private readonly known: Set<string>;
  private stopped = false;
  private running?: Promise<void>;

  constructor(
    private readonly describe: () => Promise<DescribedWorker[]>,
    initial: DescribedWorker[],
  ) {
    this.known = new Set(initial.map((w) => w.id));
  }

  start(): void {
    this.running = this.watch();
  }

  /** A kill just sent, to be matched to the next new READY worker. */
  record(kill: Kill): void {
    this.kills.push(kill);
    this.pending.push(kill);
  }

  /** Waits until every kill is replaced or given up on (RESTART_LIMIT_MS), or until interrupted. */
  async drain(interrupted: () => boolean): Promise<void> {
    while (this.pending.length > 0 && !interrupted()) await sleep(POLL_MS);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
  }

  private async watch(): Promise<void> {
    while (!this.stopped) {
      try {
        const workers = await this.describe();
        const now = performance.now();
        for (const w of workers) {
          if (w.status !== 'READY' || this.known.has(w.id)) continue;
          this.known.add(w.id);
          const k = this.pending.shift();
          if (k) {
            k.restartMs = now - k.at;
            k.replacedBy = w.id;
            process.stderr.write(`  kill ${k.n}: pid ${k.pid} replaced by pid ${w.pid} after ${k.restartMs.toFixed(0)} ms\n`);
          } else process.stderr.write(`  new READY worker ${w.id} (pid ${w.pid}) without a kill\n`);
        }
      } catch {
        this.describeErrors++;
      }
      while (this.pending.length > 0 && performance.now() - this.pending[0].at > RESTART_LIMIT_MS) this.pending.shift();
      await sleep(POLL_MS);
    }
  }
}

/**
 * Every intervalS from `started` until `end` (or until stopped), SIGKILLs a random READY worker
 * that is our child and hands the kill to the watcher; every `frontEvery`-th tick (0: never) calls
 * killFront instead (an inference front). Then waits for `end`. Returns the number of ticks that
 * found nothing to kill.
 */
export async function killWorkers(o: {
  describe: () => Promise<DescribedWorker[]>;
  watcher: RestartWatcher;
  intervalS: number;
  started: number;
  end: number;
  stopped: () => boolean;
  frontEvery?: number;
  killFront?: () => boolean;
}): Promise<number> {
  const { watcher, started, end, stopped } = o;
  let skipped = 0;
  let tick = 0;
  for (let next = started + o.intervalS * 1000; next < end && !stopped(); next += o.intervalS * 1000) {
    while (performance.now() < next && !stopped()) await sleep(Math.min(50, next - performance.now()));
    if (stopped()) break;
    tick++;
    if (o.frontEvery && o.killFront && tick % o.frontEvery === 0) {
      if (!o.killFront()) {
        skipped++;
        process.stderr.write(`  no front to kill at ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
      }
      continue;
    }
    const workers = await o.describe();
    const victims = workers.filter((w) => w.status === 'READY' && w.pid > 0 && isOurChild(w.pid));
    if (victims.length === 0) {
      skipped++;
      process.stderr.write(`  no READY worker to kill at ${((performance.now() - started) / 1000).toFixed(1)} s (${JSON.stringify(workers.map((w) => w.status))})\n`);
      continue;
    }
    const v = victims[Math.floor(Math.random() * victims.length)];
    const kill: Kill = { n: watcher.kills.length + 1, pid: v.pid, workerId: v.id, at: performance.now() };
    process.kill(v.pid, 'SIGKILL');
    watcher.record(kill);
  }
  while (performance.now() < end && !stopped()) await sleep(Math.min(50, end - performance.now()));
  return skipped;
}
