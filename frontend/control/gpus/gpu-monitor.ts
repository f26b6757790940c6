// GPU memory and utilisation for describe and /metrics, read from nvidia-smi on demand. Readings are
// shared for a second so that a burst of describe calls or scrapes runs the tool once.
import type { Gpu } from './gpu-discovery.js';
import { APPS_QUERY, USAGE_QUERY, parseApps, parseUsage, runNvidiaSmi, type GpuUsage } from './nvidia-smi.js';

const FRESH_MS = 1000;

export interface GpuReading {
  gpus: Array<GpuUsage & { deviceId: number; name: string }>;
  /** GPU memory (MiB) per process id. */
  processes: Map<number, number>;
}

const EMPTY: GpuReading = { gpus: [], processes: new Map() };

export class GpuMonitor {
  private last?: { at: number; reading: Promise<GpuReading> };

  constructor(
    readonly gpus: readonly Gpu[],
    private readonly command: string,
  ) {}

  read(): Promise<GpuReading> {
    if (this.gpus.length === 0) return Promise.resolve(EMPTY);
    const now = performance.now();
    if (!this.last || now - this.last.at > FRESH_MS) this.last = { at: now, reading: this.sample() };
    return this.last.reading;
  }

  private async sample(): Promise<GpuReading> {
    const [usage, apps] = await Promise.all([runNvidiaSmi(this.command, USAGE_QUERY), runNvidiaSmi(this.command, APPS_QUERY)]);
    const rows = usage === undefined ? [] : parseUsage(usage);
    const gpus = this.gpus.flatMap((g) => {
      const row = rows.find((r) => r.index === g.index);
      return row ? [{ ...row, deviceId: g.deviceId, name: g.name }] : [];
    });
    return { gpus, processes: apps === undefined ? new Map() : parseApps(apps) };
  }
}
