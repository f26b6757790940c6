// A model server run as a child process that prints "Model server started." when it listens: the
// SageMaker entrypoint (docker/entrypoint.sh serve) or a container's `podman run`. Its output is
// read line by line, so a test can wait for a log line (e.g. "stopping") instead of a timer.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import readline from 'node:readline';

export interface ServeProcess {
  child: ChildProcess;
  /** Resolves with the first output line (stdout or stderr) that matches. */
  line(pattern: RegExp): Promise<string>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Everything printed so far (the tail), for failure messages. */
  output(): string;
  /** SIGTERM, then the exit. */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export async function startServeProcess(command: string, args: string[], env: NodeJS.ProcessEnv, cwd?: string): Promise<ServeProcess> {
  const child = spawn(command, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let tail = '';
  const watchers = new Set<{ pattern: RegExp; resolve: (line: string) => void }>();
  const exited = once(child, 'exit').then(([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null }));
  for (const stream of [child.stdout!, child.stderr!]) {
    readline.createInterface({ input: stream }).on('line', (line) => {
      tail = (tail + line + '\n').slice(-20_000);
      for (const w of [...watchers]) {
        if (w.pattern.test(line)) {
          watchers.delete(w);
          w.resolve(line);
        }
      }
    });
  }
  const p: ServeProcess = {
    child,
    exited,
    output: () => tail,
    line: (pattern) => Promise.race([
      new Promise<string>((resolve) => watchers.add({ pattern, resolve })),
      exited.then(({ code, signal }) => {
        throw new Error(`${command} exited (${code ?? signal}) before printing ${pattern}:\n${tail}`);
      }),
    ]),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
  await p.line(/^Model server started\./);
  return p;
}
