// The controller's side of the inference fronts: forks N of them (node:cluster shares the Inference
// API's listening socket between them), restarts one that dies while the others serve, pushes each
// routing table to all and waits until every live front applies it, and gathers their metrics.
import cluster, { type Worker as ClusterWorker } from 'node:cluster';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import type { ControllerMessage, FrontMessage, RouteTable } from '../../protocol/routes.js';
import type { Address } from '../config/address.js';
import type { ServerConfig } from '../config/server-config.js';
import type { Logger } from '../logging/logger.js';
import { CONTROLLER_NODE_ARGS } from '../controller-node-args.js';
import { frontEnv } from '../inference/front-config.js';
import { restartDelayMs } from './workers/backoff.js';
import type { UsageMap } from '../inference/model-usage.js';
import type { LoadMap } from '../inference/model-load.js';

const FRONT_MAIN = fileURLToPath(new URL('../inference/front-main.js', import.meta.url));

/**
 * A front holds little for long: a young generation of 8 MiB semi-spaces (V8 default 16) and fewer
 * malloc arenas keep its resident memory near its working set after a burst of large bodies, and a
 * collection when it goes quiet (idle-gc.ts, which needs --expose-gc) gives the burst's back. Not
 * smaller: at 4 MiB a request still in flight (~100 ms at c=64) outlived two scavenges and was
 * promoted, and the old-space collections that followed cost ~20% of a front's CPU on 110 KB bodies
 * (docs/performance-profile.md, "Paired steps"); the resident memory measured the same. It collects
 * on its own thread: V8's parallel and concurrent GC threads, in every front beside every worker, took
 * cores from the workers on the 16-core host (5–27% more cls requests a second without them in five
 * pairs, fronts' CPU a request −5 to −21%; on 2 cores the same within noise), at ~30 MB more native
 * heap after a gRPC load (likely its buffers freed later, in the main thread's own sweeps).
 */
const FRONT_NODE_ARGS = ['--max-semi-space-size=8', '--single-threaded-gc', '--expose-gc'];
const FRONT_ENV = { MALLOC_ARENA_MAX: '2', MALLOC_TRIM_THRESHOLD_: '131072' };

/** Extra node flags for fronts (e.g. --cpu-prof), as MMS_WORKER_NODE_ARGS is for workers. */
function extraFrontArgs(): string[] {
  return process.env.MMS_FRONT_NODE_ARGS?.split(/\s+/).filter(Boolean) ?? [];
}

/**
 * A front that does not apply a table within this long (at least 30 s, and at least the longest
 * response timeout, since applying waits for removed workers to answer what they hold) is left behind
 * (logged); it gets the next table.
 */
const MIN_APPLY_TIMEOUT_MS = 30_000;

/**
 * How long a front has to answer a question (metrics, usage, load). A busy front can take a while on
 * a loaded host; one that misses it is left out of that answer (a scrape's counts would then dip).
 */
const ASK_TIMEOUT_MS = 5_000;

/** Fronts that do not exit within this long of a stop (beyond the graceful drain) are killed. */
const STOP_GRACE_MS = 5_000;

export interface FrontsOptions {
  count: number;
  config: ServerConfig;
  log: Logger;
  pretty: boolean;
  inferenceKey?: string;
  table: RouteTable;
  onStuck: (model: string, worker: string) => void;
  onServed: (model: string, worker: string) => void;
  /** A request arrived for an on-demand model with no worker. */
  onDemand: (model: string) => void;
  /** Why a worker process ended, for a front whose request it took down. */
  exitCause: (model: string, worker: string) => Promise<string | undefined>;
}

interface Front {
  index: number;
  worker: ClusterWorker;
  applied: number;
  startedAt: number;
  /** When it began to listen (it serves from then on). */
  listeningAt?: number;
}

export class Fronts {
  private readonly fronts = new Map<number, Front>();
  private table: RouteTable;
  private stopping = false;
  private crashes = 0;
  private readonly waiters = new Set<() => void>();
  /** Answers awaited from fronts (metrics, usage, load) by query id; `fail` settles one with its fallback. */
  private readonly replies = new Map<number, { front: Front; answer: (answer: unknown) => void; fail: () => void }>();
  private nextQueryId = 0;
  url = '';
  /** Where the fronts' gRPC service listens ('' when off). */
  grpcUrl = '';

  private constructor(private readonly o: FrontsOptions) {
    this.table = o.table;
  }

