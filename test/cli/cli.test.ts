// `multi-model-server` CLI tests with real processes (docs/configuration.md, CLI): background --start / --stop
// with a live model, the pid file, "already running", "not currently running", launch errors,
// a --foreground run stopped by SIGTERM, and --help. Each case runs in its own sandbox: TMPDIR (so its
// own pid file and worker sockets), LOG_LOCATION, cwd and model store under a fresh temp dir, and
// port 0 listeners. Every process a case starts is killed in after hooks, whatever the outcome.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { writeModelDir } from '../helpers/onnx-models.js';

const CLI = fileURLToPath(new URL('../../frontend/cli.js', import.meta.url));
const KSERVE_REQUEST = { inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }] };

// ---- cleanup bookkeeping -------------------------------------------------------------------------

const roots: string[] = [];
/** Pids of servers and workers this file caused to exist; SIGKILLed in the final after hook if alive. */
const pidsToKill = new Set<number>();
const children = new Set<ChildProcess>();

after(() => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const pid of pidsToKill) {
    if (!isGone(pid)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

// ---- sandbox -------------------------------------------------------------------------------------

interface Sandbox {
  root: string;
  tmp: string;
  logs: string;
  cwd: string;
  store: string;
  config: string;
  env: NodeJS.ProcessEnv;
  pidFile: string;
}

/** A fresh temp tree: tmp/ (TMPDIR), logs/ (LOG_LOCATION), cwd/, store/scale (scale model), config file. */
function sandbox(configLines: string[] = []): Sandbox {
  // Kept short: worker unix socket paths live under TMPDIR and must fit in ~107 bytes.
  const root = mkdtempSync(path.join(os.tmpdir(), 'mmscli-'));
  roots.push(root);
  const tmp = path.join(root, 'tmp');
  const logs = path.join(root, 'logs');
  const cwd = path.join(root, 'cwd');
  const store = path.join(root, 'store');
  for (const d of [tmp, logs, cwd, store]) mkdirSync(d);
  writeModelDir(path.join(store, 'scale'), { name: 'scale' });
  const config = path.join(root, 'config.properties');
  writeFileSync(
    config,
    ['inference_address=http://127.0.0.1:0', 'management_address=http://127.0.0.1:0', 'metrics_address=http://127.0.0.1:0', 'grpc_inference_address=http://127.0.0.1:0', 'default_workers_per_model=2', ...configLines].join('\n') + '\n',
  );
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('MMS_') && !['TMP', 'TEMP', 'NODE_TEST_CONTEXT'].includes(k)) env[k] = v;
  Object.assign(env, { TMPDIR: tmp, LOG_LOCATION: logs });
  return { root, tmp, logs, cwd, store, config, env, pidFile: path.join(tmp, '.model_server.pid') };
}

const startArgs = (s: Sandbox) => ['--mms-config', s.config, '--models', 'scale=scale', '--model-store', s.store];

// ---- processes -----------------------------------------------------------------------------------

interface Result {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Only a guard against a hang, far above a start on a loaded 2-core host: a foreground server's whole
 * life, or a --start/--stop that waits for the server.
 */
const CLI_TIMEOUT_MS = 120_000;

/** Runs the CLI to completion (killed after CLI_TIMEOUT_MS) and collects its output. */
async function cli(s: Sandbox, args: string[]): Promise<Result> {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: s.cwd, env: s.env, stdio: ['ignore', 'pipe', 'pipe'], timeout: CLI_TIMEOUT_MS });
  children.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const [code, signal] = (await once(child, 'close')) as [number | null, NodeJS.Signals | null];
  return { code, signal, stdout, stderr };
}

/** True when `pid` no longer names a live process (no such process, or a zombie nobody reaped yet). */
function isGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
  try {
    // /proc/<pid>/stat: "pid (comm) S ..."; comm may hold spaces or parentheses, so cut at the last ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return /^[ZX]/.test(stat.slice(stat.lastIndexOf(')') + 2));
  } catch {
    return true;
  }
}

/**
 * Polls until every pid is gone (there is no event for another process's exit), at most `ms`.
 * Returns those still alive.
 */
