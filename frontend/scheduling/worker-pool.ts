// A model's workers: scaling to min/max, handing each batch the batcher forms to an idle worker,
// answering each job from its own reply item, retrying the jobs of a worker that died once on
// another, restarting dead workers with back-off, and marking a model whose workers keep failing.
import { StatusCode, type ReplyItem, type OutgoingItem } from '../../protocol/messages.js';
import { ServerError, WorkerLostError, internal, noWorker, serviceUnavailable } from '../http/errors.js';
import type { Logger } from '../logging/logger.js';
import { restartDelayMs } from './backoff.js';
import { Batcher } from './batcher.js';
import { RequestQueue, type Job } from './request-queue.js';
import { Worker, itemsById, type WorkerSpec } from './worker.js';

/** Consecutive worker failures (crashes, failed starts) after which a model reports Unhealthy. */
export const UNHEALTHY_AFTER = 3;

/** A worker that ran this long before it ended restarts at once again, as a first failure does. */
export const STABLE_MS = 60_000;

/** Batches a worker may hold: one running and one waiting, so it never waits on the frontend. */
export const PIPELINE_DEPTH = 2;

/** What the pool reports as it works (metrics hook in here). */
export interface PoolObserver {
  batch(size: number, queueWaitMs: number[], inferenceMs: number): void;
  restart(): void;
}

export interface PoolOptions {
  modelName: string;
  queueSize: number;
  batchSize: number;
  maxBatchDelay: number;
  /** Requests of a worker that died are sent once more to another (inference is stateless). */
  retryOnWorkerDeath: boolean;
  /** Called for each new worker, so settings reflect the pool size at that moment. */
  spec: (pool: WorkerPool) => WorkerSpec;
  log: Logger;
  observer?: PoolObserver;
}

export class WorkerPool {
  readonly workers: Worker[] = [];
  readonly queue: RequestQueue;
  readonly batcher: Batcher;
  minWorkers = 0;
  maxWorkers = 0;
  /** Worker failures since the last successful batch. */
  failures = 0;
  private nextSlot = 0;
  private crashes = 0;
  private closed = false;
  private readonly restarts = new Set<NodeJS.Timeout>();
  private readonly retiring = new Set<Worker>();
  /** Called whenever a worker finished starting or went away (scale() waits on them). */
  private readonly changes = new Set<() => void>();

  constructor(private readonly o: PoolOptions) {
    this.queue = new RequestQueue(o.queueSize);
    this.batcher = new Batcher(this.queue, o.batchSize, o.maxBatchDelay, () => this.dispatch());
  }

  /** Workers that are loaded (idle or busy). */
  get running(): number {
    return this.workers.filter((w) => w.state === 'READY' || w.state === 'BUSY').length;
  }

  get healthy(): boolean {
    return this.failures < UNHEALTHY_AFTER;
  }

  /** Queues one request; resolves with its reply item or rejects with a ServerError. */
  submit(item: OutgoingItem): Promise<ReplyItem> {
    if (this.closed || (this.workers.length === 0 && this.restarts.size === 0)) return Promise.reject(noWorker(this.o.modelName));
    return new Promise((resolve, reject) => {
      if (!this.queue.offer({ item, enqueuedAt: performance.now(), attempts: 0, resolve, reject })) {
        reject(noWorker(this.o.modelName));
        return;
      }
      this.dispatch();
    });
  }

  /**
   * Starts workers up to min, retires the newest down to max. Resolves when every new worker has
   * loaded and then, within waitMs, when min workers run or none is starting any more (workers an
   * earlier scale started count too); rejects with the first failure of its own workers (those
   * are already gone).
   */
  async scale(min: number, max: number, waitMs = 0): Promise<void> {
    this.minWorkers = min;
    this.maxWorkers = max;
    while (this.workers.length > max) this.retire(this.workers[this.workers.length - 1]);
    const starts = Array.from({ length: Math.max(0, min - this.workers.length - this.restarts.size) }, () => this.startWorker());
    const results = await Promise.allSettled(starts);
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed.length) {
      // Keep trying with back-off, as MMS does; a synchronous registration that fails closes the pool.
      for (let i = 0; i < failed.length; i++) this.scheduleRestart();
      throw failed[0].reason;
    }
    await this.settled(min, waitMs);
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

  private changed(): void {
    for (const check of [...this.changes]) check();
  }

