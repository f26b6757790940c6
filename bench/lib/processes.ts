// Child processes of the benchmark: start one, wait for a line it prints, read its memory, stop it.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, openSync, readFileSync, readdirSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const DIST = fileURLToPath(new URL('../..', import.meta.url));

export interface Started {
  child: ChildProcess;
  match: RegExpExecArray;
  /** Every stdout line up to the ready line. */
  lines: string[];
}

/** The peers load onnxruntime-node in-process: its telemetry off, as for our workers (docs/dependencies.md). */
function childEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { ORT_DISABLE_TELEMETRY: '1', ...process.env, ...env };
}

/** Spawns `node script args` and resolves at the first stdout line matching `ready`. */
export async function startNode(script: string, args: string[], ready: RegExp, env: NodeJS.ProcessEnv = {}): Promise<Started> {
  const child = spawn(process.execPath, [script, ...args], { env: childEnv(env), stdio: ['ignore', 'pipe', 'inherit'] });
  const reader = createInterface({ input: child.stdout! });
  const lines: string[] = [];
  const match = await new Promise<RegExpExecArray>((resolve, reject) => {
    reader.on('line', (line) => {
      lines.push(line);
      const m = ready.exec(line);
      if (m) resolve(m);
    });
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code} before it was ready`)));
  });
  return { child, match, lines };
}

/**
 * As startNode, but the child's stdout is appended to `file`, as `npm start > file`
 * would have it: its output costs the child a write and this process nothing. Resolves at the first line
 * of the file matching `ready`.
 */
export async function startNodeToFile(script: string, args: string[], ready: RegExp, env: NodeJS.ProcessEnv, file: string): Promise<Started> {
  const fd = openSync(file, 'a');
  const child = spawn(process.execPath, [script, ...args], { env: childEnv(env), stdio: ['ignore', fd, 'inherit'] });
  closeSync(fd);
  let timer: NodeJS.Timeout | undefined;
  try {
    return await new Promise<Started>((resolve, reject) => {
      timer = setInterval(() => {
        const lines = readFileSync(file, 'utf8').split('\n');
        const at = lines.findIndex((l) => ready.test(l));
        if (at >= 0) resolve({ child, match: ready.exec(lines[at])!, lines: lines.slice(0, at + 1) });
      }, 50);
      child.once('exit', (code) => reject(new Error(`${script} exited with ${code} before it was ready; its output is in ${file}`)));
    });
  } finally {
    clearInterval(timer);
  }
}

/** Runs `node script args` to completion and parses its last stdout line as JSON. */
export async function runNodeJson<T>(script: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<T> {
  const child = spawn(process.execPath, [script, ...args], { env: childEnv(env), stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  const [code] = await once(child, 'exit');
  if (code !== 0) throw new Error(`${script} exited with ${code}`);
  return JSON.parse(out.trim().split('\n').pop()!) as T;
}

export async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

/** Resident set size in bytes, from /proc. */
export function rss(pid: number): number {
  try {
    return Number(readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ')[1]) * 4096;
  } catch {
    return 0;
  }
}

/** Pids of `parent`'s direct children whose command line contains `needle` (e.g. the inference fronts). */
export function childPids(parent: number, needle: string): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== parent) continue;
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(needle)) out.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return out.sort((a, b) => a - b);
}
