// A model's workers, as the controller keeps them: scaling to min/max, restarts with back-off, health,
// and a read-only snapshot. Requests never pass through here: the fronts send them to the workers
// this pool publishes (`onChange`), and batches form inside the worker processes.
import type { Logger } from '../../logging/logger.js';
import { restartDelayMs } from './backoff.js';
import type { ModelMetadata } from '../../../protocol/model-metadata.js';
import type { PoolMember, WorkerState } from './worker.js';
import { describeExit, type ExitInfo } from './exit-info.js';

/** Consecutive worker failures (crashes, failed starts) after which a model reports Unhealthy. */
export const UNHEALTHY_AFTER = 3;

/** A worker that ran this long (or answered a request) before it ended restarts at once again, as a first failure does. */
export const STABLE_MS = 60_000;

/** What the pool reports as it works (metrics hook in here). */
export interface PoolObserver {
  restart(): void;
}

/** Exits remembered per worker process, for a front asking why a request's worker died. */
const RECENT_EXITS = 32;

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
  /** Failures in a row (starts or crashes without a request served) after which the model is failed; 0: never. */
  crashLoopLimit?: number;
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
  /** Restarts of this worker's line (a crashed worker's replacement inherits its count and exit). */
  restarts: number;
  /** How its predecessor ended (absent: first of its line). */
  lastExit?: ExitInfo;
  /** Its process's last stderr lines. */
  stderr: string[];
  /** The CPUs its process is pinned to (cpu_affinity), and whether they are shared with another pinned worker. */
  cpus?: string;
  cpusShared?: boolean;
}

