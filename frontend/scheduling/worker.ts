// One worker as the API counts them: a slot that owns a connection to a worker process. Today each
// slot has its own process; a process could host several slots sharing one model (one connection each).
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Runtime } from '../../protocol/manifest.js';
import { StatusCode, parseLoadedPid, type ReplyItem, type OutgoingItem, type WorkerReply } from '../../protocol/messages.js';
import { WORKER_ARG_DEFAULTS } from '../../protocol/worker-args.js';
import { ServerError, WorkerLostError, internal, workerDied } from '../http/errors.js';
import type { Logger } from '../logging/logger.js';
import { WorkerConnection } from './worker-connection.js';
import { WorkerPinger, type PingOptions } from './worker-pinger.js';
import { WorkerProcess } from './worker-process.js';

export type WorkerState = 'STARTING' | 'READY' | 'BUSY' | 'STOPPED' | 'ERROR' | 'SCALED_DOWN';

/** What a worker needs to know about its model; filled by the registry. */
export interface WorkerSpec {
  modelName: string;
  modelDir: string;
  handler: string;
  runtime: Runtime;
  batchSize: number;
  /** The model's max_batch_delay (ms), for the worker's own batch former. */
  maxBatchDelay: number;
  gpuId: number;
  intraOpThreads: number;
  responseTimeoutMs: number;
  startTimeoutMs: number;
  maxResponseSize: number;
  /** Liveness pings on the control channel (worker_ping_interval_ms, worker_ping_misses). */
  ping: PingOptions;
  env: NodeJS.ProcessEnv;
  /** Example request run after loading, before the worker takes traffic. */
  warmup?: OutgoingItem;
}

let socketCounter = 0;

class TimeoutError extends Error {}

export class Worker {
  readonly id: string;
  readonly startTime = new Date();
  state: WorkerState = 'STARTING';
  private process?: WorkerProcess;
  private connection?: WorkerConnection;
  private pinger?: WorkerPinger;
  private starting?: Promise<void>;
  /** Batches sent and not yet answered. */
  private inFlight = 0;
  /** Settles when the last batch sent has its answer: the worker starts the next one then. */
  private previous: Promise<unknown> = Promise.resolve();
  /** Resolves when the worker stops for any reason after start(): crash, timeout, or stop(). */
  readonly ended: Promise<void>;
  private end!: () => void;

  constructor(
    readonly slot: number,
    private readonly spec: WorkerSpec,
    private readonly log: Logger,
  ) {
    this.id = `${spec.modelName}-${slot}-${randomBytes(4).toString('hex')}`;
    this.ended = new Promise((resolve) => (this.end = resolve));
  }

  get pid(): number | undefined {
    return this.process?.pid;
  }

  /** Nothing in flight. */
  get idle(): boolean {
    return this.state === 'READY';
  }

  /** Loaded and with fewer than `depth` batches sent to it (one running, the rest waiting in its socket). */
  accepts(depth: number): boolean {
    return (this.state === 'READY' || this.state === 'BUSY') && this.inFlight < depth;
  }

  /** Spawns, connects and loads the model. Throws a ServerError with the worker's reason on failure. */
  start(): Promise<void> {
    return (this.starting ??= this.launch());
  }

