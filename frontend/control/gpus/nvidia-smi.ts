// What nvidia-smi says about the GPUs: the one tool every NVIDIA driver ships. It is run, never linked,
// so a host without it (or whose driver fails) simply has no GPUs. Its CSV output is parsed here and
// nowhere else (docs/gpu.md, "Discovery").
import { execFile } from 'node:child_process';

/** nvidia-smi answers in well under a second; a hung driver must not hold the server's start. */
const TIMEOUT_MS = 5000;

/** One GPU as `--query-gpu=index,name,memory.total,memory.used` lists it. */
export interface GpuRow {
  /** nvidia-smi's (physical) index. */
  index: number;
  name: string;
  memoryTotalMiB: number;
  memoryUsedMiB: number;
}

export const GPU_QUERY = ['--query-gpu=index,name,memory.total,memory.used', '--format=csv,noheader'];
export const USAGE_QUERY = ['--query-gpu=index,memory.used,memory.total,utilization.gpu', '--format=csv,noheader,nounits'];
export const APPS_QUERY = ['--query-compute-apps=pid,used_memory', '--format=csv,noheader,nounits'];

/** Runs `command args`; its stdout, or undefined when it is missing, fails or hangs. */
export function runNvidiaSmi(command: string, args: string[]): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile(command, args, { timeout: TIMEOUT_MS, maxBuffer: 1 << 20, windowsHide: true }, (err, stdout) => {
      resolve(err ? undefined : stdout);
    });
  });
}

/** Rows of `GPU_QUERY` output ("0, NVIDIA H200, 143771 MiB, 0 MiB"); lines that do not parse are skipped. */
export function parseGpuRows(text: string): GpuRow[] {
  const rows: GpuRow[] = [];
  for (const line of lines(text)) {
    const cells = line.split(',').map((c) => c.trim());
    if (cells.length < 4) continue;
    // A name may hold commas: index first, the two memory cells last.
    const index = Number(cells[0]);
    const total = mib(cells[cells.length - 2]);
    const used = mib(cells[cells.length - 1]);
    if (!Number.isInteger(index) || index < 0 || total === undefined || used === undefined) continue;
    rows.push({ index, name: cells.slice(1, -2).join(', '), memoryTotalMiB: total, memoryUsedMiB: used });
  }
  return rows;
}

export interface GpuUsage {
  index: number;
  memoryUsedMiB: number;
  memoryTotalMiB: number;
  /** Percent of the last sample period a kernel ran, 0–100 (undefined where the GPU reports "[N/A]"). */
  utilization?: number;
}

/** Rows of `USAGE_QUERY` output ("0, 815, 143771, 37"). */
export function parseUsage(text: string): GpuUsage[] {
  const out: GpuUsage[] = [];
  for (const line of lines(text)) {
    const [index, used, total, util] = line.split(',').map((c) => Number(c.trim()));
    if (!Number.isInteger(index) || !Number.isFinite(used) || !Number.isFinite(total)) continue;
    out.push({ index, memoryUsedMiB: used, memoryTotalMiB: total, utilization: Number.isFinite(util) ? util : undefined });
  }
  return out;
}

/** GPU memory per process from `APPS_QUERY` output ("4242, 815"), summed over GPUs. */
export function parseApps(text: string): Map<number, number> {
  const out = new Map<number, number>();
  for (const line of lines(text)) {
    const [pid, used] = line.split(',').map((c) => Number(c.trim()));
    if (Number.isInteger(pid) && Number.isFinite(used)) out.set(pid, (out.get(pid) ?? 0) + used);
  }
  return out;
}

function lines(text: string): string[] {
  return text.split('\n').map((l) => l.trim()).filter(Boolean);
}

function mib(cell: string | undefined): number | undefined {
  const m = /^(\d+)\s*MiB$/i.exec(cell ?? '');
  return m ? Number(m[1]) : undefined;
}
