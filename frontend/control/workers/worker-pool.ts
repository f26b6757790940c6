// A model's workers, as the controller keeps them: scaling to min/max, restarts with back-off, health,
// and a read-only snapshot. Requests never pass through here: the fronts send them to the workers
// this pool publishes (`onChange`), and batches form inside the worker processes.
import type { Logger } from '../../logging/logger.js';
import { restartDelayMs } from './backoff.js';
import type { ModelMetadata } from '../../../protocol/model-metadata.js';
import type { PoolMember, WorkerState } from './worker.js';

/** Consecutive worker failures (crashes, failed starts) after which a model reports Unhealthy. */
export const UNHEALTHY_AFTER = 3;

/** A worker that ran this long before it ended restarts at once again, as a first failure does. */
export const STABLE_MS = 60_000;

/** What the pool reports as it works (metrics hook in here). */
export interface PoolObserver {
  restart(): void;
}

export interface PoolOptions {
  modelName: string;
  /** A new worker in slot `slot` on `gpuId` (-1: CPU): a process of its own, or a slot of a shared one. */
  create: (slot: number, gpuId: number) => PoolMember;
  /** The GPU a new worker takes (the server-wide round-robin), or -1. */
  nextGpu: () => number;
  log: Logger;
  observer?: PoolObserver;
  /**
   * The set of loaded workers changed: publish it to the fronts. Resolves once every front uses the
   * new set, so a removed worker is stopped only after no front sends to it any more.
   */
  onChange: () => Promise<void>;
}

/** One worker as describe, metrics and the routing table see it. */
export interface WorkerView {
  id: string;
  /** The worker process's id: the same for every slot of a shared process. */
  hostId: string;
  pid?: number;
  socketPath?: string;
  state: WorkerState;
  startTime: Date;
  /** CUDA device id, or -1. */
  gpuId: number;
  provider?: string;
}

export interface PoolSnapshot {
  minWorkers: number;
  maxWorkers: number;
  /** Loaded workers (the fronts' routes). */
  running: number;
  /** A start or restart is under way: requests should wait for it rather than be refused. */
  starting: boolean;
  healthy: boolean;
  workers: WorkerView[];
  /** The tensors the model reports, from the last worker that loaded it (none before any did). */
  metadata?: ModelMetadata;
}

export class WorkerPool {
  private readonly workers: PoolMember[] = [];
  minWorkers = 0;
  maxWorkers = 0;
  /** Worker failures since a worker last answered a request. */
  private failures = 0;
  private nextSlot = 0;
  private crashes = 0;
  private closed = false;
  private readonly restarts = new Set<NodeJS.Timeout>();
  /** GPUs of workers that died, taken again by their replacements (a worker keeps its GPU). */
  private readonly freeGpus: number[] = [];
  /** The process whose end was counted last: the slots of one shared process fail as one. */
  private lastFailedHost?: string;
  /** Called whenever a worker finished starting or went away (scale() waits on them). */
  private readonly changes = new Set<() => void>();

  /** Metadata outlives the workers that reported it: a model restarting still describes itself. */
  private lastMetadata?: ModelMetadata;

  constructor(private readonly o: PoolOptions) {}

  /** Workers that are loaded. */
  get running(): number {
    return this.workers.filter((w) => w.state === 'READY').length;
  }

  get healthy(): boolean {
    return this.failures < UNHEALTHY_AFTER;
  }

  snapshot(): PoolSnapshot {
    return {
      minWorkers: this.minWorkers,
      maxWorkers: this.maxWorkers,
      running: this.running,
      starting: this.restarts.size > 0 || this.workers.some((w) => w.state === 'STARTING'),
      healthy: this.healthy,
      metadata: this.lastMetadata,
      workers: this.workers.map((w) => ({
        id: w.id, hostId: w.hostId, pid: w.pid, socketPath: w.socketPath, state: w.state, startTime: w.startTime, gpuId: w.gpuId, provider: w.provider,
      })),
    };
  }

