// Batching beside the model: one queue per worker process, shared by every connection to it, so
// requests from several frontends meet here and run as one batch (docs/protocol.md "Worker-side
// batching"). The rule, for runs of this process's model: while
// fewer than `concurrency` batches run, take up to batchSize items when that many wait, or at once
// when nothing runs (an idle model never holds a request back); otherwise hold until the batch is full
// or its oldest frame has waited maxBatchDelay. Frames are taken whole and in FIFO order, so each
// connection's replies come back in its request order; a frame larger than batchSize runs alone.
import { CANCELLED_TYPE, DEADLINE_ITEM_HEADER, StatusCode, errorItem, type ReplyItem, type RequestItem, type WorkerReply } from '../protocol/messages.js';
import { batchMessage } from '../protocol/batch-stats.js';
import { sessionCpuUs } from './session-cpu.js';
import { badOutput, failureOf } from './handler-api.js';
import { capReplyItem } from './reply-size.js';

/** Time and timers, injected so the rule can be tested without waiting. */
export interface Clock {
  /** Milliseconds, monotonic. */
  now(): number;
  /** Calls `fn` after `ms`; the returned function cancels it. */
  setTimer(fn: () => void, ms: number): () => void;
  /**
   * Calls `fn` once the event loop has polled its sockets again. Absent: at once. After a batch that
   * held the event loop, frames that arrived meanwhile (a Cancel above all) are read before the next batch is taken.
   */
  afterIo?(fn: () => void): void;
}

export const systemClock: Clock = {
  now: () => performance.now(),
  setTimer: (fn, ms) => {
    const t = setTimeout(fn, ms);
    return () => clearTimeout(t);
  },
  // One immediate runs in this turn's check phase, maybe before the next poll; the second after it.
  afterIo: (fn) => void setImmediate(() => setImmediate(fn)),
};

/** Runs one joined batch; resolves with one reply item per input item, in order (ModelHost.predict). */
export type RunBatch = (items: RequestItem[]) => Promise<ReplyItem[]>;

export interface BatchFormerOptions {
  /** Most items per run (the Load frame's batch size); at least 1. */
  batchSize: number;
  /** Ms a partial batch may wait while another batch runs. */
  maxBatchDelay: number;
  run: RunBatch;
  /** Batches that may run at once; 1 = one session per process. */
  concurrency?: number;
  /** Largest reply item body; a bigger one becomes that item's 500. Default: no limit. */
  maxResponseSize?: number;
  clock?: Clock;
}

/** The connection a frame came from; only its identity matters (dropping, tests). */
export type Origin = object;


interface Frame {
  origin: Origin;
  items: RequestItem[];
  queuedAt: number;
  /** Epoch ms past which the frame is not run (its items' earliest x-mms-deadline). */
  expiresAt?: number;
  resolve: (reply: WorkerReply) => void;
}

export class BatchFormer {
  readonly batchSize: number;
  readonly maxBatchDelay: number;
  readonly concurrency: number;
  private readonly run: RunBatch;
  private readonly maxResponseSize: number;
  private readonly clock: Clock;
  private readonly queue: Frame[] = [];
  private items = 0;
  private runs = 0;
  /** Ended runs whose next take waits for the sockets to be read (Clock.afterIo). */
  private settling = 0;
  private timer?: { deadline: number; cancel: () => void };

  constructor(o: BatchFormerOptions) {
    this.batchSize = Math.max(1, o.batchSize);
    this.maxBatchDelay = Math.max(0, o.maxBatchDelay);
    this.concurrency = Math.max(1, o.concurrency ?? 1);
    this.run = o.run;
    this.maxResponseSize = o.maxResponseSize ?? Infinity;
    this.clock = o.clock ?? systemClock;
  }

  /** Items waiting (not yet running). */
  get queuedItems(): number {
    return this.items;
  }

  /** Frames waiting (not yet running). */
  get queuedFrames(): number {
    return this.queue.length;
  }

  /** Batches running now. */
  get running(): number {
    return this.runs;
  }

  /**
   * Queues one predict frame from `origin`. Resolves with that frame's reply: code 200 and one item
   * per request when its batch ran, or the batch's error (status, message, an error item per request) for every frame
   * of a batch that threw. Never rejects. A frame dropped with drop() never settles.
   */
  submit(origin: Origin, items: RequestItem[]): Promise<WorkerReply> {
    if (items.length === 0) return Promise.resolve(success([]));
    return new Promise((resolve) => {
      this.queue.push({ origin, items, queuedAt: this.clock.now(), expiresAt: expiryOf(items), resolve });
      this.items += items.length;
      // Right after a batch ended, the take waits for the frames still in the sockets: a frame read
      // then must not start a batch of its own ahead of the ones decoded just after it.
      if (this.settling === 0) this.pump();
    });
  }

  /** Forgets the queued frames of a closed connection (they are not run); returns how many. */
  drop(origin: Origin): number {
    let dropped = 0;
    for (let i = this.queue.length - 1; i >= 0; i--) {
      if (this.queue[i].origin !== origin) continue;
      this.items -= this.queue[i].items.length;
      this.queue.splice(i, 1);
      dropped++;
    }
    if (dropped) this.pump();
    return dropped;
  }

