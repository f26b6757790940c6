// Names of the directories this server creates under work_dir, and removal of those that servers
// which are gone left behind (a SIGKILLed server cannot clean up after itself). Each name carries
// the creating server's pid; a directory is removed only when that pid no longer runs, so a live
// server's models (even one sharing work_dir) are never touched.
import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../../logging/logger.js';
import { isAlive } from '../../pid-file.js';

const OURS = /^mms(\d+)-/;

/** Prefix for a directory this server creates under work_dir (mkdtemp adds the random tail). */
export function workDirPrefix(label: string): string {
  return `mms${process.pid}-${label.replace(/[^\w.-]/g, '_')}-`;
}

export async function removeStaleWorkDirs(workDir: string, log: Logger): Promise<void> {
  const entries = await readdir(workDir, { withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    const pid = Number(OURS.exec(entry.name)?.[1]);
    if (!entry.isDirectory() || !pid || pid === process.pid || isAlive(pid)) continue;
    const dir = path.join(workDir, entry.name);
    log.info({ dir, pid }, 'removing a work directory left by a server that is gone');
    await rm(dir, { recursive: true, force: true }).catch((err: Error) => log.warn({ dir, err: err.message }, 'cannot remove stale work directory'));
  }
}