  /**
   * Starts workers up to min, retires the newest down to max. Resolves when every new worker has
   * loaded and the fronts know it and then, within waitMs, when min workers run or none is starting
   * any more (workers an earlier scale started count too); rejects with the first failure of its
   * own workers (those are already gone).
   */
  async scale(min: number, max: number, waitMs = 0): Promise<void> {
    this.minWorkers = min;
    this.maxWorkers = max;
    const retired: PoolMember[] = [];
    while (this.workers.length > max) retired.push(this.workers.pop()!);
    const stops = retired.length ? this.o.onChange().then(() => Promise.all(retired.map((w) => w.stop()))) : undefined;
    const starts = Array.from({ length: Math.max(0, min - this.workers.length - this.restarts.size) }, () => this.startWorker());
    if (starts.length) void this.changed(); // fronts hold the model's requests while workers start
    const results = await Promise.allSettled(starts);
    await stops;
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed.length) {
      // Keep trying with back-off, as MMS does; a synchronous registration that fails closes the pool.
      for (let i = 0; i < failed.length; i++) this.scheduleRestart();
      throw failed[0].reason;
    }
    await this.settled(min, waitMs);
  }

  /** Stops every worker (the fronts have dropped the model already). */
  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.restarts) clearTimeout(t);
    this.restarts.clear();
    const all = this.workers.splice(0);
    await Promise.all(all.map((w) => w.stop()));
  }

  /** A worker process answered a request: no crash loop, so the next failure restarts at once again. */
  served(hostId: string): void {
    if (!this.workers.some((w) => w.hostId === hostId)) return;
    this.crashes = 0;
    this.failures = 0;
  }

  /** A front saw a worker process answer nothing for the response timeout: kill it; it is replaced. */
  stuck(hostId: string): void {
    this.workers.find((w) => w.hostId === hostId)?.kill('no reply within the response timeout');
  }

  private settled(min: number, waitMs: number): Promise<void> {
    const done = () => this.closed || this.running >= min || !this.workers.some((w) => w.state === 'STARTING');
    if (done() || waitMs <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const finish = () => {
        clearTimeout(timer);
        this.changes.delete(check);
        resolve();
      };
      const check = () => done() && finish();
      const timer = setTimeout(finish, waitMs);
      this.changes.add(check);
    });
  }

  private changed(): Promise<void> {
    for (const check of [...this.changes]) check();
    return this.o.onChange();
  }

  private async startWorker(): Promise<PoolMember> {
    const worker = this.o.create(this.nextSlot++, this.freeGpus.shift() ?? this.o.nextGpu());
    this.workers.push(worker);
    try {
      await worker.start();
    } catch (err) {
      this.remove(worker);
      this.failures++;
      throw err;
    }
    if (this.closed || !this.workers.includes(worker)) {
      await worker.stop();
      return worker;
    }
    if (worker.metadata) this.lastMetadata = worker.metadata;
    void worker.ended.then(() => this.onEnded(worker));
    await this.changed();
    return worker;
  }

  private onEnded(worker: PoolMember): void {
    const wasMember = this.remove(worker, false);
    if (!wasMember) return;
    if (this.closed || worker.state === 'SCALED_DOWN') {
      void this.changed();
      return;
    }
    // Every slot of a shared process ends with it: one failure, restarted after one back-off.
    const sameFailure = worker.hostId === this.lastFailedHost;
    this.lastFailedHost = worker.hostId;
    if (!sameFailure) {
      if (Date.now() - worker.startTime.getTime() >= STABLE_MS) {
        // It served a long while: a new failure, not a crash loop.
        this.crashes = 0;
        this.failures = 0;
      }
      this.failures++;
    }
    if (this.workers.length + this.restarts.size < this.minWorkers) {
      if (worker.gpuId >= 0) this.freeGpus.push(worker.gpuId);
      this.scheduleRestart(sameFailure);
    } else void this.changed();
  }

  /** `sameFailure`: another slot of a process whose end was counted already (same delay, no escalation). */
  private scheduleRestart(sameFailure = false): void {
    if (this.closed || this.workers.length + this.restarts.size >= this.minWorkers) return;
    const delay = restartDelayMs(sameFailure ? Math.max(0, this.crashes - 1) : this.crashes++);
    this.o.observer?.restart();
    this.o.log.info({ delayMs: delay, unhealthy: !this.healthy }, 'restarting worker after back-off');
    const timer = setTimeout(() => {
      this.restarts.delete(timer);
      if (this.closed || this.workers.length >= this.minWorkers) {
        void this.changed(); // no longer starting: fronts refuse at once again
        return;
      }
      // Only a long run resets the back-off: a worker that starts and dies at once, again and again, backs off.
      this.startWorker().then(
        () => undefined,
        (err: Error) => {
          this.o.log.error({ err: err.message }, 'worker restart failed');
          this.scheduleRestart();
        },
      );
    }, delay);
    this.restarts.add(timer);
    void this.changed(); // fronts hold the model's requests while a restart is pending
  }

  private remove(worker: PoolMember, publish = true): boolean {
    const i = this.workers.indexOf(worker);
    if (i < 0) return false;
    this.workers.splice(i, 1);
    if (publish) void this.changed();
    return true;
  }
}
