// Forms batches from a model's queue: a batch goes when it is full, when its oldest job has waited
// maxBatchDelay ms, or at once when the model has nothing in flight (waiting could not gather more
// than what arrives meanwhile, and an idle server should not hold a lone request back). Until then
// a timer wakes the pool. batchSize 1 never waits.
import type { Job, RequestQueue } from './request-queue.js';

export class Batcher {
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly queue: RequestQueue,
    public batchSize: number,
    public maxBatchDelay: number,
    private readonly wake: () => void,
  ) {}

  /** The next batch to send now, or undefined (a timer is armed when jobs are waiting). */
  next(modelIdle: boolean, now = performance.now()): Job[] | undefined {
    const oldest = this.queue.peek();
    if (!oldest) return undefined;
    const waited = now - oldest.enqueuedAt;
    if (modelIdle || this.batchSize <= 1 || this.queue.length >= this.batchSize || waited >= this.maxBatchDelay) {
      this.cancel();
      return this.queue.take(Math.max(1, this.batchSize));
    }
    if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.wake();
      }, this.maxBatchDelay - waited);
    }
    return undefined;
  }

  cancel(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
