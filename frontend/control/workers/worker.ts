// One worker as the API counts them: a slot with its own worker process, started, loaded, warmed up,
// pinged and stopped by the controller. The controller keeps one connection to it (Load, warm-up);
// inference requests reach it over the fronts' own connections.
import { randomBytes } from 'node:crypto';
import type { Runtime } from '../../../protocol/manifest.js';
import { StatusCode, parseLoadedPid, parseLoadedProvider, type OutgoingItem } from '../../../protocol/messages.js';
import { readMetadata, type ModelMetadata } from '../../../protocol/model-metadata.js';
import { WORKER_ARG_DEFAULTS } from '../../../protocol/worker-args.js';
import { ServerError, workerStartFailed } from '../../errors.js';
import type { Logger } from '../../logging/logger.js';
import { WorkerConnection } from '../../../protocol/worker-connection.js';
import { WorkerPinger, type PingOptions } from './worker-pinger.js';
import { WorkerProcess } from './worker-process.js';
import { workerSocketPath } from './worker-sockets.js';
import { oomVerdict, readOomKills, type ExitInfo } from './exit-info.js';
import type { CpuAllocator, CpuLease } from '../cpus/cpu-allocator.js';
import { formatCpuList } from '../../config/host-cpus.js';

export type WorkerState = 'STARTING' | 'READY' | 'STOPPED' | 'ERROR' | 'SCALED_DOWN';

/** What a worker needs to know about its model; filled by the registry. */
export interface WorkerSpec {
  modelName: string;
  modelDir: string;
  handler: string;
  runtime: Runtime;
  batchSize: number;
  /** The model's max_batch_delay (ms), for the worker's own batch former. */
  maxBatchDelay: number;
  /** CUDA device id, or -1 (CPU). */
  gpuId: number;
  /** Tried in order, each alone; later ones are fallbacks (docs/gpu.md, Execution providers). */
  executionProviders: string[];
  /** 0, or the sessions (threads) of a shared process or a GPU tensor worker: batches it runs at once (protocol/worker-args.ts). */
  sessions: number;
  intraOpThreads: number;
  responseTimeoutMs: number;
  /** Until the worker process is up (its readiness line). */
  startTimeoutMs: number;
  /** For its Load reply: the model's load, bounded apart from inference (model_load_timeout). */
  loadTimeoutMs: number;
  maxResponseSize: number;
  /** Liveness pings on the control channel (worker_ping_interval_ms, worker_ping_misses). */
  ping: PingOptions;
  env: NodeJS.ProcessEnv;
  /** Example request run after loading, before the worker takes traffic. */
  warmup?: OutgoingItem;
  /** The server's CPU allocator, and the cores this worker is pinned to (0: not pinned; cpu_affinity). */
  cpus?: { allocator: CpuAllocator; cores: number };
}

class TimeoutError extends Error {}

/** A worker as its pool sees it: a process of its own (Worker) or a slot of a shared one (worker-slot.ts). */
export interface PoolMember {
  /** What describe lists. */
  readonly id: string;
  /** The process's id: the routing table's worker id, which fronts report stuck or served. */
  readonly hostId: string;
  readonly gpuId: number;
  readonly startTime: Date;
  readonly state: WorkerState;
  readonly pid?: number;
  readonly socketPath?: string;
  /** The execution provider the process reported, e.g. `cuda:0`. */
  readonly provider?: string;
  /** The tensors the loaded model reports (its Load reply), for Open Inference Protocol metadata. */
  readonly metadata?: ModelMetadata;
  /** The CPUs its process is pinned to ("2-3"; cpu_affinity), and whether another pinned worker holds one of them too. */
  readonly cpus?: string;
  readonly cpusShared?: boolean;
  readonly ended: Promise<void>;
  /** Resolves once its process has exited, with why (undefined: it never ran). */
  readonly exited: Promise<ExitInfo | undefined>;
  /** Its process's last stderr lines. */
  readonly stderr: string[];
  start(): Promise<void>;
  stop(): Promise<void>;
  kill(reason: string): void;
}

