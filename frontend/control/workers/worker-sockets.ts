// Worker socket paths, `<tmpdir>/.mms.sock.<server pid>.<n>`, and removal at start of those that servers
// which are gone left behind: a worker's socket file is removed by its server when the worker exits,
// but a server SIGKILLed with its whole process group removes nothing, and every crash would leave one
// file per worker process for good.
import { existsSync, readFileSync } from 'node:fs';
import { readdir, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from '../../logging/logger.js';
import { isAlive } from '../../pid-file.js';

const PREFIX = '.mms.sock.';
const OURS = /^\.mms\.sock\.(\d+)\.\d+$/;

let counter = 0;

/** A new worker's socket path. Unix socket paths are limited to ~107 bytes: short, whatever the model is called. */
export function workerSocketPath(): string {
  return path.join(os.tmpdir(), `${PREFIX}${process.pid}.${++counter}`);
}

/**
 * Whether pid `pid` may still own worker sockets: it runs and is a node process. Any node process
 * counts, not only `frontend/main.js`: a server also runs inside other programs (SageMaker's serve, a
 * test, a bench), and a socket in use must never go. A pid reused by another program frees the names.
 */
function mayOwnSockets(pid: number): boolean {
  if (!isAlive(pid)) return false;
  if (!existsSync('/proc/self/cmdline')) return true;
  try {
    const argv0 = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0] ?? '';
    return /node/i.test(path.basename(argv0));
  } catch {
    return existsSync(`/proc/${pid}`); // there but unreadable (another user's): leave it alone
  }
}

/** Removes the worker sockets under the temp dir whose server process is gone; returns how many. */
export async function removeStaleWorkerSockets(log: Logger, dir = os.tmpdir()): Promise<number> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const owners = new Map<number, boolean>();
  let removed = 0;
  for (const name of names) {
    const pid = Number(OURS.exec(name)?.[1]);
    if (!pid || pid === process.pid) continue;
    let alive = owners.get(pid);
    if (alive === undefined) owners.set(pid, (alive = mayOwnSockets(pid)));
    if (alive) continue;
    const file = path.join(dir, name);
    const s = await stat(file).catch(() => undefined);
    if (!s?.isSocket()) continue;
    await rm(file, { force: true }).then(
      () => removed++,
      (err: Error) => log.warn({ file, err: err.message }, 'cannot remove a stale worker socket'),
    );
  }
  if (removed) log.info({ dir, removed }, 'removed worker sockets left by servers that are gone');
  return removed;
}
