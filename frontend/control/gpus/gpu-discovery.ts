// Which GPUs the server hands to workers: those nvidia-smi lists, narrowed and renumbered by
// CUDA_VISIBLE_DEVICES as CUDA itself does, then capped by number_of_gpu (docs/gpu.md, "Discovery").
import { GPU_QUERY, parseGpuRows, runNvidiaSmi, type GpuRow } from './nvidia-smi.js';

export interface Gpu {
  /** The CUDA device ordinal a worker uses (its place among the visible devices). */
  deviceId: number;
  /** nvidia-smi's index, for its memory and utilisation readings. */
  index: number;
  name: string;
  memoryTotalMiB: number;
}

export interface DiscoveryOptions {
  /** The nvidia-smi command (config key nvidia_smi). */
  command: string;
  /** number_of_gpu: a cap; undefined = every GPU found. */
  numberOfGpu?: number;
  /** CUDA_VISIBLE_DEVICES as the workers will see it. */
  visibleDevices?: string;
}

export async function discoverGpus(o: DiscoveryOptions): Promise<Gpu[]> {
  if (o.numberOfGpu === 0) return []; // asked for none: do not even run the tool
  const text = await runNvidiaSmi(o.command, GPU_QUERY);
  return text === undefined ? [] : selectGpus(parseGpuRows(text), o.visibleDevices, o.numberOfGpu);
}

/** Pure: the listed rows as the workers' CUDA sees them, at most `cap`. */
export function selectGpus(rows: GpuRow[], visibleDevices: string | undefined, cap?: number): Gpu[] {
  const visible = visibleRows(rows, visibleDevices);
  return visible.slice(0, cap ?? visible.length).map((r, deviceId) => ({ deviceId, index: r.index, name: r.name, memoryTotalMiB: r.memoryTotalMiB }));
}

/**
 * CUDA_VISIBLE_DEVICES unset: all, in index order. Set: the listed indices in the listed order, up to
 * the first entry that names no device (CUDA ignores the rest); "" or "-1" hides every device. UUIDs
 * and MIG names are not matched here (nvidia-smi's index query does not list them): they end the list.
 */
function visibleRows(rows: GpuRow[], visibleDevices: string | undefined): GpuRow[] {
  const sorted = [...rows].sort((a, b) => a.index - b.index);
  if (visibleDevices === undefined) return sorted;
  const out: GpuRow[] = [];
  for (const entry of visibleDevices.split(',').map((e) => e.trim())) {
    const row = /^\d+$/.test(entry) ? sorted.find((r) => r.index === Number(entry)) : undefined;
    if (!row || out.includes(row)) break;
    out.push(row);
  }
  return out;
}