  /** Stops every worker and fails what is still queued. */
  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.restarts) clearTimeout(t);
    this.restarts.clear();
    this.batcher.cancel();
    const err = noWorker(this.o.modelName);
    for (const job of this.queue.drain()) job.reject(err);
    const all = [...this.workers, ...this.retiring];
    this.workers.length = 0;
    await Promise.all(all.map((w) => w.stop()));
  }

  dispatch(): void {
    for (;;) {
      const worker = this.workers.find((w) => w.idle) ?? this.workers.find((w) => w.accepts(PIPELINE_DEPTH));
      if (!worker) return;
      const jobs = this.batcher.next(!this.workers.some((w) => w.state === 'BUSY'));
      if (!jobs) return;
      void this.runBatch(worker, jobs);
    }
  }

  private async runBatch(worker: Worker, jobs: Job[]): Promise<void> {
    const sent = performance.now();
    try {
      const reply = await worker.run(jobs.map((j) => j.item));
      // A worker that answers ends a crash loop: the next failure restarts at once again.
      this.failures = 0;
      this.crashes = 0;
      this.o.observer?.batch(jobs.length, jobs.map((j) => sent - j.enqueuedAt), performance.now() - sent);
      if (reply.code !== StatusCode.ok) {
        const err = new ServerError(reply.code, 'InternalServerException', reply.message);
        for (const j of jobs) j.reject(err);
      } else {
        const byId = itemsById(reply);
        for (const j of jobs) {
          const item = byId.get(j.item.requestId);
          if (item) j.resolve(item);
          else j.reject(internal('Worker returned no reply for this request.'));
        }
      }
    } catch (err) {
      this.settleLost(jobs, err as Error);
    }
    if (this.retiring.has(worker) && worker.idle) {
      this.retiring.delete(worker);
      void worker.stop();
    }
    this.dispatch();
  }

  /** Jobs whose worker died: back to the front of the queue once, unless it timed out on them. */
  private settleLost(jobs: Job[], err: Error): void {
    const timedOut = err instanceof WorkerLostError && err.timedOut;
    const retry: Job[] = [];
    for (const j of jobs) {
      if (!timedOut && this.o.retryOnWorkerDeath && j.attempts === 0 && !this.closed) {
        j.attempts++;
        retry.push(j);
      } else if (timedOut || !(err instanceof WorkerLostError)) j.reject(err);
      else j.reject(serviceUnavailable(`Worker died while serving the request for model: ${this.o.modelName}.`));
    }
    if (retry.length) {
      this.o.log.warn({ requests: retry.length }, 'retrying the requests of a worker that died');
      this.queue.unshift(retry);
    }
  }

  private async startWorker(): Promise<Worker> {
    const worker = new Worker(this.nextSlot++, this.o.spec(this), this.o.log);
    this.workers.push(worker);
    try {
      await worker.start();
    } catch (err) {
      this.remove(worker);
      this.failures++;
      this.changed();
      throw err;
    }
    this.changed();
    if (this.closed || !this.workers.includes(worker)) {
      await worker.stop();
      return worker;
    }
    void worker.ended.then(() => this.onEnded(worker));
    this.dispatch();
    return worker;
  }

  private retire(worker: Worker): void {
    this.remove(worker);
    if (worker.state === 'BUSY') this.retiring.add(worker);
    else void worker.stop();
  }

  private onEnded(worker: Worker): void {
    const wasMember = this.remove(worker);
    if (!wasMember || this.closed || worker.state === 'SCALED_DOWN') return;
    this.failures++;
    if (Date.now() - worker.startTime.getTime() >= STABLE_MS) this.crashes = 0;
    this.scheduleRestart();
  }

  private scheduleRestart(): void {
    if (this.closed || this.workers.length + this.restarts.size >= this.minWorkers) return;
    const delay = restartDelayMs(this.crashes++);
    this.o.observer?.restart();
    this.o.log.info({ delayMs: delay, unhealthy: !this.healthy }, 'restarting worker after back-off');
    const timer = setTimeout(() => {
      this.restarts.delete(timer);
      if (this.closed || this.workers.length >= this.minWorkers) return;
      // Only a completed batch or a long run resets the back-off: a worker that starts and dies at
      // once, again and again, backs off.
      this.startWorker().then(
        () => undefined,
        (err: Error) => {
          this.o.log.error({ err: err.message }, 'worker restart failed');
          this.scheduleRestart();
        },
      );
    }, delay);
    this.restarts.add(timer);
  }

  private remove(worker: Worker): boolean {
    const i = this.workers.indexOf(worker);
    if (i < 0) return false;
    this.workers.splice(i, 1);
    this.changed();
    return true;
  }
}
