// An inference front's way to the workers: one connection to each worker process of the routing
// table, every request sent at once to the worker with the least outstanding requests (the worker
// forms the batches from what all fronts send it). A request whose worker dies is sent once more to
// another; while a model has no worker but one is starting, requests wait here, bounded.
import type { OutgoingItem, ReplyItem, WorkerReply } from '../../protocol/messages.js';
import { withDeadlineHeader } from './deadline.js';
import { routeKey, type ModelRoute, type RouteTable } from '../../protocol/routes.js';
import { ClientClosedError, badRequest, deadlineExceeded, modelNotFound, modelUnavailable, noWorker, queueFull, workerDied, workerTimeout } from '../errors.js';
import { replyOutcome } from './worker-reply.js';
import { bindWorker } from './bind-worker.js';
import { FrameEncodeError } from '../../protocol/codec.js';
import { pickWorker } from './pick-worker.js';
import type { RouterOptions, SubmitOptions } from './router-options.js';
import { ModelState, Remote, admissionLimit, modelHealth, reachableSlots, sendAgain, serverHealth, type Job, type ModelHealth, type ServerHealth } from './router-state.js';
import { ResponseCache } from './response-cache.js';

/** A worker of the table this front cannot reach (or lost the connection to) is tried again after this. */
const RECONNECT_MS = 1000;

const GONE = 'Client closed the connection before the answer.';

/** A model with no worker to wait for: why its requests are refused. */
const refused = (r: ModelRoute) => (r.refusal ? modelUnavailable(r.name, r.refusal) : noWorker(r.name));

export class WorkerRouter {
  /** By route key (one per version); `defaults`: per name, the key unversioned requests reach. */
  private readonly models = new Map<string, ModelState>();
  private defaults = new Map<string, string>();
  private table: RouteTable = { version: 0, models: [], startupModels: [] };
  /** Drains of removed workers still under way: a later table's ack must wait for them too. */
  private readonly retiring = new Set<Promise<void>>();
  private picks = 0;
  /** The response caches of the models that have one; a pipeline's (pipeline-runner.ts) caches its whole answer. */
  readonly cache: ResponseCache;

  constructor(private readonly o: RouterOptions) {
    this.cache = new ResponseCache(o.onCacheLookup);
  }

  get startupModels(): string[] {
    return this.table.startupModels.filter((n) => this.defaults.has(n));
  }

  /** The route of a model's version, or of its default version (404 if unknown). */
  route(name: string, version?: string): ModelRoute {
    const key = this.defaults.get(name);
    if (key === undefined) throw modelNotFound(`Model not found: ${name}`);
    const m = this.models.get(version === undefined ? key : `${name}/${version}`);
    if (!m || m.route.hidden) throw modelNotFound(`Model version not found: ${name}/${version}`);
    return m.route;
  }

  /** The versions a model name has, in table order. */
  versions(name: string): string[] {
    return this.table.models.filter((r) => r.name === name && r.version !== undefined).map((r) => r.version!);
  }

  /** Every model's route, as the table says now (a removed pipeline still draining is not listed). */
  routes(): ModelRoute[] {
    return this.table.models;
  }

  /**
   * Admits one request of a pipeline (pipeline-runner.ts) on the pipeline's own state, 503 past its
   * queue; the function returned ends it. A table that removes the pipeline keeps its stages routable
   * until every request admitted here is answered, as a removed worker answers what it holds.
   */
  admitPipeline(route: ModelRoute): () => void {
    const m = this.models.get(routeKey(route));
    if (!m) throw modelNotFound(`Model not found: ${route.name}`);
    if (m.admitted >= admissionLimit(m.route)) throw queueFull(m.route.name);
    return m.enter();
  }

  /** Requests admitted and not yet answered, per model name (the queue-depth gauge): a pipeline's own under its name, each stage's items under `<name>#<stage>`. */
  pending(): Array<[string, number]> {
    const byName = new Map<string, number>(); // the gauge is per name: versions add up
    for (const m of this.models.values()) byName.set(m.route.name, (byName.get(m.route.name) ?? 0) + m.admitted);
    return [...byName];
  }

  /** Ping rule: running workers (those this front can reach) against the sum of minimums. */
  health(): ServerHealth {
    return serverHealth(this.routes(), this.reachable);
  }

  modelHealth(): Record<string, ModelHealth> {
    return modelHealth(this.routes(), this.reachable);
  }

