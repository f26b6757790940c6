// model_memory_budget: the resident memory all models' workers may hold together (docs/deploy.md,
// Memory budget). A model's footprint is its workers' RSS, measured; a load reserves an estimate
// first, and when that does not fit, idle models (no request in flight) are unloaded, least recently
// used first. 507 only when unloading every idle model would not make room, and then nothing is
// unloaded. Decisions are taken one at a time, so two loads never count the same free memory.
import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';
import { memoryBudgetExceeded } from '../../errors.js';
import type { Logger } from '../../logging/logger.js';
import type { UsageMap } from '../../inference/model-usage.js';
import type { PoolSnapshot } from '../workers/worker-pool.js';
import { readWorkerMemory } from '../workers/worker-memory.js';

/** What a worker holds besides its model files (measured: 64 MiB with a JS handler, 88 MiB with onnxruntime and a tiny model). */
export const WORKER_BASE_BYTES = 80 * 2 ** 20;

export interface BudgetedModel {
  name: string;
  url: string;
  /** Epoch ms: a model never invoked counts as used when it was registered. */
  registeredAt: number;
  pool: { snapshot(): PoolSnapshot };
}

export interface BudgetOptions {
  bytes: number;
  log: Logger;
  models: () => BudgetedModel[];
  /** Requests in flight and last use per model, from whoever serves inference. */
  usage: () => Promise<UsageMap>;
  /** Unloads a model (its workers stopped, their memory freed) before resolving. */
  evict: (name: string) => Promise<void>;
  onEvict: (name: string) => void;
}

const MIB = 2 ** 20;
const mib = (n: number) => Math.round(n / MIB);

export class MemoryBudget {
  /** Models being loaded: the bytes reserved for each, counted instead of their workers' RSS. */
  private readonly loading = new Map<string, number>();
  /** Per-worker footprint last measured for a model url: a reload is estimated by it. */
  private readonly measured = new Map<string, number>();
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly o: BudgetOptions) {}

  get bytes(): number {
    return this.o.bytes;
  }

  /** Bytes a load of `workers` workers is expected to take. */
  async estimate(url: string, modelDir: string, workers: number): Promise<number> {
    const perWorker = this.measured.get(url) ?? WORKER_BASE_BYTES + (await dirBytes(modelDir));
    return perWorker * workers;
  }

  /** Before a load: makes room for `need` bytes (unloading idle models) and reserves it; else 507. */
  admit(name: string, need: number): Promise<void> {
    return this.exclusive(async () => {
      const room = await this.makeRoom(need, name);
      if (room !== true) throw memoryBudgetExceeded(this.shortMessage(name, need, room));
      this.loading.set(name, need);
    });
  }

  /**
   * After a load: its workers' RSS replaces the reservation; when the measured total is over the
   * budget, idle models are unloaded; 507 (the caller unloads the new model) when that cannot help.
   */
  settle(model: BudgetedModel): Promise<void> {
    return this.exclusive(async () => {
      this.loading.delete(model.name);
      const own = await footprint(model);
      const workers = model.pool.snapshot().workers.length;
      if (workers > 0 && own > 0) this.measured.set(model.url, Math.ceil(own / workers));
      const room = await this.makeRoom(0, model.name);
      if (room !== true) throw memoryBudgetExceeded(this.shortMessage(model.name, own, room));
    });
  }

  /** A load that failed or ended: its reservation goes. */
  release(name: string): void {
    this.loading.delete(name);
  }

  /** Measured RSS of the loaded models plus the reservations of those loading. */
  async used(): Promise<number> {
    const sizes = await Promise.all(this.o.models().filter((m) => !this.loading.has(m.name)).map(footprint));
    return sizes.reduce((a, b) => a + b, 0) + [...this.loading.values()].reduce((a, b) => a + b, 0);
  }

  /** true, or the bytes in use that could not be freed. */
  private async makeRoom(need: number, keep: string): Promise<true | number> {
    let used = await this.used();
    if (used + need <= this.o.bytes) return true;
    const usage = await this.o.usage();
    const idle = this.o.models().filter((m) => m.name !== keep && !this.loading.has(m.name) && !(usage[m.name]?.inFlight > 0));
    const candidates = (await Promise.all(idle.map(async (m) => ({
      name: m.name,
      bytes: await footprint(m),
      lastUsed: Math.max(m.registeredAt, usage[m.name]?.lastUsed ?? 0),
    })))).filter((c) => c.bytes > 0).sort((a, b) => a.lastUsed - b.lastUsed); // one scaled to 0 frees nothing
    const freeable = candidates.reduce((a, c) => a + c.bytes, 0);
    if (used - freeable + need > this.o.bytes) return used - freeable;
    for (const c of candidates) {
      if (used + need <= this.o.bytes) break;
      try {
        await this.o.evict(c.name);
      } catch (err) {
        this.o.log.warn({ model: c.name, err: (err as Error).message }, 'could not unload an idle model for memory');
        return used;
      }
      used -= c.bytes;
      this.o.onEvict(c.name);
      this.o.log.info({ model: c.name, freedBytes: c.bytes, forModel: keep, budgetBytes: this.o.bytes }, 'unloaded the least recently used idle model to make room');
    }
    return true;
  }

  private shortMessage(name: string, need: number, busy: number): string {
    return `Not enough memory to load model ${name}: it needs about ${mib(need)} MiB, and ${mib(busy)} MiB of ` +
      `model_memory_budget (${mib(this.o.bytes)} MiB) are held by models that are busy or loading.`;
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }
}

/** A model's measured footprint: its workers' resident memory. */
async function footprint(m: BudgetedModel): Promise<number> {
  const rss = await readWorkerMemory(m.pool.snapshot().workers.map((w) => w.pid));
  return rss.reduce((a, b) => a + b, 0);
}

/** Bytes of the regular files under a model directory (links are not followed). */
async function dirBytes(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) total += await dirBytes(p);
    else if (entry.isFile()) total += (await lstat(p).catch(() => ({ size: 0 }))).size;
  }
  return total;
}
