// What the worker router keeps per model and per worker process, and one request's job (worker-router.ts).
import type { OutgoingItem, ReplyItem } from '../../protocol/messages.js';
import type { ModelRoute } from '../../protocol/routes.js';
import type { WorkerConnection } from '../../protocol/worker-connection.js';

export interface Job {
  item: OutgoingItem;
  attempts: number;
  timedOut?: boolean;
  waitingSince?: number;
  /** Answered (or failed, cancelled): a late reply or a lost worker changes nothing. */
  done: boolean;
  /** The worker it was last sent to (the one a cancel goes to). */
  remote?: Remote;
  resolve: (reply: ReplyItem) => void;
  reject: (err: Error) => void;
}

/** One worker process as this front sees it. */
export class Remote {
  conn?: WorkerConnection;
  ready = false;
  /** Lost, stuck or retired: takes no new requests. */
  closed = false;
  readonly outstanding: Job[] = [];
  served = false;
  /** pick-worker.ts: the router's pick count when this remote was last chosen. */
  lastPicked = 0;
  watchdog?: NodeJS.Timeout;
  /** When it last answered (or was first sent to while idle): the watchdog's reference. */
  progressAt = 0;
  /** Out of the table: finishing what it holds, then closed. */
  retiring = false;
  /** The model's workers this process serves (a shared process serves several). */
  slots = 1;
  drained?: () => void;
  constructor(
    readonly id: string,
    readonly owner: ModelState,
  ) {}
  /** Outstanding requests per slot, so a process serving more slots takes more. */
  get load(): number {
    return this.outstanding.length / this.slots;
  }
}

export class ModelState {
  readonly remotes = new Map<string, Remote>();
  readonly waiting: Job[] = [];
  admitted = 0;
  waitTimer?: NodeJS.Timeout;
  constructor(public route: ModelRoute) {}
}

/** The model's loaded workers, counting every slot of a shared process. */
export const slotsOf = (route: ModelRoute): number => route.workers.reduce((n, w) => n + w.slots, 0);

