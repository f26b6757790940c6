// The GPU-sharing mode (preload_model; docs/gpu.md, "The GPU-sharing mode"): a model's workers on one
// GPU (or all of them, on CPU) are slots of one worker process, which loads the model once and forms
// batches from every slot's requests. A slot is what the API counts and describes; the process starts
// with its first slot, serves until its last slot is stopped, and when it dies every slot on it ends,
// to be restarted by the pool like any worker.
import { randomBytes } from 'node:crypto';
import type { ModelMetadata } from '../../../protocol/model-metadata.js';
import { Worker, type PoolMember, type WorkerState } from './worker.js';
import type { ExitInfo } from './exit-info.js';

/** A slot of a shared worker process. */
export class SharedSlot implements PoolMember {
  readonly id: string;
  readonly startTime = new Date();
  state: WorkerState = 'STARTING';
  readonly ended: Promise<void>;
  private end!: () => void;
  private host?: Worker;
  private starting?: Promise<void>;

  constructor(
    modelName: string,
    slot: number,
    readonly gpuId: number,
    private readonly share: HostShare,
  ) {
    this.id = `${modelName}-${slot}-${randomBytes(4).toString('hex')}`;
    this.ended = new Promise((resolve) => (this.end = resolve));
  }

  get hostId(): string {
    return this.host?.id ?? this.id;
  }
  get pid(): number | undefined {
    return this.host?.pid;
  }
  get socketPath(): string | undefined {
    return this.host?.socketPath;
  }
  get provider(): string | undefined {
    return this.host?.provider;
  }
  get metadata(): ModelMetadata | undefined {
    return this.host?.metadata;
  }
  get stderr(): string[] {
    return this.host?.stderr ?? [];
  }
  get cpus(): string | undefined {
    return this.host?.cpus;
  }
  get cpusShared(): boolean | undefined {
    return this.host?.cpusShared;
  }
  /** The shared process's exit (undefined: it never ran). */
  get exited(): Promise<ExitInfo | undefined> {
    return this.starting ? this.starting.catch(() => undefined).then(() => this.host?.exited) : Promise.resolve(undefined);
  }

  start(): Promise<void> {
    return (this.starting ??= this.join());
  }

  private async join(): Promise<void> {
    const host = (this.host = this.share.acquire(this.gpuId));
    void host.ended.then(() => this.hostEnded());
    try {
      await host.start();
    } catch (err) {
      this.state = 'ERROR';
      await this.share.release(host);
      this.end();
      throw err;
    }
    if (this.state === 'STARTING') this.state = 'READY';
  }

  private hostEnded(): void {
    if (this.state === 'SCALED_DOWN' || this.state === 'ERROR') return;
    this.state = 'STOPPED';
    this.end();
  }

  async stop(): Promise<void> {
    await this.starting?.catch(() => undefined);
    if (this.state === 'SCALED_DOWN') return;
    const wasLive = this.state !== 'ERROR';
    this.state = 'SCALED_DOWN';
    if (this.host && wasLive) await this.share.release(this.host);
    this.end();
  }

  /** Kills the shared process: every slot on it ends and is replaced. */
  kill(reason: string): void {
    this.host?.kill(reason);
  }
}

/** A model's shared worker processes, one per GPU id (-1: the CPU one), counted by the slots they serve. */
export class HostShare {
  private readonly hosts = new Map<number, { worker: Worker; slots: number }>();

  constructor(private readonly create: (gpuId: number) => Worker) {}

  /** The live process for `gpuId`, started by its first slot. */
  acquire(gpuId: number): Worker {
    let host = this.hosts.get(gpuId);
    if (!host || host.worker.state === 'STOPPED' || host.worker.state === 'ERROR') {
      const entry = { worker: this.create(gpuId), slots: 0 };
      this.hosts.set(gpuId, entry);
      // A dead process is forgotten, so the next slot starts a new one.
      void entry.worker.ended.then(() => {
        if (this.hosts.get(gpuId) === entry) this.hosts.delete(gpuId);
      });
      host = entry;
    }
    host.slots++;
    return host.worker;
  }

  /** A slot left: the process stops with its last slot. */
  async release(worker: Worker): Promise<void> {
    for (const [gpuId, host] of this.hosts) {
      if (host.worker !== worker) continue;
      if (--host.slots > 0) return;
      this.hosts.delete(gpuId);
      break;
    }
    await worker.stop();
  }
}
