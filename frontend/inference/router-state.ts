// What a front's worker router holds per model version and per worker process, and one request's job
// (worker-router.ts).
import type { OutgoingItem, ReplyItem } from '../../protocol/messages.js';
import { routeKey, type ModelRoute } from '../../protocol/routes.js';
import type { WorkerConnection } from '../../protocol/worker-connection.js';
import { noWorker } from '../errors.js';

export interface Job {
  item: OutgoingItem;
  /** Workers that died while it may have been running (it is retried once; a second such death fails it). */
  attempts: number;
  /** Workers that died while it only waited in their queue (it is sent again, up to MAX_REQUEUES times). */
  requeues: number;
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
  /** Answered nothing within the response timeout: reported to the controller, never connected to again. */
  stuck = false;
  /** The model's workers this process serves (a shared process serves several). */
  slots = 1;
  /**
   * Set when the connection is lost: the requests it may have been running then, the oldest
   * batch_size per slot (a worker runs a connection's frames in order). Those behind them had not
   * started, so their loss counts against the worker, not against them.
   */
  runningAtLoss?: Set<Job>;
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
  private idled?: Promise<void>;
  private onIdle?: () => void;
  constructor(public route: ModelRoute) {}
  get key(): string {
    return routeKey(this.route);
  }

  /** Admits one request counted here alone (a pipeline's: worker-router.ts admitPipeline); the function returned ends it. */
  enter(): () => void {
    this.admitted++;
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      if (--this.admitted === 0) this.onIdle?.();
    };
  }

  /** Fails the requests waiting here for a worker once they have waited a response timeout (one timer, for the oldest). */
  armWaitTimer(): void {
    if (this.waitTimer || this.waiting.length === 0) return;
    const wait = this.route.responseTimeoutMs - (performance.now() - this.waiting[0].waitingSince!);
    this.waitTimer = setTimeout(() => {
      this.waitTimer = undefined;
      const now = performance.now();
      while (this.waiting.length && now - this.waiting[0].waitingSince! >= this.route.responseTimeoutMs) {
        this.waiting.shift()!.reject(noWorker(this.route.name));
      }
      this.armWaitTimer();
    }, Math.max(0, wait));
  }

  /** Resolves once no request admitted by `enter` is left. */
  idle(): Promise<void> {
    if (this.admitted === 0) return Promise.resolve();
    return (this.idled ??= new Promise<void>((resolve) => {
      this.onIdle = () => {
        this.idled = this.onIdle = undefined;
        resolve();
      };
    }));
  }
}

/** The model's loaded workers, counting every slot of a shared process. */
export const slotsOf = (route: ModelRoute): number => route.workers.reduce((n, w) => n + w.slots, 0);

export type ServerHealth = 'Healthy' | 'Partial Healthy' | 'Unhealthy';
export interface ModelHealth {
  status: 'Healthy' | 'Unhealthy' | 'Failed';
  workers: number;
  minWorkers: number;
}

/** How many of a route's worker slots count as running (by default, every one the table lists). */
export type SlotCount = (route: ModelRoute) => number;

/** Ping rule: running workers against the sum of minimums. */
export function serverHealth(routes: ModelRoute[], running: SlotCount = slotsOf): ServerHealth {
  let scaled = 0;
  let working = 0;
  for (const route of routes) {
    scaled += route.minWorkers;
    working += running(route);
  }
  if (scaled > 0 && working === 0) return 'Unhealthy';
  if (working > 0 && working < scaled) return 'Partial Healthy';
  return 'Healthy';
}

/** Per model (a version other than the default as `name/version`): its health and its loaded and wanted workers. */
export function modelHealth(routes: ModelRoute[], running: SlotCount = slotsOf): Record<string, ModelHealth> {
  const out: Record<string, ModelHealth> = {};
  for (const r of [...routes].sort((a, b) => (routeKey(a) < routeKey(b) ? -1 : routeKey(a) > routeKey(b) ? 1 : 0))) {
    out[r.isDefault === false ? routeKey(r) : r.name] = { status: r.failed ? 'Failed' : r.healthy ? 'Healthy' : 'Unhealthy', workers: running(r), minWorkers: r.minWorkers };
  }
  return out;
}

/**
 * A route's worker slots this front holds a working connection to: a connection closed for a fault
 * (or not yet made) counts as down until it is made again.
 */
export function reachableSlots(route: ModelRoute, remotes: ReadonlyMap<string, Remote> | undefined): number {
  let n = 0;
  for (const w of route.workers) {
    const r = remotes?.get(w.id);
    if (r?.ready && !r.closed) n += w.slots;
  }
  return n;
}

/**
 * What a model may hold in one front: job_queue_size plus what the workers run and hold next (two
 * batches each). A front cannot see what the others hold, and the kernel deals connections to them
 * unevenly (one may carry most of them while the others idle), so each front may hold the whole of
 * it: a front refuses only what the model could not take even if no other front held anything.
 */
export function admissionLimit(route: ModelRoute): number {
  return route.queueSize + Math.max(1, slotsOf(route)) * 2 * route.batchSize;
}

/** How often a request that was only queued may lose its worker and be sent again (kills in a row). */
const MAX_REQUEUES = 8;

/**
 * Whether a request whose worker died goes to another: once if the worker may have been running it
 * (a request that kills every worker it reaches fails on the second); one that only waited behind
 * others cannot have caused the death, so it goes again, up to MAX_REQUEUES times. Counts the try.
 */
export function sendAgain(job: Job, running: boolean): boolean {
  return running ? job.attempts++ === 0 : job.requeues++ < MAX_REQUEUES;
}