  /** Forks the fronts; resolves with them once every one listens. */
  static async start(o: FrontsOptions): Promise<Fronts> {
    // node:cluster shares a listening socket by the port the fronts ask for. Asked for port 0, the
    // socket lives while a front holds it: a front restarted after the last one died would get a new
    // ephemeral port that no client knows. So a port-0 address is resolved here, once, for all. Another
    // process can take that port before the fronts listen (seen in CI: EADDRINUSE); then the start is
    // tried again on another port.
    const { inferenceAddress, grpcAddress } = o.config; // the gRPC listener is shared the same way
    const chosen = anyPort(inferenceAddress) || anyPort(grpcAddress);
    for (let attempt = 1; ; attempt++) {
      const config = { ...o.config, inferenceAddress: await resolvePort(inferenceAddress), grpcAddress: await resolvePort(grpcAddress) };
      try {
        return await Fronts.startOn({ ...o, config });
      } catch (err) {
        if (!chosen || attempt >= PORT_ATTEMPTS) throw err;
        o.log.warn({ err: (err as Error).message, attempt }, 'inference fronts did not start on the chosen ports; trying others');
      }
    }
  }

  private static async startOn(o: FrontsOptions): Promise<Fronts> {
    const fronts = new Fronts(o);
    // Each front accepts from the shared socket itself. Under round-robin the controller accepts and
    // hands each connection to a front over IPC; one handed to a front that just died is neither
    // served nor closed, so its client hangs (until its own timeout: 300 s for fetch). Under SCHED_NONE
    // a dead front's unaccepted connections stay in the socket's backlog for the others.
    cluster.schedulingPolicy = cluster.SCHED_NONE;
    const inherited = process.execArgv.filter((a) => !CONTROLLER_NODE_ARGS.includes(a));
    cluster.setupPrimary({ exec: FRONT_MAIN, args: [], silent: false, execArgv: [...inherited, ...FRONT_NODE_ARGS, ...extraFrontArgs()] });
    try {
      await Promise.all(Array.from({ length: o.count }, (_, i) => fronts.fork(i)));
    } catch (err) {
      await fronts.stop(); // the ones that did start, and no restarts of the one that failed
      throw err;
    }
    return fronts;
  }

  get count(): number {
    return this.fronts.size;
  }

  /** Front pids by index (tests and chaos kill them). */
  pids(): number[] {
    return [...this.fronts.values()].sort((a, b) => a.index - b.index).map((f) => f.worker.process.pid ?? -1);
  }

