// Launcher checks with real processes (docs/configuration.md, CLI): start-up models that fail are
// reported on the terminal, --models needs a value, a log4j --log-config is warned about and skipped,
// and --help says what --foreground does. Each case has its own TMPDIR (pid file), LOG_LOCATION, cwd
// and port 0 listeners; every server started is stopped or killed in the after hook.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { writeModelDir } from '../helpers/onnx-models.js';

const CLI = fileURLToPath(new URL('../../frontend/cli.js', import.meta.url));

const roots: string[] = [];
const children = new Set<ChildProcess>();
const servers = new Set<number>();

after(() => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const pid of servers) {
    try {
      process.kill(-pid, 'SIGKILL'); // the detached server's group: it and its workers
    } catch {
      // already gone
    }
  }
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

interface Sandbox {
  cwd: string;
  store: string;
  config: string;
  env: NodeJS.ProcessEnv;
  pidFile: string;
}

function sandbox(): Sandbox {
  const root = mkdtempSync(path.join(os.tmpdir(), 'mmsck-'));
  roots.push(root);
  const [tmp, logs, cwd, store] = ['tmp', 'logs', 'cwd', 'store'].map((d) => path.join(root, d));
  for (const d of [tmp, logs, cwd, store]) mkdirSync(d);
  writeModelDir(path.join(store, 'scale'), { name: 'scale' });
  const config = path.join(root, 'config.properties');
  const ports = ['inference_address', 'management_address', 'metrics_address', 'grpc_inference_address'].map((k) => `${k}=http://127.0.0.1:0`);
  writeFileSync(config, [...ports, 'default_workers_per_model=1'].join('\n') + '\n');
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('MMS_') && !['TMP', 'TEMP', 'NODE_TEST_CONTEXT'].includes(k)) env[k] = v;
  Object.assign(env, { TMPDIR: tmp, LOG_LOCATION: logs });
  return { cwd, store, config, env, pidFile: path.join(tmp, '.model_server.pid') };
}

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

async function cli(s: Sandbox, args: string[]): Promise<Result> {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: s.cwd, env: s.env, stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 });
  children.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const [code] = (await once(child, 'close')) as [number | null];
  if (existsSync(s.pidFile)) servers.add(Number(readFileSync(s.pidFile, 'utf8')));
  return { code, stdout, stderr };
}

const base = (s: Sandbox) => ['--start', '--mms-config', s.config, '--model-store', s.store];

describe('launcher start checks', () => {
  it('a start-up model that fails: background --start says so on stderr, exits 1, and leaves the server serving the others', async () => {
    const s = sandbox();
    const r = await cli(s, [...base(s), '--models', 'scale=scale', 'gone=missing-dir']);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /Model server started \(pid \d+\)/);
    assert.match(r.stderr, /gone/);
    assert.match(r.stderr, /failed/i);
    const inference = /^Inference API: (\S+)$/m.exec(r.stdout)![1];
    const ping = await fetch(`${inference}/ping`);
    assert.equal(ping.status, 200);
    const management = /^Management API: (\S+)$/m.exec(r.stdout)![1];
    assert.equal((await fetch(`${management}/models/scale`)).status, 200);
    assert.equal((await fetch(`${management}/models/gone`)).status, 404);
    const stopped = await cli(s, ['--stop']);
    assert.equal(stopped.code, 0, stopped.stderr);
  });

  it('a start-up model that fails: --foreground prints it on the terminal', async () => {
    const s = sandbox();
    const child = spawn(process.execPath, [CLI, ...base(s), '--foreground', '--models', 'gone=missing-dir', 'scale=scale'], {
      cwd: s.cwd,
      env: s.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 30_000,
    });
    children.add(child);
    const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    child.stdout!.resume();
    let stderr = '';
    await new Promise<void>((resolve, reject) => {
      child.stderr!.setEncoding('utf8').on('data', (d: string) => {
        stderr += d;
        if (/gone.*failed|failed.*gone/i.test(stderr)) resolve();
      });
      void exited.then(([code]) => reject(new Error(`exited (code ${code}) without reporting the model: ${stderr}`)));
    });
    child.kill('SIGTERM');
    const [code] = await exited;
    assert.equal(code, 0, stderr);
  });

  it('--models with no value is an error, not the bundled model', async () => {
    const s = sandbox();
    for (const args of [['--models'], ['--models', '--foreground']]) {
      const r = await cli(s, [...base(s), ...args]);
      assert.equal(r.code, 1, `${args}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, /--models/);
      assert.ok(!existsSync(s.pidFile), 'nothing may start');
    }
  });

  it('--log-config naming a log4j file warns and starts with the default logging', async () => {
    const s = sandbox();
    const log4j = path.join(s.cwd, 'log4j2.xml');
    writeFileSync(log4j, '<?xml version="1.0"?>\n<Configuration><Appenders/></Configuration>\n');
    const r = await cli(s, [...base(s), '--models', 'scale=scale', '--log-config', log4j]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stderr, /log4j/i);
    assert.match(r.stdout, /Model server started/);
    assert.equal((await cli(s, ['--stop'])).code, 0);
  });

  it('--help says what --foreground does', async () => {
    const s = sandbox();
    const r = await cli(s, ['--help']);
    assert.equal(r.code, 0);
    const line = r.stdout.split('\n').find((l) => l.includes('--foreground')) ?? '';
    assert.match(line, /terminal/);
    assert.match(r.stdout, /background/);
  });
});
