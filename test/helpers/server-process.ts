// A real server in a process of its own (the `multi-model-server --foreground` launcher, in its own
// process group), for tests that kill a whole server: its temp dir (TMPDIR: pid file, worker sockets),
// model store and logs under one root of the caller's.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../../frontend/cli.js', import.meta.url));

export interface ServerProcess {
  launcher: ChildProcess;
  /** The launcher's exit (it exits with the server). */
  exited: Promise<unknown>;
  inferenceUrl: string;
  managementUrl: string;
}

/** tmp/ (TMPDIR), logs/, store/ and a config on free loopback ports under `root`. */
export function serverDirs(root: string, configLines: string[] = []) {
  const dirs = { tmp: path.join(root, 'tmp'), logs: path.join(root, 'logs'), store: path.join(root, 'store'), config: path.join(root, 'config.properties') };
  for (const d of [dirs.tmp, dirs.logs, dirs.store]) mkdirSync(d, { recursive: true });
  const ports = ['inference_address', 'management_address', 'metrics_address', 'grpc_inference_address'].map((k) => `${k}=http://127.0.0.1:0`);
  writeFileSync(dirs.config, [...ports, ...configLines].join('\n') + '\n');
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('MMS_') && !['TMP', 'TEMP', 'NODE_TEST_CONTEXT'].includes(k)) env[k] = v;
  Object.assign(env, { TMPDIR: dirs.tmp, LOG_LOCATION: dirs.logs, MMS_LOG_LEVEL: 'warn' });
  return { ...dirs, env };
}

/** Starts `--foreground` with `args` and resolves once it has printed its addresses (rejects if it exits first). */
export async function startServerProcess(dirs: ReturnType<typeof serverDirs>, args: string[]): Promise<ServerProcess> {
  const launcher = spawn(process.execPath, [CLI, '--start', '--foreground', '--mms-config', dirs.config, '--model-store', dirs.store, ...args], {
    cwd: dirs.store, env: dirs.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true,
  });
  const exited = once(launcher, 'exit');
  launcher.stderr!.resume();
  let seen = '';
  const lines = createInterface({ input: launcher.stdout! });
  const text = await new Promise<string>((resolve, reject) => {
    lines.on('line', (line) => {
      seen += `${line}\n`;
      if (/^Management API: /m.test(seen) && /^Inference API: /m.test(seen)) resolve(seen);
    });
    void exited.then(() => reject(new Error(`server exited before it started:\n${seen}`)));
  });
  lines.on('line', () => undefined); // keep draining
  const url = (label: string) => new RegExp(`^${label}: (http://127\\.0\\.0\\.1:\\d+)$`, 'm').exec(text)![1];
  return { launcher, exited, inferenceUrl: url('Inference API'), managementUrl: url('Management API') };
}

/** SIGKILLs the server's whole process group (launcher, server, fronts, workers) and waits for the launcher. */
export async function killGroup(s: ServerProcess): Promise<void> {
  try {
    process.kill(-s.launcher.pid!, 'SIGKILL');
  } catch {
    // already gone
  }
  await s.exited;
}