  /** Sends a table to every front; resolves once each live front has applied it. */
  async publish(table: RouteTable): Promise<void> {
    this.table = table;
    for (const f of this.fronts.values()) this.send(f, { type: 'routes', table });
    const done = () => [...this.fronts.values()].every((f) => f.applied >= table.version);
    if (done()) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        this.o.log.warn({ version: table.version }, 'a front did not apply the routing table in time');
        resolve();
      }, Math.max(MIN_APPLY_TIMEOUT_MS, ...table.models.map((m) => m.responseTimeoutMs)));
      const check = () => {
        if (!done()) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve();
      };
      this.waiters.add(check);
    });
  }

  /** Every front's metrics (prom-client JSON), for one aggregated /metrics. */
  metrics(): Promise<unknown[][]> {
    return this.ask<unknown[]>('metrics', []);
  }

  /** Every front's model usage (requests in flight, last use), for the memory budget. */
  usage(): Promise<UsageMap[]> {
    return this.ask<UsageMap>('usage', {});
  }

  /** Every front's queue waits and busy time since the last ask (the autoscaler's input). */
  load(): Promise<LoadMap[]> {
    return this.ask<LoadMap>('load', {});
  }

  /**
   * Asks every front and collects the answers; a front that dies first, or does not answer within
   * ASK_TIMEOUT_MS, counts as `fallback`.
   */
  private ask<T>(type: 'metrics' | 'usage' | 'load', fallback: T): Promise<T[]> {
    return Promise.all(
      [...this.fronts.values()].map((front) => new Promise<T>((resolve) => {
        const id = ++this.nextQueryId;
        const settle = (answer: T) => {
          clearTimeout(timer);
          this.replies.delete(id);
          resolve(answer);
        };
        const timer = setTimeout(() => settle(fallback), ASK_TIMEOUT_MS);
        this.replies.set(id, { front, answer: (answer) => settle(answer as T), fail: () => settle(fallback) });
        this.send(front, { type, id });
      })),
    );
  }

  /** Lets every front finish what it serves, then waits for them to exit (killing any that hangs). */
  async stop(): Promise<void> {
    this.stopping = true;
    const deadline = this.o.config.gracefulShutdownTimeout * 1000 + STOP_GRACE_MS;
    const exits = [...this.fronts.values()].map((f) => new Promise<void>((resolve) => {
      if (f.worker.isDead()) return resolve();
      const timer = setTimeout(() => f.worker.process.kill('SIGKILL'), deadline);
      f.worker.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      this.send(f, { type: 'stop' });
    }));
    await Promise.all(exits);
  }

  private fork(index: number): Promise<void> {
    const settings = { index, fronts: this.o.count, logLevel: this.o.log.level, pretty: this.o.pretty, inferenceKey: this.o.inferenceKey };
    // The server's own environment wins over our memory defaults.
    const env = { ...FRONT_ENV, ...definedIn(process.env, Object.keys(FRONT_ENV)), ...frontEnv(this.o.config, settings) };
    const worker = cluster.fork(env);
    const front: Front = { index, worker, applied: 0, startedAt: Date.now() };
    this.fronts.set(index, front);
    // IPC errors (EPIPE when the front died) are not the front's exit, which is handled below.
    worker.on('error', (err: Error) => this.o.log.debug({ front: index, err: err.message }, 'inference front IPC error'));
    return new Promise((resolve, reject) => {
      worker.on('message', (m: FrontMessage) => {
        // The first table comes before the front listens, so it never serves without routes.
        // A front that boots while we stop missed the stop sent earlier (it had no listener yet).
        if (m.type === 'ready') this.send(front, this.stopping ? { type: 'stop' } : { type: 'routes', table: this.table });
        else if (m.type === 'listening') {
          front.listeningAt = Date.now();
          this.url ||= m.url;
          this.grpcUrl ||= m.grpcUrl ?? '';
          resolve();
        } else this.onMessage(front, m);
      });
      worker.once('exit', (code, signal) => {
        reject(new Error(`inference front exited during start (code ${code}, signal ${signal})`));
        this.onExit(front, code, signal);
      });
    });
  }

  private onMessage(front: Front, m: FrontMessage): void {
    switch (m.type) {
      case 'routes-applied':
        front.applied = Math.max(front.applied, m.version);
        for (const check of [...this.waiters]) check();
        break;
      case 'metrics':
      case 'usage':
      case 'load':
        this.replies.get(m.id)?.answer(m.type === 'metrics' ? m.metrics : m.type === 'usage' ? m.usage : m.load);
        break;
      case 'demand':
        this.o.onDemand(m.model);
        break;
      case 'exit-cause':
        void this.o.exitCause(m.model, m.worker).catch(() => undefined).then((cause) => this.send(front, { type: 'exit-cause', id: m.id, cause }));
        break;
      case 'worker-stuck':
        this.o.onStuck(m.model, m.worker);
        break;
      case 'worker-served':
        this.o.onServed(m.model, m.worker);
        break;
    }
  }

  private onExit(front: Front, code: number | null, signal: string | null): void {
    if (this.fronts.get(front.index) !== front) return;
    this.fronts.delete(front.index);
    for (const check of [...this.waiters]) check();
    for (const reply of [...this.replies.values()]) if (reply.front === front) reply.fail(); // it will not answer
    if (this.stopping) return;
    // A front that was serving (listening for a second or more) restarts at once, however often fronts
    // are killed; one that keeps dying during its start, or right after it, backs off.
    if (Date.now() - (front.listeningAt ?? Infinity) >= FRONT_SERVING_MS) this.crashes = 0;
    const delay = restartDelayMs(this.crashes++);
    this.o.log.warn({ front: front.index, code, signal, delayMs: delay }, 'inference front died; restarting it');
    setTimeout(() => {
      if (!this.stopping) this.fork(front.index).catch((err: Error) => this.o.log.error({ err: err.message }, 'inference front restart failed'));
    }, delay).unref();
  }

  /**
   * A front can die between the check and the write: the pipe then fails with EPIPE, reported to the
   * callback (without one it is an 'error' event, uncaught). Its exit event restarts it; nothing to do here.
   */
  private send(front: Front, message: ControllerMessage): void {
    if (front.worker.isConnected()) front.worker.send(message, (err: Error | null) => {
      if (err) this.o.log.debug({ front: front.index, err: err.message }, 'message to a dying front not delivered');
    });
  }
}

/** A front listening this long before it died was serving: its death is no crash loop. */
const FRONT_SERVING_MS = 1000;

/** Starts tried when a port-0 address is resolved to a port that another process then takes. */
const PORT_ATTEMPTS = 3;

const anyPort = (a: Address | undefined) => a?.kind === 'tcp' && a.port === 0;

/** A port-0 address with a port free now in its place; any other address as it is. */
async function resolvePort<A extends Address | undefined>(a: A): Promise<A> {
  return a?.kind === 'tcp' && a.port === 0 ? { ...a, port: await freePort(a.host) } : a;
}

/** A port free on `host` now (the kernel's choice for port 0). */
function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, host, () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

function definedIn(env: NodeJS.ProcessEnv, keys: string[]): Record<string, string> {
  return Object.fromEntries(keys.filter((k) => env[k] !== undefined).map((k) => [k, env[k]!]));
}