  /** A route's worker slots with a working connection from this front. */
  private readonly reachable = (route: ModelRoute): number => reachableSlots(route, this.models.get(routeKey(route))?.remotes);

  /**
   * Takes a new table: connects to new workers, stops sending to removed ones. Resolves once the new
   * workers can be used and the removed ones have answered what they hold, so the controller may
   * stop them without a request lost.
   */
  async apply(table: RouteTable): Promise<void> {
    if (table.version <= this.table.version) return;
    this.table = table;
    this.cache.apply(table.models);
    const work: Array<Promise<void>> = [];
    const keys = new Set(table.models.map(routeKey));
    // A removed pipeline's requests in flight go on through its stages: those stay until it is idle.
    const held = new Set<string>();
    for (const m of this.models.values()) {
      if (keys.has(m.key) || !m.route.pipeline || m.admitted === 0) continue;
      const own = [m.key, ...m.route.pipeline.stages.map((s) => s.key)];
      for (const k of own) held.add(k);
      work.push(m.idle().then(() => Promise.all(this.unlist(own))).then(() => undefined));
    }
    work.push(...this.unlist([...this.models.keys()].filter((k) => !held.has(k))));
    this.defaults = new Map(table.models.filter((r) => r.isDefault !== false).map((r) => [r.name, routeKey(r)]));
    for (const route of table.models) {
      let m = this.models.get(routeKey(route));
      if (!m) this.models.set(routeKey(route), (m = new ModelState(route)));
      m.route = route;
      const ids = new Set(route.workers.map((w) => w.id));
      for (const [id, r] of m.remotes) {
        if (!ids.has(id)) {
          m.remotes.delete(id);
          work.push(this.retire(r));
        }
      }
      for (const w of route.workers) {
        const known = m.remotes.get(w.id);
        if (known) known.slots = w.slots;
        else work.push(this.connect(m, w.id, w.socketPath, w.slots));
      }
      if (!route.starting && route.workers.length === 0 && (!route.onDemand || route.failed || route.refusal)) {
        for (const job of m.waiting.splice(0)) job.reject(refused(route));
      }
    }
    for (const w of work) {
      this.retiring.add(w);
      void w.then(() => this.retiring.delete(w));
    }
    // Acknowledging this table says every worker removed so far holds nothing of ours any more.
    await Promise.all([...work, ...this.retiring]);
  }

  /** Stops routing to those of `keys` the table does not list: their waiting requests fail, their workers answer what they hold. */
  private unlist(keys: string[]): Array<Promise<void>> {
    const listed = new Set(this.table.models.map(routeKey));
    const work: Array<Promise<void>> = [];
    for (const key of keys) {
      const m = this.models.get(key);
      if (!m || listed.has(key)) continue;
      this.models.delete(key);
      clearTimeout(m.waitTimer);
      for (const job of m.waiting.splice(0)) job.reject(noWorker(m.route.name));
      for (const r of m.remotes.values()) work.push(this.retire(r));
    }
    return work;
  }

  /**
   * Queues one request for a route's key (`routeKey`); resolves with its reply item or rejects with a ServerError. A model with a
   * response cache answers a repeated input from it without a worker.
   */
  async submit(key: string, item: OutgoingItem, o: SubmitOptions = {}): Promise<ReplyItem> {
    const m = this.models.get(key);
    if (!m) throw modelNotFound(`Model not found: ${key}`);
    // The route as it is now: a table that changes the version meanwhile must not get this answer.
    const route = m.route;
    const cacheKey = this.cache.key(route, item);
    const hit = cacheKey === undefined ? undefined : this.cache.get(route, cacheKey, item.requestId);
    if (hit) return hit;
    const reply = await this.queue(m, item, o);
    if (cacheKey !== undefined && this.models.get(key) === m) this.cache.set(route, cacheKey, reply);
    return reply;
  }