  private async launch(): Promise<void> {
    // Unix socket paths are limited to ~107 bytes: keep the name short whatever the model is called.
    const socketPath = path.join(os.tmpdir(), `.mms.sock.${process.pid}.${++socketCounter}`);
    const log = this.log.child({ worker: this.id });
    try {
      this.process = await WorkerProcess.start({
        args: {
          ...WORKER_ARG_DEFAULTS,
          sockName: socketPath,
          runtime: this.spec.runtime,
          intraOpThreads: this.spec.intraOpThreads,
          executionProviders: ['cpu'],
          maxResponseSize: this.spec.maxResponseSize,
          maxBatchDelay: this.spec.maxBatchDelay,
        },
        cwd: this.spec.modelDir,
        env: this.spec.env,
        startTimeoutMs: this.spec.startTimeoutMs,
        log,
      });
      void this.process.exited.then(({ code, signal }) => this.onExit(`process exited (code ${code}, signal ${signal})`));
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
        this.spec.startTimeoutMs,
      );
      if (reply.code !== StatusCode.ok) throw new ServerError(reply.code, 'InternalServerException', reply.message);
      if (this.spec.warmup) await this.warmUp(this.connection, this.spec.warmup);
      log.info({ pid: parseLoadedPid(reply.message) ?? this.pid, ms: Date.now() - this.startTime.getTime() }, 'worker loaded model');
      if (this.state === 'STARTING') {
        this.state = 'READY';
        this.pinger = new WorkerPinger(this.process.control, this.spec.ping, (reason) => {
          log.warn({ reason }, 'worker does not answer pings; killing it');
          this.onExit(reason);
        });
        this.pinger.start();
      }
    } catch (err) {
      this.state = 'ERROR';
      this.kill();
      await this.process?.exited; // the caller may report failure only once nothing is left running
      if (err instanceof ServerError) throw err;
      throw internal(`Failed to start worker: ${(err as Error).message}`);
    }
  }

  private async warmUp(connection: WorkerConnection, item: OutgoingItem): Promise<void> {
    const reply = await this.withTimeout(connection.send({ kind: 'predict', batch: [item] }), this.spec.responseTimeoutMs);
    const status = reply.code === StatusCode.ok ? (reply.items[0]?.status ?? 500) : reply.code;
    if (status >= 400) {
      const detail = reply.items[0]?.body.toString('utf8', 0, 300) || reply.message;
      throw internal(`Warm-up request failed with status ${status}: ${detail}`);
    }
  }

  /** Sends one batch and waits for its reply, bounded by the response timeout. */
  async run(batch: OutgoingItem[]): Promise<WorkerReply> {
    if (!this.accepts(Infinity) || !this.connection) throw workerDied();
    this.inFlight++;
    this.state = 'BUSY';
    // The worker runs batches one after another: a batch queued behind another starts when that one
    // is answered, and its response timeout counts from then.
    const ahead = this.previous;
    const reply = this.connection.send({ kind: 'predict', batch });
    this.previous = reply.catch(() => undefined);
    try {
      return await this.withTimeout(reply, this.spec.responseTimeoutMs, ahead);
    } catch (err) {
      // Marked stopped at once, so no further batch is handed to it while it is being killed.
      this.onExit(`failed a batch: ${(err as Error).message}`);
      throw new WorkerLostError(err instanceof TimeoutError);
    } finally {
      if (--this.inFlight === 0 && this.state === 'BUSY') this.state = 'READY';
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
    this.end();
  }

  private kill(): void {
    this.pinger?.stop();
    this.connection?.close();
    this.process?.kill();
  }

  private onExit(reason: string): void {
    if (this.state === 'SCALED_DOWN' || this.state === 'STOPPED') return;
    if (this.state !== 'ERROR' && this.state !== 'STARTING') this.log.warn({ worker: this.id, reason }, 'worker stopped; replacing it');
    if (this.state !== 'ERROR') this.state = 'STOPPED';
    this.kill();
    this.end();
  }

  /** `p`, or a TimeoutError `ms` after `startAfter` settles (at once by default). */
  private withTimeout<T>(p: Promise<T>, ms: number, startAfter?: Promise<unknown>): Promise<T> {
    return new Promise((resolve, reject) => {
      let settled = false;
      let timer: NodeJS.Timeout | undefined;
      const arm = () => {
        if (!settled) timer = setTimeout(() => reject(new TimeoutError(`no reply within ${ms} ms`)), ms);
      };
      if (startAfter) void startAfter.then(arm);
      else arm();
      p.then(
        (v) => { settled = true; clearTimeout(timer); resolve(v); },
        (e) => { settled = true; clearTimeout(timer); reject(e); },
      );
    });
  }
}

/** Index of a reply's items by request id, to answer each job from its own item. */
export function itemsById(reply: WorkerReply): Map<string, ReplyItem> {
  return new Map(reply.items.map((item) => [item.requestId, item]));
}
