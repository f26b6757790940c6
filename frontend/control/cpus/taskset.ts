// Node has no sched_setaffinity: CPU affinity goes through util-linux's `taskset`. A worker is started
// under it (`taskset -c <cpus> node …`: set before exec, so every thread the worker and onnxruntime
// create later inherits it); a running process is moved with `taskset -a -p -c <cpus> <pid>`, which
// sets each of its threads now (threads it creates afterwards inherit their creator's).
import { execFile, spawnSync } from 'node:child_process';
import { formatCpuList } from '../../config/host-cpus.js';

export const TASKSET = 'taskset';

let available: boolean | undefined;

/** Whether `taskset` runs here (checked once). */
export function tasksetAvailable(): boolean {
  if (available === undefined) {
    const r = spawnSync(TASKSET, ['--version'], { stdio: 'ignore', timeout: 5000 });
    available = r.error === undefined && r.status === 0;
  }
  return available;
}

/** The command and arguments that start `command args` on `cpus` only. */
export function underTaskset(cpus: readonly number[], command: string, args: string[]): { command: string; args: string[] } {
  return { command: TASKSET, args: ['-c', formatCpuList(cpus), command, ...args] };
}

/** Moves every thread of process `pid` onto `cpus`; rejects with taskset's message. */
export function pinProcess(pid: number, cpus: readonly number[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(TASKSET, ['-a', '-p', '-c', formatCpuList(cpus), String(pid)], { timeout: 5000 }, (err, _stdout, stderr) => {
      if (err) reject(new Error(String(stderr).trim() || err.message));
      else resolve();
    });
  });
}
