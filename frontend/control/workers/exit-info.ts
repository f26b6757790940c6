// Why a worker process ended, as describe and a failed request report it (docs/api.md, "Describe
// model"): the exit code or signal, whether the kernel's OOM killer took it (from the cgroup's
// oom_kill counter, read before and after; "unknown" where it cannot be read), and what the server
// itself killed it for, if it did.
import { readFileSync } from 'node:fs';

export interface ExitInfo {
  code: number | null;
  signal: string | null;
  /** true/false from the kernel's OOM count; 'unknown' when no count is readable. */
  oomKilled: boolean | 'unknown';
  /** ISO time of the exit. */
  at: string;
  /** Set when the server killed it (pings unanswered, stuck, failed start). */
  killedBy?: string;
  /** Its last stderr lines (at most STDERR_TAIL_LINES). */
  stderr: string[];
}

export const STDERR_TAIL_LINES = 20;

/** The kernel's OOM kills in this cgroup (v2 memory.events, v1 memory.oom_control), or undefined. */
export function readOomKills(): number | undefined {
  for (const file of ['/sys/fs/cgroup/memory.events', '/sys/fs/cgroup/memory/memory.oom_control']) {
    try {
      const m = /^oom_kill (\d+)$/m.exec(readFileSync(file, 'utf8'));
      if (m) return Number(m[1]);
    } catch {
      // not this cgroup version, or not readable here
    }
  }
  return undefined;
}

/** OOM-killed or not: only a SIGKILL the server did not send can be the kernel's. */
export function oomVerdict(signal: string | null, killedByUs: boolean, before: number | undefined): boolean | 'unknown' {
  if (signal !== 'SIGKILL' || killedByUs) return false;
  const after = readOomKills();
  if (before === undefined || after === undefined) return 'unknown';
  return after > before;
}

/** One line for errors and logs: `worker process exited (signal SIGKILL, OOM-killed)`. */
export function describeExit(e: ExitInfo): string {
  const how = e.signal ? `signal ${e.signal}` : `code ${e.code}`;
  const oom = e.oomKilled === true ? ', OOM-killed' : '';
  const by = e.killedBy ? `; killed by the server: ${e.killedBy}` : '';
  return `worker process exited (${how}${oom}${by})`;
}

/** A bounded tail of lines. */
export class LineTail {
  private readonly lines: string[] = [];
  constructor(private readonly max = STDERR_TAIL_LINES) {}
  push(line: string): void {
    this.lines.push(line.length > 500 ? `${line.slice(0, 500)}…` : line);
    if (this.lines.length > this.max) this.lines.shift();
  }
  get(): string[] {
    return [...this.lines];
  }
}
