// The running server's pid, in <system temp dir>/.model_server.pid as MMS keeps it, and whether a
// pid names our server (the file may outlive the server, and its pid be reused by anything).
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const pidFilePath = () => path.join(os.tmpdir(), '.model_server.pid');

export function readPid(): number | undefined {
  try {
    const pid = Number(readFileSync(pidFilePath(), 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

export function writePid(pid = process.pid): void {
  writeFileSync(pidFilePath(), `${pid}\n`);
}

export function removePid(): void {
  rmSync(pidFilePath(), { force: true });
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Whether `pid` is a live model server process: node running frontend/main.js (or sagemaker/serve.js), read from
 * /proc/<pid>/cmdline. Where /proc does not exist, any live process counts.
 */
export function isModelServer(pid: number): boolean {
  if (!isAlive(pid)) return false;
  if (!existsSync('/proc/self/cmdline')) return true;
  let argv: string[];
  try {
    argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return false;
  }
  // The launcher's child, or SageMaker's `serve` (docker/entrypoint.sh), which runs the server in itself.
  const scripts = [path.join('frontend', 'main.js'), path.join('frontend', 'sagemaker', 'serve.js')];
  const isScript = (a: string) => scripts.some((s) => a === s || a.endsWith(path.sep + s));
  return /node/i.test(path.basename(argv[0] ?? '')) && argv.slice(1).some(isScript);
}