export class Worker implements PoolMember {
  readonly id: string;
  readonly startTime = new Date();
  state: WorkerState = 'STARTING';
  provider?: string;
  private process?: WorkerProcess;
  private connection?: WorkerConnection;
  private pinger?: WorkerPinger;
  private starting?: Promise<void>;
  private socket?: string;
  /** The tensors the loaded model reports (its Load reply), for Open Inference Protocol metadata. */
  metadata?: ModelMetadata;
  /** Resolves when the worker stops for any reason after start(): crash, timeout, or stop(). */
  readonly ended: Promise<void>;
  private end!: () => void;
  readonly exited: Promise<ExitInfo | undefined>;
  private exit!: (e: ExitInfo | undefined) => void;
  /** What the server killed it for (its exit is then not the kernel's OOM killer). */
  private killedBy?: string;
  /** Its process's cores (cpu_affinity), held until the process exits. */
  private lease?: CpuLease;

  /** `label`: the slot number, or what a shared process serves (e.g. `gpu0`). */
  constructor(
    label: number | string,
    private readonly spec: WorkerSpec,
    private readonly log: Logger,
  ) {
    this.id = `${spec.modelName}-${label}-${randomBytes(4).toString('hex')}`;
    this.ended = new Promise((resolve) => (this.end = resolve));
    this.exited = new Promise((resolve) => (this.exit = resolve));
  }

  get stderr(): string[] {
    return this.process?.stderrTail.get() ?? [];
  }

  get hostId(): string {
    return this.id;
  }

  get gpuId(): number {
    return this.spec.gpuId;
  }

  get pid(): number | undefined {
    return this.process?.pid;
  }

  get cpus(): string | undefined {
    return this.lease && formatCpuList(this.lease.cpus);
  }

  get cpusShared(): boolean | undefined {
    return this.lease?.shared();
  }

  /** The worker process's socket, which the fronts connect to. */
  get socketPath(): string | undefined {
    return this.socket;
  }

  /** Spawns, connects and loads the model. Throws a ServerError with the worker's reason on failure. */
  start(): Promise<void> {
    return (this.starting ??= this.launch());
  }

