// The chaos run's own child processes (found through /proc, so only ours are ever signalled) and
// the cleanup that ends them and removes the run's temp dir.
import { readdirSync, readFileSync, rmSync } from 'node:fs';

/** Live (not zombie) child processes of this process, from /proc (empty elsewhere). */
export function ourChildren(): Array<{ pid: number; args: string }> {
  if (process.platform !== 'linux') return [];
  const out: Array<{ pid: number; args: string }> = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (!isOurChild(pid)) continue;
    let args = '';
    try {
      args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
    } catch {
      // gone meanwhile
    }
    out.push({ pid, args });
  }
  return out;
}

/** Whether pid is a live child of this process (Linux /proc; elsewhere trusted). */
export function isOurChild(pid: number): boolean {
  if (process.platform !== 'linux') return pid > 0;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[0] !== 'Z' && Number(fields[1]) === process.pid;
  } catch {
    return false;
  }
}

/**
 * Last resort, synchronous, for any exit that skips the orderly cleanup (second signal, hard
 * deadline, an event loop that ran dry): end our child processes by pid, remove the temp dir.
 */
export function emergencyCleanup(root: string, seenPids: Set<number>): void {
  for (const c of ourChildren()) process.kill(c.pid, 'SIGKILL');
  for (const pid of seenPids) if (isOurChild(pid)) process.kill(pid, 'SIGKILL');
  rmSync(root, { recursive: true, force: true });
}

/** Workers the server failed to stop are still ours: report them and end them by pid. */
export function killLeftovers(seenPids: Set<number>): void {
  const left = ourChildren();
  for (const c of left) {
    process.stderr.write(`chaos: process ${c.pid} still running after the server closed (${c.args.slice(0, 120)}); killing it\n`);
    process.kill(c.pid, 'SIGKILL');
  }
  for (const pid of seenPids) if (isOurChild(pid)) process.kill(pid, 'SIGKILL');
}
