// A model's bounded queue of inference jobs. Full → the caller answers 503 at once.
import type { ReplyItem, OutgoingItem } from '../../protocol/messages.js';

export interface Job {
  item: OutgoingItem;
  enqueuedAt: number;
  /** Times this job was sent to a worker that then died. */
  attempts: number;
  resolve: (reply: ReplyItem) => void;
  reject: (err: Error) => void;
}

export class RequestQueue {
  private jobs: Job[] = [];
  private head = 0;

  constructor(readonly capacity: number) {}

  get length(): number {
    return this.jobs.length - this.head;
  }

  /** Returns false when full. */
  offer(job: Job): boolean {
    if (this.length >= this.capacity) return false;
    this.jobs.push(job);
    return true;
  }

  peek(): Job | undefined {
    return this.jobs[this.head];
  }

  take(max: number): Job[] {
    const n = Math.min(max, this.length);
    const out = this.jobs.slice(this.head, this.head + n);
    this.head += n;
    if (this.head > 1024 && this.head * 2 > this.jobs.length) {
      this.jobs = this.jobs.slice(this.head);
      this.head = 0;
    }
    return out;
  }

  /** Puts jobs back at the front (a batch whose worker went away before sending). */
  unshift(jobs: Job[]): void {
    this.jobs = [...jobs, ...this.jobs.slice(this.head)];
    this.head = 0;
  }

  drain(): Job[] {
    return this.take(this.length);
  }
}
