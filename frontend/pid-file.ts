// The running server's pid, in <system temp dir>/.model_server.pid as MMS keeps it.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
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
