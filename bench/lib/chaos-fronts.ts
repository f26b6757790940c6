// The chaos run's front kills: SIGKILLs an inference front (a node:cluster process of the server)
// and tells which client connections died with it. Before the kill, the front's TCP sockets are read
// from /proc (its fds' socket inodes, matched in /proc/net/tcp{,6}); their peer ports are our
// connections' client ports. A failed request whose connection had one of those ports is counted as
// a killed-front failure, apart from the others (which must stay 0: a worker kill loses nothing).
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { isOurChild } from './chaos-cleanup.js';
import { sleep } from './chaos-killer.js';

/** A killed front's connection that has not failed within this long is forgotten (ports are reused). */
const DOOMED_MS = 10_000;
/** A killed front not replaced within this long is reported as not replaced. */
const FRONT_RESTART_LIMIT_MS = 30_000;

export interface FrontKill {
  n: number;
  pid: number;
  /** Our connections to it when it was killed. */
  connections: number;
  restartMs?: number;
}

/** Client ports of the connections that `pid` holds on the local port `serverPort`. */
export function connectionsOf(pid: number, serverPort: number): Set<number> {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]);
    } catch {
      // closed meanwhile
    }
  }
  const ports = new Set<number>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || !inodes.has(f[9])) continue;
      const local = parseInt(f[1].split(':')[1], 16);
      const remote = parseInt(f[2].split(':')[1], 16);
      if (local === serverPort && remote !== 0) ports.add(remote);
    }
  }
  return ports;
}

export class FrontKiller {
  readonly kills: FrontKill[] = [];
  /** Client port → when its front was killed. */
  private readonly doomed = new Map<number, number>();
  private readonly restarts: Array<Promise<void>> = [];

  constructor(
    private readonly pids: () => number[],
    private readonly serverPort: number,
  ) {}

  /** SIGKILLs a random front (that is our child) and watches for its replacement; false if none. */
  kill(): boolean {
    const before = this.pids();
    const live = before.filter((pid) => isOurChild(pid));
    if (live.length === 0) return false;
    const pid = live[Math.floor(Math.random() * live.length)];
    const ports = connectionsOf(pid, this.serverPort);
    const at = performance.now();
    process.kill(pid, 'SIGKILL');
    for (const port of ports) this.doomed.set(port, at);
    const kill: FrontKill = { n: this.kills.length + 1, pid, connections: ports.size };
    this.kills.push(kill);
    this.restarts.push(this.watch(kill, at, before));
    return true;
  }

  /** Whether a failure on this client port is one of a killed front's connections (once per port). */
  claim(localPort: number | undefined): boolean {
    if (localPort === undefined) return false;
    const at = this.doomed.get(localPort);
    if (at === undefined) return false;
    this.doomed.delete(localPort);
    return performance.now() - at < DOOMED_MS;
  }

  /** Waits for every killed front's replacement to be measured (or given up on). */
  async drain(): Promise<void> {
    await Promise.all(this.restarts);
  }

  /** Replaced: as many fronts as before, the killed one not among them (its replacement is forked). */
  private async watch(kill: FrontKill, at: number, before: number[]): Promise<void> {
    while (performance.now() - at < FRONT_RESTART_LIMIT_MS) {
      const now = this.pids();
      if (now.length >= before.length && !now.includes(kill.pid)) {
        kill.restartMs = performance.now() - at;
        const fresh = now.filter((p) => !before.includes(p));
        process.stderr.write(`  front kill ${kill.n}: pid ${kill.pid} (${kill.connections} connections) replaced by pid ${fresh.join(', ')} after ${kill.restartMs.toFixed(0)} ms\n`);
        return;
      }
      await sleep(20);
    }
  }
}
