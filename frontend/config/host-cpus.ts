// The CPUs this server may run on: the kernel's affinity list of the process as it started
// (/proc/self/status, Cpus_allowed_list), which a container's cpuset or a `taskset` around the server
// narrows; not 0..n-1. Read once: with cpu_affinity the controller later narrows its own list to the
// cores no worker holds, and every count the server derives (fronts, default workers, intra-op
// threads) must keep using the host's.
import { readFileSync } from 'node:fs';
import os from 'node:os';

let cached: readonly number[] | undefined;

/** The CPU ids the server started with, ascending. */
export function hostCpus(): readonly number[] {
  return (cached ??= readAllowedCpus('self') ?? Array.from({ length: os.availableParallelism() }, (_, i) => i));
}

/** How many CPUs the server may use (os.availableParallelism() as it was at start). */
export const hostCpuCount = (): number => hostCpus().length;

/** A process's allowed CPUs from /proc/<pid>/status; undefined where there is no /proc (not Linux) or no such process. */
export function readAllowedCpus(pid: number | 'self'): number[] | undefined {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const line = /^Cpus_allowed_list:\s*(\S+)/m.exec(status);
  return line ? parseCpuList(line[1]) : undefined;
}

/** The kernel's list syntax ("0-3,8,10-11") → ids; throws on anything else. */
export function parseCpuList(text: string): number[] {
  const out: number[] = [];
  for (const part of text.trim().split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) throw new Error(`not a CPU list: "${text}"`);
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    for (let c = from; c <= to; c++) out.push(c);
  }
  return out;
}

/** Ids → the kernel's list syntax, runs joined ("0-3,8"): what taskset -c takes and describe shows. */
export function formatCpuList(cpus: readonly number[]): string {
  const sorted = [...new Set(cpus)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j++;
    parts.push(j === i ? String(sorted[i]) : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}
