// The server's GPUs: which one the next worker takes, and what they hold now. One server-wide
// round-robin, as MMS hands GPUs out: each new worker of any model takes the next one, starting after
// the first (c = (c + 1) mod N; docs/gpu.md, "Which GPU a worker gets").
import type { Gpu } from './gpu-discovery.js';
import { GpuMonitor, type GpuReading } from './gpu-monitor.js';

export class Gpus {
  private counter = 0;
  private readonly monitor: GpuMonitor;

  /** `command`: nvidia-smi, for the readings. */
  constructor(
    readonly list: readonly Gpu[] = [],
    command = 'nvidia-smi',
  ) {
    this.monitor = new GpuMonitor(list, command);
  }

  /** The next GPU's CUDA device id, or -1 (CPU) when there is none. */
  next(): number {
    if (this.list.length === 0) return -1;
    this.counter = (this.counter + 1) % this.list.length;
    return this.list[this.counter].deviceId;
  }

  /** Memory and utilisation per GPU, GPU memory per process (nothing without GPUs). */
  read(): Promise<GpuReading> {
    return this.monitor.read();
  }
}