  private queue(m: ModelState, item: OutgoingItem, o: SubmitOptions): Promise<ReplyItem> {
    const name = m.route.name;
    if (o.deadline !== undefined && o.deadline <= performance.now()) return Promise.reject(deadlineExceeded(name));
    if (!o.admitted && m.admitted >= admissionLimit(m.route)) return Promise.reject(queueFull(name));
    m.admitted++;
    this.o.usage?.begin(m.key); // the memory budget counts each version on its own
    item = withDeadlineHeader(item, o.deadline);
    return new Promise<ReplyItem>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      let forget: (() => void) | undefined;
      const finish = (): boolean => {
        if (job.done) return false;
        job.done = true;
        m.admitted--;
        this.o.usage?.end(m.key);
        clearTimeout(timer);
        forget?.();
        return true;
      };
      const job: Job = {
        item,
        attempts: 0,
        requeues: 0,
        done: false,
        resolve: (r) => finish() && resolve(r),
        reject: (e) => finish() && reject(e),
      };
      if (o.deadline !== undefined) timer = setTimeout(() => this.cancel(m, job, deadlineExceeded(name)), o.deadline - performance.now());
      forget = o.whenGone?.(() => this.cancel(m, job, new ClientClosedError(GONE)));
      if (!job.done) this.dispatch(m, job); // done: its client had already gone
    });
  }

  /**
   * Answers `job` with `err` now; a job still waiting here leaves the queue, one sent to a worker is
   * cancelled there (the worker drops it if its batch has not started; its reply is then ignored).
   */
  private cancel(m: ModelState, job: Job, err: Error): void {
    if (job.done) return;
    job.reject(err);
    const i = m.waiting.indexOf(job);
    if (i >= 0) m.waiting.splice(i, 1);
    const r = job.remote;
    if (r && !r.closed && r.outstanding.includes(job)) r.conn?.cancel(job.item.requestId);
  }

  /** Closes every connection (the front is stopping; requests still out fail). */
  close(): void {
    for (const m of this.models.values()) {
      clearTimeout(m.waitTimer);
      for (const job of m.waiting.splice(0)) job.reject(noWorker(m.route.name));
      for (const r of m.remotes.values()) this.drop(r);
    }
    this.models.clear();
  }

  private dispatch(m: ModelState, job: Job): void {
    const best = pickWorker(m.remotes.values(), (r) => r.ready && !r.closed);
    if (best) {
      best.lastPicked = ++this.picks;
      return this.send(m, best, job);
    }
    if (this.models.get(m.key) !== m) return job.reject(noWorker(m.route.name));
    const none = !m.route.starting && m.route.workers.length === 0;
    if (none && (!m.route.onDemand || m.route.failed)) return job.reject(refused(m.route));
    if (none && m.waiting.length === 0) this.o.onDemand?.(m.key); // its first request loads it
    // A worker is connecting, restarting or loading on demand: wait for it, at most one response timeout.
    job.waitingSince = performance.now();
    m.waiting.push(job);
    m.armWaitTimer();
  }

  private send(m: ModelState, r: Remote, job: Job): void {
    job.remote = r;
    if (r.outstanding.push(job) === 1) {
      r.progressAt = performance.now();
      this.armWatchdog(m, r, m.route.responseTimeoutMs);
    }
    r.conn!.send({ kind: 'predict', batch: [job.item] }).then(
      (reply) => {
        this.settled(m, r, job);
        try {
          this.answer(m, r, job, reply);
        } catch (err) {
          job.reject(err as Error); // a job must settle whatever happens (a no-op once it has)
        }
      },
      (err: Error) => {
        // A request that cannot be framed was never written: it fails alone, the connection lives on.
        if (err instanceof FrameEncodeError) {
          this.settled(m, r, job);
          return job.reject(badRequest(`Request cannot be sent to the worker: ${err.message}`));
        }
        // The first of the connection's failures sees every request it held still outstanding.
        r.runningAtLoss ??= new Set(r.outstanding.slice(0, m.route.batchSize * r.slots));
        this.settled(m, r, job);
        this.lost(m, r, job, r.runningAtLoss.has(job));
      },
    );
  }

  private answer(m: ModelState, r: Remote, job: Job, reply: WorkerReply): void {
    const out = replyOutcome(reply, job.item.requestId);
    if (out.served) {
      if (!r.served) {
        r.served = true;
        this.o.onServed?.(m.key, r.id);
      }
      this.o.onReply?.(m.route.name, reply.message, m.key);
    }
    if ('item' in out) job.resolve(out.item);
    else job.reject(out.error);
  }

  /** A reply (or a failure) came for `job`: the worker made progress. */
  private settled(m: ModelState, r: Remote, job: Job): void {
    const i = r.outstanding.indexOf(job);
    if (i >= 0) r.outstanding.splice(i, 1);
    // One timer per busy worker, moved on lazily: no timer work per reply on the hot path.
    r.progressAt = performance.now();
    if (r.outstanding.length > 0) return;
    clearTimeout(r.watchdog);
    r.watchdog = undefined;
    if (r.drained) this.drop(r);
  }

  /**
   * The worker died (or was declared stuck) holding `job`: sent to another worker while `sendAgain`
   * allows (`running`: the worker may have been running it), else 503.
   */
  private lost(m: ModelState, r: Remote, job: Job, running: boolean): void {
    this.drop(r);
    const name = m.route.name;
    if (job.done) return; // answered already (a deadline, a client gone): nothing to retry
    if (job.timedOut) return job.reject(workerTimeout());
    if (sendAgain(job, running) && m.route.retryOnWorkerDeath && this.models.get(m.key) === m) return this.dispatch(m, job);
    void Promise.resolve(this.o.exitCause?.(m.key, r.id)).catch(() => undefined).then((c) => job.reject(workerDied(name, c)));
  }

  /**
   * The response timeout counts from the worker's last sign of progress: a request queued in the
   * worker behind others is not blamed for their time; a worker that answers nothing is stuck.
   */
  private armWatchdog(m: ModelState, r: Remote, ms: number): void {
    r.watchdog = setTimeout(() => {
      r.watchdog = undefined;
      if (r.outstanding.length === 0 || r.closed) return;
      const quiet = performance.now() - r.progressAt;
      if (quiet < m.route.responseTimeoutMs) return this.armWatchdog(m, r, m.route.responseTimeoutMs - quiet);
      // The oldest request still awaited is blamed, not one answered already (its client gone) that
      // the worker holds: the blamed one fails with the timeout rather than going to another worker.
      (r.outstanding.find((j) => !j.done) ?? r.outstanding[0]).timedOut = true;
      this.o.log.warn({ model: m.route.name, worker: r.id }, 'worker answered nothing within the response timeout');
      this.o.onStuck?.(m.key, r.id);
      r.stuck = true;
      this.drop(r);
    }, ms);
  }

  private async connect(m: ModelState, id: string, socketPath: string, slots: number, attempt = 0): Promise<void> {
    const r = new Remote(id, m);
    r.slots = slots;
    m.remotes.set(id, r);
    try {
      r.conn = await bindWorker(socketPath, m.route, this.o);
    } catch (err) {
      this.o.log.warn({ model: m.route.name, worker: id, err: (err as Error).message }, 'cannot connect to worker');
      this.drop(r);
      // A worker of the table we cannot reach: once more shortly (the controller replaces a dead one).
      if (attempt === 0) setTimeout(() => this.reconnect(m, id), RECONNECT_MS).unref();
      return;
    }
    if (r.closed) {
      r.conn.close();
      return;
    }
    r.ready = true;
    void r.conn.closed.then(() => {
      // The connection went (a fault, or the worker's death, whichever failed its requests first)
      // while the worker may live on: connect again if the table still lists it. Not to a worker
      // retired or reported stuck (the controller stops it).
      const again = !r.retiring && !r.stuck;
      this.drop(r);
      if (again) setTimeout(() => this.reconnect(m, id), RECONNECT_MS).unref();
    });
    for (const job of m.waiting.splice(0)) this.dispatch(m, job);
    clearTimeout(m.waitTimer);
    m.waitTimer = undefined;
  }

  private reconnect(m: ModelState, id: string): void {
    const w = m.route.workers.find((w) => w.id === id);
    if (this.models.get(m.key) !== m || m.remotes.has(id) || !w) return;
    void this.connect(m, id, w.socketPath, w.slots, 1);
  }

  /** No new requests; resolves once what it holds is answered. */
  private retire(r: Remote): Promise<void> {
    r.ready = false;
    r.retiring = true;
    if (r.outstanding.length === 0) {
      this.drop(r);
      return Promise.resolve();
    }
    return new Promise((resolve) => (r.drained = resolve));
  }

  private drop(r: Remote): void {
    r.ready = false;
    const drained = r.drained;
    r.drained = undefined;
    if (!r.closed) {
      r.closed = true;
      clearTimeout(r.watchdog);
      r.conn?.close();
    }
    // A closed remote of a listed worker leaves the map, so the next table or a reconnect opens a new one.
    if (!r.retiring && r.owner.remotes.get(r.id) === r) r.owner.remotes.delete(r.id);
    drained?.();
  }
}

export type { RouterOptions, SubmitOptions } from './router-options.js';
