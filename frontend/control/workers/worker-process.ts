// Starts one backend-worker process with child_process and watches it: readiness on stdout, its log
// lines, its exit. The process gets a pipe on stdin and exits when that closes, so a frontend that
// dies (even by SIGKILL) takes its workers with it; a socket pair on fd 3 carries pings. Its socket
// file is removed here once it exits: a SIGKILLed or stopped worker cannot remove it itself.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { rmSync } from 'node:fs';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { WORKER_CONTROL_FD, WORKER_PID_PREFIX, WORKER_READY_LINE } from '../../../protocol/messages.js';
import { toWorkerArgv, type WorkerArgs } from '../../../protocol/worker-args.js';
import type { Logger } from '../../logging/logger.js';
import { withServerNodePath } from './worker-node-path.js';
import { groupLines } from '../../logging/line-groups.js';
import { LineTail } from './exit-info.js';
import { underTaskset } from '../cpus/taskset.js';


const WORKER_MAIN = fileURLToPath(new URL('../../../backend-worker/main.js', import.meta.url));

export interface SpawnOptions {
  /** The worker's arguments (protocol/worker-args.ts); `sockName` is its socket path. */
  args: WorkerArgs;
  cwd: string;
  env: NodeJS.ProcessEnv;
  startTimeoutMs: number;
  log: Logger;
  /** Started under `taskset -c` on these CPUs (cpu_affinity); absent: the controller's own. */
  cpus?: readonly number[];
}

export class WorkerProcess {
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Its last stderr lines (describe shows them; a crash's cause is often there). */
  readonly stderrTail = new LineTail();
  private constructor(readonly child: ChildProcess, socketPath: string) {
    this.exited = once(child, 'exit').then(([code, signal]) => {
      rmSync(socketPath, { force: true });
      return { code, signal };
    });
  }

  /** The control channel (pings), the child's fd 3. */
  get control(): Duplex {
    return this.child.stdio[WORKER_CONTROL_FD] as Duplex;
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Resolves once the worker listens on its socket; rejects (and kills it) on early exit or timeout. */
  static async start(o: SpawnOptions): Promise<WorkerProcess> {
    const nodeArgs = [
      // Extra node flags for workers (e.g. --cpu-prof, --max-old-space-size), which NODE_OPTIONS cannot all carry.
      ...(o.env.MMS_WORKER_NODE_ARGS?.split(/\s+/).filter(Boolean) ?? []),
      WORKER_MAIN,
      ...toWorkerArgv(o.args),
    ];
    // taskset execs node in place: the pid stays the worker's, and its threads inherit the CPUs.
    const cmd = o.cpus ? underTaskset(o.cpus, process.execPath, nodeArgs) : { command: process.execPath, args: nodeArgs };
    const child = spawn(cmd.command, cmd.args, { cwd: o.cwd, env: withServerNodePath(o.env, path.dirname(WORKER_MAIN)), stdio: ['pipe', 'pipe', 'pipe', 'pipe'] });
    const proc = new WorkerProcess(child, o.args.sockName);
    // Closing stdin (stop) races the worker's death: an EPIPE there is expected, not a server error.
    child.stdin?.on('error', () => undefined);
    const stderr = createInterface({ input: child.stderr! });
    stderr.on('line', (line) => proc.stderrTail.push(line));
    groupLines(stderr, (message) => o.log.warn({ stream: 'stderr' }, message));
    const stdout = createInterface({ input: child.stdout! });
    const ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('Backend worker startup time out.')), o.startTimeoutMs);
      stdout.on('line', (line) => {
        if (line === WORKER_READY_LINE) {
          clearTimeout(timer);
          resolve();
        } else if (!line.startsWith(WORKER_PID_PREFIX)) {
          o.log.info({ stream: 'stdout' }, line);
        }
      });
      child.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      void proc.exited.then(({ code, signal }) => {
        clearTimeout(timer);
        reject(new Error(`Backend worker exited during start-up (code ${code}, signal ${signal}).`));
      });
    });
    try {
      await ready;
    } catch (err) {
      proc.kill();
      throw err;
    }
    return proc;
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (this.alive) this.child.kill(signal);
  }

  /** Asks the worker to exit (stdin closes), then kills it if it has not within graceMs. */
  async stop(graceMs = 2000): Promise<void> {
    if (!this.alive) return;
    this.child.stdin?.end();
    const timer = setTimeout(() => this.kill(), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}