async function waitGone(pids: number[], ms = 30_000): Promise<number[]> {
  const deadline = Date.now() + ms;
  let alive = pids.filter((p) => !isGone(p));
  while (alive.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    alive = alive.filter((p) => !isGone(p));
  }
  return alive;
}

function readPidFile(s: Sandbox): number {
  const pid = Number(readFileSync(s.pidFile, 'utf8').trim());
  assert.ok(Number.isInteger(pid) && pid > 0, `bad pid file content: ${pid}`);
  return pid;
}

function apiUrls(text: string): { inference: string; management: string } {
  const inference = /^Inference API: (http:\/\/127\.0\.0\.1:\d+)$/m.exec(text)?.[1];
  const management = /^Management API: (http:\/\/127\.0\.0\.1:\d+)$/m.exec(text)?.[1];
  assert.ok(inference && management, `no API addresses in output:\n${text}`);
  assert.doesNotMatch(inference, /:0$/);
  assert.doesNotMatch(management, /:0$/);
  return { inference, management };
}

// ---- HTTP (no keep-alive, so nothing of ours holds the server open) -------------------------------

interface HttpReply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function request(method: string, url: string, body?: unknown): Promise<HttpReply> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request(
      url,
      { method, agent: false, headers: payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: text }));
        res.on('error', reject);
      },
    );
    req.setTimeout(60_000, () => req.destroy(new Error(`timeout: ${method} ${url}`)));
    req.on('error', reject);
    req.end(payload);
  });
}

interface WorkerInfo {
  id: string;
  status: string;
  pid?: number;
}

