// A model's workers: scaling to min/max, picking an idle worker for each batch the batcher forms,
// answering each job from its own reply item, and restarting workers that die with back-off.
import { StatusCode, type ReplyItem, type RequestItem } from '../../protocol/messages.js';
import { ServerError, internal, noWorker } from '../http/errors.js';
import type { Logger } from '../logging/logger.js';
import { restartDelayMs } from './backoff.js';
import { Batcher } from './batcher.js';
import { RequestQueue } from './request-queue.js';
import { Worker, itemsById, type WorkerSpec } from './worker.js';

export interface PoolOptions {
  modelName: string;
  queueSize: number;
  batchSize: number;
  maxBatchDelay: number;
  /** Called for each new worker, so settings reflect the pool size at that moment. */
  spec: (pool: WorkerPool) => WorkerSpec;
  log: Logger;
}

export class WorkerPool {
  readonly workers: Worker[] = [];
  readonly queue: RequestQueue;
  readonly batcher: Batcher;
  minWorkers = 0;
  maxWorkers = 0;
  private nextSlot = 0;
  private crashes = 0;
  private closed = false;
  private readonly restarts = new Set<NodeJS.Timeout>();
  private readonly retiring = new Set<Worker>();

  constructor(private readonly o: PoolOptions) {
    this.queue = new RequestQueue(o.queueSize);
    this.batcher = new Batcher(this.queue, o.batchSize, o.maxBatchDelay, () => this.dispatch());
  }

  /** Workers that are loaded (idle or busy). */
  get running(): number {
    return this.workers.filter((w) => w.state === 'READY' || w.state === 'BUSY').length;
  }

  /** Queues one request; resolves with its reply item or rejects with a ServerError. */
  submit(item: RequestItem): Promise<ReplyItem> {
    if (this.closed || (this.workers.length === 0 && this.restarts.size === 0)) return Promise.reject(noWorker(this.o.modelName));
    return new Promise((resolve, reject) => {
      if (!this.queue.offer({ item, enqueuedAt: performance.now(), resolve, reject })) {
        reject(noWorker(this.o.modelName));
        return;
      }
      this.dispatch();
    });
  }

  /**
   * Starts workers up to min, retires the newest down to max. Resolves when every new worker has
   * loaded; rejects with the first failure (the failed workers are already gone).
   */
  async scale(min: number, max: number): Promise<void> {
    this.minWorkers = min;
    this.maxWorkers = max;
    while (this.workers.length > max) this.retire(this.workers[this.workers.length - 1]);
    const starts = Array.from({ length: Math.max(0, min - this.workers.length - this.restarts.size) }, () => this.startWorker());
    const results = await Promise.allSettled(starts);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      // Keep trying with back-off, as MMS does; a synchronous registration that fails closes the pool.
      for (let i = results.filter((r) => r.status === 'rejected').length; i > 0; i--) this.scheduleRestart();
      throw failed.reason;
    }
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
      const worker = this.workers.find((w) => w.idle);
      if (!worker) return;
      const jobs = this.batcher.next();
      if (!jobs) return;
      void this.runBatch(worker, jobs);
    }
  }

  private async runBatch(worker: Worker, jobs: Array<{ item: RequestItem; resolve: (r: ReplyItem) => void; reject: (e: Error) => void }>): Promise<void> {
    try {
      const reply = await worker.run(jobs.map((j) => j.item));
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
      for (const j of jobs) j.reject(err as Error);
    }
    if (this.retiring.has(worker)) {
      this.retiring.delete(worker);
      void worker.stop();
    }
    this.dispatch();
  }

  private async startWorker(): Promise<Worker> {
    const worker = new Worker(this.nextSlot++, this.o.spec(this), this.o.log);
    this.workers.push(worker);
    try {
      await worker.start();
    } catch (err) {
      this.remove(worker);
      throw err;
    }
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
    this.scheduleRestart();
  }

  private scheduleRestart(): void {
    if (this.workers.length + this.restarts.size >= this.minWorkers) return;
    const delay = restartDelayMs(this.crashes++);
    this.o.log.info({ delayMs: delay }, 'restarting worker after back-off');
    const timer = setTimeout(() => {
      this.restarts.delete(timer);
      if (this.closed || this.workers.length >= this.minWorkers) return;
      this.startWorker().then(
        () => (this.crashes = 0),
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
    return true;
  }
}