  private async launch(): Promise<void> {
    const socketPath = workerSocketPath();
    this.socket = socketPath;
    const log = this.log.child({ worker: this.id });
    const oomBefore = readOomKills();
    const placement = this.spec.cpus;
    const lease = (this.lease = placement && placement.cores > 0 ? placement.allocator.acquire(placement.cores) : undefined);
    if (lease) void this.exited.then(() => lease.release());
    try {
      this.process = await WorkerProcess.start({
        args: {
          ...WORKER_ARG_DEFAULTS,
          sockName: socketPath,
          runtime: this.spec.runtime,
          intraOpThreads: this.spec.intraOpThreads,
          executionProviders: this.spec.executionProviders,
          sessions: this.spec.sessions,
          maxResponseSize: this.spec.maxResponseSize,
          maxBatchDelay: this.spec.maxBatchDelay,
        },
        cwd: this.spec.modelDir,
        env: this.spec.env,
        startTimeoutMs: this.spec.startTimeoutMs,
        log,
        cpus: lease?.cpus ?? placement?.allocator.unpinned(),
      });
      const proc = this.process;
      void proc.exited.then(({ code, signal }) => {
        const stopped = this.state === 'SCALED_DOWN';
        // An exit code means it ended by itself, even if we were about to kill it (its pipe closed first).
        const killedBy = stopped || signal === null ? undefined : this.killedBy;
        this.exit({ code, signal, oomKilled: oomVerdict(signal, stopped || killedBy !== undefined, oomBefore), at: new Date().toISOString(), stderr: proc.stderrTail.get(), ...(killedBy ? { killedBy } : {}) });
        this.onExit(`process exited (code ${code}, signal ${signal})`);
      });
      this.connection = await WorkerConnection.connect(socketPath, this.spec.maxResponseSize);
      void this.connection.closed.then((reason) => this.onExit(reason.message));
      const reply = await this.withTimeout(
        this.connection.send({
          kind: 'load',
          modelName: this.spec.modelName,
          modelPath: this.spec.modelDir,
          batchSize: this.spec.batchSize,
          handler: this.spec.handler,
          gpuId: this.spec.gpuId,
          ioDescriptor: this.id,
        }),
        this.spec.loadTimeoutMs,
        `model not loaded within model_load_timeout (${this.spec.loadTimeoutMs / 1000} s)`,
      );
      if (reply.code !== StatusCode.ok) throw workerStartFailed(reply.message, reply.code);
      this.provider = parseLoadedProvider(reply.message);
      this.metadata = readMetadata(reply);
      if (this.spec.warmup) await this.warmUp(this.connection, this.spec.warmup);
      const loaded = { pid: parseLoadedPid(reply.message) ?? this.pid, provider: this.provider, gpu: this.spec.gpuId, sessions: this.spec.sessions, cpus: this.cpus };
      log.info({ ...loaded, ms: Date.now() - this.startTime.getTime() }, 'worker loaded model');
      if (this.state === 'STARTING') {
        this.state = 'READY';
        this.pinger = new WorkerPinger(this.process.control, this.spec.ping, (reason) => {
          log.warn({ reason }, 'worker does not answer pings; killing it');
          this.killedBy ??= reason;
          this.onExit(reason);
        });
        this.pinger.start();
      }
    } catch (err) {
      this.state = 'ERROR';
      this.killedBy ??= `failed start: ${(err as Error).message}`;
      this.destroy();
      if (!this.process) this.exit(undefined);
      await this.process?.exited; // the caller may report failure only once nothing is left running
      if (err instanceof ServerError) throw err;
      throw workerStartFailed(`Failed to start worker: ${(err as Error).message}`);
    }
  }

  private async warmUp(connection: WorkerConnection, item: OutgoingItem): Promise<void> {
    const reply = await this.withTimeout(connection.send({ kind: 'predict', batch: [item] }), this.spec.responseTimeoutMs);
    const status = reply.code === StatusCode.ok ? (reply.items[0]?.status ?? 500) : reply.code;
    if (status >= 400) {
      const detail = reply.items[0]?.body.toString('utf8', 0, 300) || reply.message;
      throw workerStartFailed(`Warm-up request failed with status ${status}: ${detail}`);
    }
  }

  /** Removes the worker on purpose (scale-down, unregister, shutdown). */
  async stop(): Promise<void> {
    // A worker still starting is stopped once it is up (or has failed), so nothing outlives stop().
    await this.starting?.catch(() => undefined);
    this.state = 'SCALED_DOWN';
    this.pinger?.stop();
    this.connection?.close();
    await this.process?.stop();
    if (!this.process) this.exit(undefined);
    this.end();
  }

  /** Kills it as failed (a front found it stuck); it ends and is replaced like a crash. */
  kill(reason: string): void {
    this.killedBy ??= reason;
    this.onExit(reason);
  }

  private destroy(): void {
    this.pinger?.stop();
    this.connection?.close();
    this.process?.kill();
  }

  private onExit(reason: string): void {
    if (this.state === 'SCALED_DOWN' || this.state === 'STOPPED') return;
    if (this.state !== 'ERROR' && this.state !== 'STARTING') this.log.warn({ worker: this.id, reason }, 'worker stopped; replacing it');
    if (this.state !== 'ERROR') this.state = 'STOPPED';
    this.destroy();
    this.end();
  }

  /** `p`, or a TimeoutError after `ms`. */
  private withTimeout<T>(p: Promise<T>, ms: number, what = `no reply within ${ms} ms`): Promise<T> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new TimeoutError(what)), ms);
      p.then(
        (v) => { clearTimeout(timer); resolve(v); },
        (e) => { clearTimeout(timer); reject(e); },
      );
    });
  }
}