  /**
   * A cancel from `origin`: its queued frame holding `requestId` is not run but answered now with
   * code 499 (an error item per request), so the connection's replies stay in frame order. A frame
   * already running, or unknown, is left alone: returns false.
   */
  cancel(origin: Origin, requestId: string): boolean {
    const i = this.queue.findIndex((f) => f.origin === origin && f.items.some((item) => item.requestId === requestId));
    if (i < 0) return false;
    this.dropAt(i, 'cancel');
    this.pump();
    return true;
  }

  /** Answers the queued frame at `i` as cancelled (code 499, an error item per request) instead of running it. */
  private dropAt(i: number, why: DropReason): void {
    const [frame] = this.queue.splice(i, 1);
    this.items -= frame.items.length;
    frame.resolve(cancelledReply(frame.items, why));
  }

  /** Frames whose deadline has passed never run (their fronts have answered them 504 already). */
  private expire(): void {
    const now = Date.now();
    for (let i = this.queue.length - 1; i >= 0; i--) {
      const at = this.queue[i].expiresAt;
      if (at !== undefined && at <= now) this.dropAt(i, 'deadline');
    }
  }

  /** Starts every batch the rule allows now; arms the timer for a held partial batch. */
  private pump(): void {
    if (this.runs < this.concurrency) this.expire();
    while (this.runs < this.concurrency && this.queue.length > 0) {
      const waited = this.clock.now() - this.queue[0].queuedAt;
      if (this.items < this.batchSize && this.runs > 0 && waited < this.maxBatchDelay) break;
      this.start(this.take());
    }
    if (this.runs < this.concurrency && this.queue.length > 0) this.arm(this.queue[0].queuedAt + this.maxBatchDelay);
    else this.disarm();
  }

  /** Whole frames from the front, up to batchSize items; the first one even when larger. */
  private take(): Frame[] {
    const frames = [this.queue.shift()!];
    let count = frames[0].items.length;
    while (this.queue.length > 0 && count + this.queue[0].items.length <= this.batchSize) {
      const frame = this.queue.shift()!;
      count += frame.items.length;
      frames.push(frame);
    }
    this.items -= count;
    return frames;
  }

  private start(frames: Frame[]): void {
    this.runs++;
    const items = frames.flatMap((f) => f.items);
    const startedAt = this.clock.now();
    const cpuAtStart = sessionCpuUs();
    Promise.resolve()
      .then(() => this.run(items))
      .then(
        (replies) => {
          if (!Array.isArray(replies) || replies.length !== items.length) throw badOutput('number of batch response mismatched');
          // Each frame's reply says how its batch went; only the first counts the batch (metrics).
          const runMs = this.clock.now() - startedAt;
          const cpuAtEnd = sessionCpuUs();
          const sessionCpu = cpuAtStart === undefined || cpuAtEnd === undefined ? undefined : cpuAtEnd - cpuAtStart;
          let at = 0;
          frames.forEach((f, i) => {
            const own = replies.slice(at, (at += f.items.length)).map((item) => capReplyItem(item, this.maxResponseSize));
            const message = batchMessage({ size: items.length, first: i === 0, waitMs: startedAt - f.queuedAt, runMs, sessionCpuUs: sessionCpu });
            f.resolve({ code: StatusCode.ok, message, items: own });
          });
        },
      )
      .catch((err: unknown) => {
        // Every request of the batch fails with the handler's status and type (an error item each).
        const failure = failureOf(err);
        for (const f of frames) {
          f.resolve({ code: failure.status, message: failure.message, items: f.items.map((i) => errorItem(i.requestId, failure)) });
        }
      })
      .finally(() => {
        this.runs--;
        if (!this.clock.afterIo) return this.pump();
        this.settling++;
        this.clock.afterIo(() => {
          this.settling--;
          this.pump();
        });
      });
  }

  private arm(deadline: number): void {
    if (this.timer?.deadline === deadline) return;
    this.disarm();
    const cancel = this.clock.setTimer(() => {
      this.timer = undefined;
      this.pump();
    }, Math.max(0, deadline - this.clock.now()));
    this.timer = { deadline, cancel };
  }

  private disarm(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }
}

/** Why a frame is not run: its front cancelled it, or its deadline passed. */
type DropReason = 'cancel' | 'deadline';

const DROPPED = {
  cancel: { message: 'Request cancelled before its batch ran', code: 'CLIENT_CLOSED' },
  deadline: { message: 'Request deadline passed before its batch ran', code: 'DEADLINE_EXCEEDED' },
} as const;

/**
 * The reply of a frame that is not run: code 499 and an error item per request, naming the reason's
 * catalogue code (docs/protocol.md "Cancel").
 */
export function cancelledReply(items: RequestItem[], why: DropReason = 'cancel'): WorkerReply {
  const { message, code } = DROPPED[why];
  const failure = { status: StatusCode.cancelled, type: CANCELLED_TYPE, message, code };
  return { code: failure.status, message, items: items.map((item) => errorItem(item.requestId, failure)) };
}

function expiryOf(items: RequestItem[]): number | undefined {
  let at: number | undefined;
  for (const item of items) {
    const h = item.headers.find(([name]) => name === DEADLINE_ITEM_HEADER);
    const v = h ? Number(h[1]) : NaN;
    if (Number.isFinite(v)) at = Math.min(at ?? v, v);
  }
  return at;
}

function success(items: ReplyItem[]): WorkerReply {
  return { code: StatusCode.ok, message: 'Prediction success', items };
}