/** GET /models/scale until it lists `count` workers that all have a pid (workers load in the background). */
async function workerPids(management: string, count: number): Promise<number[]> {
  const deadline = Date.now() + 60_000; // workers boot and load ORT: slow on a loaded host
  for (;;) {
    const reply = await request('GET', `${management}/models/scale`);
    assert.equal(reply.status, 200, reply.body);
    const workers = (JSON.parse(reply.body) as { workers: WorkerInfo[] }).workers;
    const pids = workers.map((w) => w.pid).filter((p): p is number => Number.isInteger(p) && p! > 0);
    pids.forEach((p) => pidsToKill.add(p));
    if (workers.length === count && pids.length === count) return pids;
    assert.ok(Date.now() < deadline, `workers never reached ${count} with pids: ${reply.body}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function assertServes(urls: { inference: string; management: string }): Promise<number[]> {
  const ping = await request('GET', `${urls.inference}/ping`);
  assert.equal(ping.status, 200);
  assert.match(String(ping.headers['content-type']), /application\/json/);
  assert.deepEqual(JSON.parse(ping.body), { status: 'Healthy' });

  const pred = await request('POST', `${urls.inference}/predictions/scale`, KSERVE_REQUEST);
  assert.equal(pred.status, 200, pred.body);
  const outputs = (JSON.parse(pred.body) as { outputs: Array<{ data: number[] }> }).outputs;
  assert.equal(outputs.length, 1);
  assert.deepEqual(outputs[0].data, [2, 4, 6, 8]);

  const pids = await workerPids(urls.management, 2);
  assert.equal(new Set(pids).size, 2);
  for (const pid of pids) assert.doesNotThrow(() => process.kill(pid, 0), `worker ${pid} is not alive`);
  return pids;
}

// ---- tests ---------------------------------------------------------------------------------------

describe('multi-model-server CLI', () => {
  it('(a) --start in the background serves the model; a second --start refuses; --stop ends everything', async () => {
    const s = sandbox();
    const started = await cli(s, ['--start', ...startArgs(s)]);
    // Register the server for cleanup before asserting anything else.
    const serverPid = existsSync(s.pidFile) ? readPidFile(s) : undefined;
    if (serverPid !== undefined) pidsToKill.add(serverPid);
    assert.equal(started.code, 0, `start failed: ${started.stderr}${started.stdout}`);
    assert.ok(serverPid !== undefined, 'no pid file after --start');
    assert.match(started.stdout, new RegExp(`Model server started \\(pid ${serverPid}\\)`));
    assert.ok(!isGone(serverPid));
    const urls = apiUrls(started.stdout);

    const workers = await assertServes(urls);

    const again = await cli(s, ['--start', ...startArgs(s)]);
    assert.notEqual(again.code, 0);
    assert.match(again.stderr, /already running/);
    assert.equal(readPidFile(s), serverPid, 'a refused --start must leave the pid file alone');
    assert.ok(!isGone(serverPid));

    const stopped = await cli(s, ['--stop']);
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.match(stopped.stdout, /Model server stopped\./);
    assert.deepEqual(await waitGone([serverPid, ...workers]), [], 'processes left after --stop');
    assert.ok(!existsSync(s.pidFile), 'pid file left after --stop');
  });

  it('(a) --no-snapshot neither writes nor restores the model snapshot; without it the start-up model is in it', async () => {
    const s = sandbox(['default_workers_per_model=1']);
    // work_dir defaults to <TMPDIR>/mms-models, so snapshot_dir to TMPDIR/mms-snapshots/<this store and config's id>.
    const snapshots = path.join(s.tmp, 'mms-snapshots');
    const files = () => (existsSync(snapshots) ? readdirSync(snapshots).map((d) => path.join(snapshots, d, 'model-snapshot.json')).filter(existsSync) : []);
    const startStop = async (flags: string[]) => {
      const started = await cli(s, ['--start', ...flags, ...startArgs(s)]);
      const serverPid = existsSync(s.pidFile) ? readPidFile(s) : undefined;
      if (serverPid !== undefined) pidsToKill.add(serverPid);
      assert.equal(started.code, 0, `start failed: ${started.stderr}${started.stdout}`);
      const stopped = await cli(s, ['--stop']);
      assert.equal(stopped.code, 0, stopped.stderr);
    };
    await startStop(['--no-snapshot']);
    assert.deepEqual(files(), [], 'no snapshot written with --no-snapshot');
    await startStop([]);
    assert.equal(files().length, 1, 'one snapshot, this server\'s');
    const snapshot = JSON.parse(readFileSync(files()[0], 'utf8')) as { models: Array<{ name: string; loadedAtStartup: boolean }> };
    assert.deepEqual(snapshot.models.map((m) => [m.name, m.loadedAtStartup]), [['scale', true]]);
  });

  it('(b) --stop with nothing running says so', async () => {
    const s = sandbox();
    const r = await cli(s, ['--stop']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /Model server is not currently running\./);
  });

  it('(b) --stop with a stale pid file removes it', async () => {
    const s = sandbox();
    // A pid that certainly is not running: a child we started and reaped.
    const dead = spawn(process.execPath, ['-e', '']);
    await once(dead, 'exit');
    writeFileSync(s.pidFile, `${dead.pid}\n`);
    const r = await cli(s, ['--stop']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /Model server already stopped\./);
    assert.ok(!existsSync(s.pidFile));
  });

  it('(b) --stop with a pid file naming a process that is not a model server refuses and leaves it alive', async () => {
    const s = sandbox();
    const sleeper = spawn('sleep', ['60'], { stdio: 'ignore' });
    children.add(sleeper);
    writeFileSync(s.pidFile, `${sleeper.pid}\n`);
    const r = await cli(s, ['--stop']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /not a model server/);
    assert.ok(!isGone(sleeper.pid!), 'the unrelated process was signalled');
    assert.equal(sleeper.exitCode, null);
    assert.equal(sleeper.signalCode, null);
  });

  describe('(c) start errors exit non-zero with a message', () => {
    it('--model-store /nonexistent', async () => {
      const s = sandbox();
      const r = await cli(s, ['--start', '--mms-config', s.config, '--models', 'scale=scale', '--model-store', '/nonexistent']);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /--model-store directory not found: \/nonexistent/);
      assert.ok(!existsSync(s.pidFile));
    });

    it('--mms-config /nonexistent', async () => {
      const s = sandbox();
      const r = await cli(s, ['--start', '--mms-config', '/nonexistent', '--models', 'scale=scale', '--model-store', s.store]);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /--mms-config file not found: \/nonexistent/);
      assert.ok(!existsSync(s.pidFile));
    });

    it('a config with job_queue_size=abc', async () => {
      const s = sandbox(['job_queue_size=abc']);
      const r = await cli(s, ['--start', ...startArgs(s)]);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /job_queue_size/);
      assert.match(r.stderr, /Invalid configuration/);
      assert.ok(!existsSync(s.pidFile));
    });

    it('--models with a local location and no --model-store', async () => {
      const s = sandbox();
      const r = await cli(s, ['--start', '--models', 'scale=scale']);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /--model-store is required to load model locally\./);
    });

    it('--start together with --stop', async () => {
      const s = sandbox();
      const r = await cli(s, ['--start', '--stop']);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /mutually exclusive|conflict/i);
      assert.ok(!existsSync(s.pidFile));
    });
  });

  it('(d) --foreground runs until SIGTERM, then exits 0 and takes its workers with it', async () => {
    const s = sandbox();
    const child = spawn(process.execPath, [CLI, '--start', '--foreground', ...startArgs(s)], {
      cwd: s.cwd,
      env: s.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: CLI_TIMEOUT_MS,
    });
    children.add(child);
    pidsToKill.add(child.pid!);
    const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));

    // Read stdout (log lines interleave) up to "Model server started." and the two address lines after it.
    const lines = createInterface({ input: child.stdout! });
    let seen = '';
    const ready = new Promise<string>((resolve, reject) => {
      lines.on('line', (line) => {
        seen += `${line}\n`;
        if (/^Model server started\.$/m.test(seen) && /^Management API: /m.test(seen)) resolve(seen);
      });
      void exited.then(([code, signal]) => reject(new Error(`exited before start (code ${code}, signal ${signal}): ${stderr}\n${seen}`)));
    });
    const urls = apiUrls(await ready);
    // The launcher stays in the foreground as the parent of the server process, which records its pid.
    const serverPid = readPidFile(s);
    assert.ok(serverPid !== child.pid && !isGone(serverPid), 'the server process records its own pid');
    pidsToKill.add(serverPid);

    const workers = await assertServes(urls);

    child.kill('SIGTERM');
    const [code, signal] = await exited;
    assert.equal(signal, null);
    assert.equal(code, 0, stderr);
    assert.deepEqual(await waitGone([...workers, serverPid]), [], 'server or workers left after SIGTERM');
    assert.ok(!existsSync(s.pidFile), 'pid file left after SIGTERM');
  });

  it('(d) Ctrl-C (SIGINT to the whole foreground process group) stops everything and leaves no socket files', async () => {
    const s = sandbox();
    // Its own process group, as a terminal's foreground job: the signal reaches launcher, server and workers.
    const child = spawn(process.execPath, [CLI, '--start', '--foreground', ...startArgs(s)], {
      cwd: s.cwd,
      env: s.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
      timeout: CLI_TIMEOUT_MS,
    });
    children.add(child);
    pidsToKill.add(child.pid!);
    const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    const lines = createInterface({ input: child.stdout! });
    child.stderr!.resume();
    const ready = new Promise<string>((resolve, reject) => {
      let seen = '';
      lines.on('line', (line) => {
        seen += `${line}\n`;
        if (/^Model server started\.$/m.test(seen) && /^Management API: /m.test(seen)) resolve(seen);
      });
      void exited.then(() => reject(new Error(`exited before start: ${seen}`)));
    });
    const urls = apiUrls(await ready);
    const serverPid = readPidFile(s);
    pidsToKill.add(serverPid);
    const workers = await assertServes(urls);
    assert.ok(readdirSync(s.tmp).some((f) => f.startsWith('.mms.sock.')), 'no worker socket files while running');

    process.kill(-child.pid!, 'SIGINT');
    await exited;
    assert.deepEqual(await waitGone([...workers, serverPid]), [], 'server or workers left after SIGINT');
    assert.deepEqual(readdirSync(s.tmp).filter((f) => f.startsWith('.mms.sock.')), [], 'socket files left after SIGINT');
  });

  it('(e) --help lists the options', async () => {
    const s = sandbox();
    const r = await cli(s, ['--help']);
    assert.equal(r.code, 0);
    for (const flag of ['--start', '--stop', '--models', '--model-store', '--mms-config', '--log-config', '--foreground']) {
      assert.ok(r.stdout.includes(flag), `--help does not mention ${flag}:\n${r.stdout}`);
    }
    assert.ok(!existsSync(s.pidFile), '--help must not start anything');
  });
});
