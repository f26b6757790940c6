// CPU time of the measured processes by class, read from /proc at the start and end of a point and
// divided by the requests answered in it (µs per request). The load generator's processes are never
// among them. Per process: the sum of its threads' /proc/<pid>/task/<tid>/schedstat (ns on CPU, exact),
// or /proc/<pid>/stat's utime + stime (clock ticks, 10 ms) where schedstat is missing or where threads
// ended during the point (their time leaves the task list but stays in stat).
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';

/** front: our inference fronts; controller: our server process; worker: our backend workers; peer: a peer's one process. */
export type CpuClass = 'front' | 'controller' | 'worker' | 'peer';
export const CPU_CLASSES: CpuClass[] = ['front', 'controller', 'worker', 'peer'];

/** The processes to measure during a point, found again at each point (fronts and workers get replaced). */
export interface Watch {
  processes: () => Partial<Record<CpuClass, number[]>>;
}

/**
 * µs of CPU per request answered, by class; `total` sums every class measured. `session`: the part of
 * the workers' CPU spent inside onnxruntime's session.run (their metrics, not /proc), so `worker` −
 * `session` is the worker's own cost per request.
 */
export type CpuPerRequest = Partial<Record<CpuClass | 'total' | 'session', number>>;

/** Seconds of CPU inside session.run so far, by pipeline stage ('': a model's own). */
export type SessionCpu = Record<string, number>;

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();
const TICK_NS = 1e9 / CLK_TCK;

interface Reading {
  cls: CpuClass;
  /** Sum of the live threads' schedstat, ns (undefined: not readable). */
  sched?: number;
  /** utime + stime of the whole process, ns (clock-tick resolution). */
  stat: number;
}

/** utime + stime of `pid` (all its threads, live and ended) in ns; undefined once it is gone. */
function statNs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * TICK_NS;
  } catch {
    return undefined;
  }
}

function schedNs(pid: number): number | undefined {
  try {
    let sum = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        sum += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
      } catch {
        // the thread ended while we looked: stat still has its time
      }
    }
    return sum;
  } catch {
    return undefined;
  }
}

/** Which clock this machine gives: `schedstat` (ns, per thread) or `stat` (clock ticks). */
export function cpuClock(): 'schedstat' | 'stat' {
  return schedNs(process.pid) ? 'schedstat' : 'stat';
}

export type CpuSnapshot = Map<number, Reading>;

export function snapshot(watch: Watch): CpuSnapshot {
  const out: CpuSnapshot = new Map();
  for (const [cls, pids] of Object.entries(watch.processes()) as Array<[CpuClass, number[]]>) {
    for (const pid of pids) {
      const stat = statNs(pid);
      if (stat !== undefined) out.set(pid, { cls, sched: schedNs(pid), stat });
    }
  }
  return out;
}

/** ns of CPU each class used between two snapshots; a process present in only one of them is left out. */
export function cpuBetween(before: CpuSnapshot, after: CpuSnapshot): Partial<Record<CpuClass, number>> {
  const out: Partial<Record<CpuClass, number>> = {};
  for (const [pid, a] of before) {
    const b = after.get(pid);
    if (!b || b.cls !== a.cls) continue;
    const stat = b.stat - a.stat;
    const sched = a.sched !== undefined && b.sched !== undefined ? b.sched - a.sched : undefined;
    // Threads that ended take their schedstat time with them; stat keeps it, to within two ticks.
    const ns = sched !== undefined && sched >= 0 && stat - sched <= 2 * TICK_NS ? sched : stat;
    out[a.cls] = (out[a.cls] ?? 0) + Math.max(0, ns);
  }
  return out;
}

/** µs per request of each class (and their total) from the ns each used over `requests` answered. */
export function perRequest(ns: Partial<Record<CpuClass, number>>, requests: number): CpuPerRequest {
  if (!(requests > 0)) return {};
  const out: CpuPerRequest = {};
  let total = 0;
  for (const cls of CPU_CLASSES) {
    if (ns[cls] === undefined) continue;
    out[cls] = ns[cls]! / 1000 / requests;
    total += ns[cls]!;
  }
  out.total = total / 1000 / requests;
  return out;
}

/** The workers' µs per request outside session.run (their own cost); undefined unless both were measured. */
export const outsideSession = (c: CpuPerRequest | undefined): number | undefined =>
  c?.worker !== undefined && c.session !== undefined ? c.worker - c.session : undefined;

/** A pipeline's cores in session.run by stage, as `det 2.6, cls 0.3, rec 6.4`. */
export const describeStageCores = (s: Record<string, number>): string =>
  Object.entries(s).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(', ');

/** "front 312, controller 20, worker 410 µs/req" for the console. */
export function describeCpu(c: CpuPerRequest | undefined): string {
  if (!c) return '';
  const outside = outsideSession(c);
  const parts = CPU_CLASSES.filter((k) => c[k] !== undefined).map((k) => `${k} ${Math.round(c[k]!)}${k === 'worker' && outside !== undefined ? ` (outside session.run ${Math.round(outside)})` : ''}`);
  return parts.length ? `${parts.join(', ')} µs/req` : '';
}