export interface PoolSnapshot {
  minWorkers: number;
  maxWorkers: number;
  /** Workers kept now (min ≤ target ≤ max; 0 for a model unloaded until its next request). */
  target: number;
  /** The crash loop stopped: no more restarts until the model is scaled again. */
  failed: boolean;
  /** The model's last worker exit that was not a stop. */
  lastExit?: ExitInfo;
  /** Epoch ms when a worker last finished starting (idle time counts from it too, not from during a load). */
  lastStartedAt: number;
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
  target = 0;
  /** Crash loop over (crashLoopLimit): no restarts until scale() is called again. */
  failed = false;
  private lastExit?: ExitInfo;
  private lastStartedAt = 0;
  /** Per worker: its line's restarts and its predecessor's exit. */
  private readonly lineage = new Map<PoolMember, { restarts: number; lastExit?: ExitInfo }>();
  /** Lines waiting for their replacement worker (one per scheduled restart). */
  private readonly orphans: Array<{ restarts: number; lastExit?: ExitInfo }> = [];
  private readonly exits = new Map<string, Promise<ExitInfo | undefined>>();
  /** Workers that answered a request: their death is a new failure, not a crash loop (restart at once). */
  private readonly serving = new WeakSet<PoolMember>();
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
      target: this.target,
      failed: this.failed,
      lastExit: this.lastExit,
      lastStartedAt: this.lastStartedAt,
      running: this.running,
      starting: this.restarts.size > 0 || this.workers.some((w) => w.state === 'STARTING'),
      healthy: this.healthy,
      metadata: this.lastMetadata,
      workers: this.workers.map((w) => ({
        id: w.id, hostId: w.hostId, pid: w.pid, socketPath: w.socketPath, state: w.state, startTime: w.startTime, gpuId: w.gpuId, provider: w.provider,
        restarts: this.lineage.get(w)?.restarts ?? 0, lastExit: this.lineage.get(w)?.lastExit, stderr: w.stderr,
        ...(w.cpus ? { cpus: w.cpus, cpusShared: w.cpusShared } : {}),
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
    this.failed = false; // an operator's scale ends a crash loop's verdict: try again
    this.failures = 0;
    this.crashes = 0;
    this.target = Math.min(max, Math.max(min, this.workers.length));
    await this.toTarget(min, waitMs);
  }

  /** Sets the limits without starting anything (a model loaded on its first request). */
  limits(min: number, max: number): void {
    this.minWorkers = min;
    this.maxWorkers = max;
  }

  /**
   * The autoscaler's (and on-demand loading's) move: keeps `n` workers (0..max), starting or retiring
   * the difference. Resolves like scale().
   */
  async resize(n: number, waitMs = 0): Promise<void> {
    if (this.closed) return;
    this.target = Math.max(0, Math.min(this.maxWorkers, n));
    if (this.target > 0) this.failed = false;
    await this.toTarget(this.target, waitMs);
  }

  /** Why worker process `hostId` ended (waits for its exit, at most `waitMs`); undefined if unknown. */
  async exitCause(hostId: string, waitMs = 2000): Promise<string | undefined> {
    const member = this.workers.find((w) => w.hostId === hostId);
    const exit = this.exits.get(hostId) ?? member?.exited;
    if (!exit) return undefined;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), waitMs)));
    const info = await Promise.race([exit, late]);
    clearTimeout(timer);
    return info ? describeExit(info) : undefined;
  }

  private async toTarget(min: number, waitMs: number): Promise<void> {
    const retired: PoolMember[] = [];
    while (this.workers.length > this.target) retired.push(this.workers.pop()!);
    const stops = retired.length ? this.o.onChange().then(() => Promise.all(retired.map((w) => w.stop()))) : undefined;
    const starts = Array.from({ length: Math.max(0, this.target - this.workers.length - this.restarts.size) }, () => this.startWorker());
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
    const members = this.workers.filter((w) => w.hostId === hostId);
    if (!members.length) return;
    for (const w of members) this.serving.add(w);
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

  private async startWorker(line = this.orphans.shift()): Promise<PoolMember> {
    const worker = this.o.create(this.nextSlot++, this.freeGpus.shift() ?? this.o.nextGpu());
    this.workers.push(worker);
    this.lineage.set(worker, line ?? { restarts: 0 });
    this.remember(worker);
    try {
      await worker.start();
    } catch (err) {
      this.remove(worker);
      this.failures++;
      const info = await worker.exited;
      if (info) this.lastExit = info;
      this.lineage.delete(worker);
      this.orphans.push({ restarts: (line?.restarts ?? 0) + 1, lastExit: info });
      if (this.orphans.length > Math.max(1, this.maxWorkers)) this.orphans.shift();
      throw err;
    }
    this.remember(worker); // a shared slot knows its process only now
    this.lastStartedAt = Date.now();
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
    const line = this.lineage.get(worker) ?? { restarts: 0 };
    this.lineage.delete(worker);
    if (!wasMember) return;
    if (this.closed || worker.state === 'SCALED_DOWN') {
      void this.changed();
      return;
    }
    const next = { restarts: line.restarts + 1, lastExit: undefined as ExitInfo | undefined };
    void worker.exited.then((info) => {
      if (!info) return;
      next.lastExit = info;
      this.lastExit = info;
      this.o.log.warn({ worker: worker.id, cause: describeExit(info), oomKilled: info.oomKilled, stderr: info.stderr.slice(-5) }, 'worker process ended');
    });
    // Every slot of a shared process ends with it: one failure, restarted after one back-off.
    const sameFailure = worker.hostId === this.lastFailedHost;
    this.lastFailedHost = worker.hostId;
    if (!sameFailure) {
      if (this.serving.has(worker) || Date.now() - worker.startTime.getTime() >= STABLE_MS) {
        // It served (or ran a long while): a new failure, not a crash loop, even if another worker's
        // replacement has not served yet (kills in quick succession must not pile up back-off).
        this.crashes = 0;
        this.failures = 0;
      }
      this.failures++;
    }
    if (this.workers.length + this.restarts.size < this.target) {
      if (worker.gpuId >= 0) this.freeGpus.push(worker.gpuId);
      this.orphans.push(next);
      this.scheduleRestart(sameFailure);
    } else void this.changed();
  }

  /** `sameFailure`: another slot of a process whose end was counted already (same delay, no escalation). */
  private scheduleRestart(sameFailure = false): void {
    if (this.closed || this.failed || this.workers.length + this.restarts.size >= this.target) return;
    const limit = this.o.crashLoopLimit ?? 0;
    if (limit > 0 && this.failures > limit) {
      this.failed = true;
      this.orphans.length = 0;
      this.o.log.error({ failures: this.failures, limit, cause: this.lastExit && describeExit(this.lastExit) }, 'crash loop: model marked failed, no more restarts');
      void this.changed();
      return;
    }
    const delay = restartDelayMs(sameFailure ? Math.max(0, this.crashes - 1) : this.crashes++);
    this.o.observer?.restart();
    this.o.log.info({ delayMs: delay, unhealthy: !this.healthy }, 'restarting worker after back-off');
    const timer = setTimeout(() => {
      this.restarts.delete(timer);
      if (this.closed || this.failed || this.workers.length >= this.target) {
        void this.changed(); // no longer starting: fronts refuse at once again
        return;
      }
      // Only a worker that served or ran long resets the back-off: one that dies before serving, again and again, backs off.
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

  /** Keeps the exit of recent worker processes, so a front asking after one that is gone gets an answer. */
  private remember(worker: PoolMember): void {
    this.exits.set(worker.hostId, worker.exited);
    while (this.exits.size > RECENT_EXITS) this.exits.delete(this.exits.keys().next().value!);
  }

  private remove(worker: PoolMember, publish = true): boolean {
    const i = this.workers.indexOf(worker);
    if (i < 0) return false;
    this.workers.splice(i, 1);
    if (publish) void this.changed();
    return true;
  }
}
