// CPU pinning (cpu_affinity; docs/configuration.md, CPU pinning): one allocator for the whole server
// hands cores to pinned workers of every model, so they stop migrating and sharing caches. A worker
// takes the cores held by the fewest workers, lowest id first: cores of its own while there are free
// ones, then shared round-robin (describe says so). The controller and the inference fronts move to
// the cores no worker holds when there is at least one per front, else they float over all of them.
import { formatCpuList } from '../../config/host-cpus.js';
import type { Logger } from '../../logging/logger.js';
import { pinProcess, tasksetAvailable } from './taskset.js';

/** Cores given to one worker process until it exits. */
export interface CpuLease {
  readonly cpus: readonly number[];
  /** Another pinned worker holds one of these cores now (more pinned workers than cores). */
  shared(): boolean;
  /** Gives the cores back (idempotent). */
  release(): void;
}

export class CpuAllocator {
  /** Per core, the leases holding it. */
  private readonly holders = new Map<number, number>();
  /** Where the controller and fronts run now: all allowed cores at start. */
  private othersAt: string;
  /** Set once the controller left its start-up list: children it spawns would inherit the narrowed one. */
  private narrowed = false;
  private moving?: Promise<void>;
  private dirty = false;
  private warned = false;
  /** The controller's and the fronts' pids (the controller wires it; empty: nothing is moved). */
  processes: () => number[] = () => [];
  /** The fronts: the free cores are theirs only when there is one per front. */
  fronts = 1;

  constructor(
    /** The CPUs the server may use (host-cpus.ts). */
    readonly allowed: readonly number[],
    private readonly log: Logger,
    private readonly canPin: () => boolean = tasksetAvailable,
  ) {
    this.othersAt = formatCpuList(allowed);
  }

  /** `n` cores for a worker, or undefined when pinning cannot work here (taskset missing: warned once). */
  acquire(n: number): CpuLease | undefined {
    if (this.allowed.length === 0) return undefined;
    if (!this.canPin()) {
      if (!this.warned) this.log.warn('cpu_affinity: taskset (util-linux) not found; workers run unpinned');
      this.warned = true;
      return undefined;
    }
    const count = (c: number) => this.holders.get(c) ?? 0;
    // Array.prototype.sort is stable: among equally held cores the lowest id comes first.
    const cpus = [...this.allowed].sort((a, b) => count(a) - count(b)).slice(0, Math.max(1, Math.min(n, this.allowed.length))).sort((a, b) => a - b);
    for (const c of cpus) this.holders.set(c, count(c) + 1);
    this.moveOthers();
    let held = true;
    return {
      cpus,
      shared: () => cpus.some((c) => count(c) > 1),
      release: () => {
        if (!held) return;
        held = false;
        for (const c of cpus) this.holders.set(c, count(c) - 1);
        this.moveOthers();
      },
    };
  }

  /**
   * Where a worker with no lease starts (an unpinned or GPU worker): every allowed core once the
   * controller's own list was narrowed (a child inherits its parent's); undefined: as the controller.
   */
  unpinned(): readonly number[] | undefined {
    return this.narrowed ? this.allowed : undefined;
  }

  /** The cores no worker holds, where the controller and fronts go (all of them when too few are free). */
  othersCpus(): readonly number[] {
    const free = this.allowed.filter((c) => !this.holders.get(c));
    return free.length >= Math.max(1, this.fronts) ? free : this.allowed;
  }

  /** Resolves once the controller and fronts sit where the current leases put them. */
  settled(): Promise<void> {
    return this.moving ?? Promise.resolve();
  }

  private moveOthers(): void {
    this.dirty = true;
    this.moving ??= this.move().finally(() => (this.moving = undefined));
  }

  /** One move at a time, always to the latest target: lease changes during a move are not lost. */
  private async move(): Promise<void> {
    while (this.dirty) {
      this.dirty = false;
      const target = this.othersCpus();
      const list = formatCpuList(target);
      const pids = this.processes().filter((pid) => pid > 0); // a front not yet spawned has none
      if (list === this.othersAt || pids.length === 0) continue;
      this.narrowed = true;
      const results = await Promise.allSettled(pids.map((pid) => pinProcess(pid, target)));
      // A front that just died cannot be moved; its replacement inherits the controller's list.
      for (const r of results) if (r.status === 'rejected') this.log.debug({ err: (r.reason as Error).message }, 'cpu_affinity: a process could not be moved');
      this.othersAt = list;
      this.log.info({ cpus: list }, 'cpu_affinity: controller and inference fronts moved');
    }
  }
}
