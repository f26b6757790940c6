// `npm run chaos`: kills workers under load and checks that no request is lost. Starts the server
// in-process on loopback (free ports, a temp model store holding PaddleOCR's direction classifier),
// registers it with --workers workers, keeps a closed loop of --concurrency requests going for
// --duration seconds and SIGKILLs a random READY worker every --interval seconds. For each kill it
// measures the restart time: from the kill until describe shows a new READY worker (polled every
// 20 ms). Prints a text summary and one JSON line; exits 0 only if every request succeeded with the
// right answer and every killed worker was replaced.
// The server runs --fronts inference fronts (node:cluster processes; inference and management on
// separate addresses), and every --front-every-th kill SIGKILLs a random front instead of a worker.
// Requests on the killed front's connections (told apart by their client ports, read from /proc before
// the kill) may fail; they are counted apart. Every other request must succeed: a worker kill loses
// none, and the other fronts keep serving while the killed one is restarted.
// Flags: --duration S (60), --interval S (2), --concurrency N (8), --workers N (2), --fronts N (2),
// --front-every N (3; 0: workers only), --log-level L (warn), --server-log FILE (keep the server's log),
// --help. E.g. kills every second at 64 clients: --interval 1 --concurrency 64.
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { RunningServer } from '../frontend/control/controller.js';
import { emergencyCleanup, killLeftovers } from './lib/chaos-cleanup.js';
import { message, request } from './lib/chaos-http.js';
import { FrontKiller } from './lib/chaos-fronts.js';
import { killWorkers, RestartWatcher, RESTART_LIMIT_MS, type DescribedWorker } from './lib/chaos-killer.js';
import { referenceAnswers, startLoad } from './lib/chaos-load.js';
import { MODEL, startChaosServer } from './lib/chaos-server.js';
import { logLevels, percentile, round } from './lib/chaos-stats.js';

interface Flags {
  duration: number;
  interval: number;
  concurrency: number;
  workers: number;
  fronts: number;
  frontEvery: number;
  logLevel: string;
  serverLog?: string;
}

class FlagError extends Error {}

const USAGE = `usage: npm run chaos -- [flags]
  --duration S      seconds of load and kills (60)
  --interval S      seconds between kills, fractions allowed (2; 1: a kill every second)
  --concurrency N   closed-loop clients (8)
  --workers N       workers of the model (2)
  --fronts N        inference front processes (2)
  --front-every N   every Nth kill is a front's instead of a worker's (3; 0: workers only)
  --log-level L     the server's log level (warn)
  --server-log FILE keep a copy of the server's log (it is written under the run's temp dir)
  --help            this text`;

function parseFlags(): Flags {
  const options = {
    duration: { type: 'string', default: '60' },
    interval: { type: 'string', default: '2' },
    concurrency: { type: 'string', default: '8' },
    workers: { type: 'string', default: '2' },
    fronts: { type: 'string', default: '2' },
    'front-every': { type: 'string', default: '3' },
    'log-level': { type: 'string', default: 'warn' },
    'server-log': { type: 'string' },
    help: { type: 'boolean', default: false },
  } as const;
  let values: ReturnType<typeof parseArgs<{ options: typeof options }>>['values'];
  try {
    values = parseArgs({ options }).values;
  } catch (err) {
    throw new FlagError(`${(err as Error).message}\n${USAGE}`);
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  if (!['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'].includes(values['log-level']!)) throw new FlagError(`--log-level: unknown level "${values['log-level']}"`);
  const num = (name: string, v: string, min: number, max: number, int = false) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < min || n > max || (int && !Number.isInteger(n))) throw new FlagError(`--${name} must be ${int ? 'an integer' : 'a number'} between ${min} and ${max}, got "${v}"`);
    return n;
  };
  const fronts = num('fronts', values.fronts!, 1, 64, true);
  const frontEvery = num('front-every', values['front-every']!, 0, 1_000_000, true);
  if (frontEvery > 0 && fronts < 2) throw new FlagError('--front-every needs --fronts 2 or more (or --front-every 0): with one front, killing it stops all service');
  return {
    fronts,
    frontEvery,
    duration: num('duration', values.duration!, 1, 86_400),
    interval: num('interval', values.interval!, 0.1, 3_600),
    concurrency: num('concurrency', values.concurrency!, 1, 1_024, true),
    workers: num('workers', values.workers!, 1, 64, true),
    logLevel: values['log-level']!,
    serverLog: values['server-log'],
  };
}

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
  // For any exit that skips the finally below.
  const onExit = () => emergencyCleanup(root, seenPids);
  process.once('exit', onExit);
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
    let logFile: string;
    ({ server, logFile } = await startChaosServer(root, flags));
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
      `${flags.duration} s, kill every ${flags.interval} s, concurrency ${flags.concurrency}; ` +
      `${srv.frontPids().length} fronts (pids ${srv.frontPids().join(', ')}), ${flags.frontEvery ? `every ${flags.frontEvery}th kill a front` : 'no front kills'}\n`);

    const predictUrl = `${srv.inferenceUrl}/predictions/${MODEL}`;
    const { inputs, expected } = await referenceAnswers(loadAgent, predictUrl);
    const distinct = new Set(expected.map((e) => e.map((v) => v.toFixed(4)).join())).size;

    const watcher = new RestartWatcher(describe, initial);
    const fronts = new FrontKiller(() => srv.frontPids(), Number(new URL(srv.inferenceUrl).port));
    const started = performance.now();
    const end = started + flags.duration * 1000;
    const load = startLoad({
      agent: loadAgent, predictUrl, inputs, expected, concurrency: flags.concurrency, stopped: () => stopping,
      onKilledFront: (port) => fronts.claim(port),
    });
    watcher.start();
    let skipped = 0;
    try {
      skipped = await killWorkers({
        describe, watcher, intervalS: flags.interval, started, end, stopped: () => stopping,
        frontEvery: flags.frontEvery, killFront: () => fronts.kill(),
      });
    } finally {
      stopping = true;
      await Promise.all(load.lanes);
    }
    const elapsed = (performance.now() - started) / 1000;
    // Let the last restarts be measured (bounded by RESTART_LIMIT_MS per kill).
    await watcher.drain(() => interrupted);
    await watcher.stop();
    await fronts.drain();
    const final = await describe();

    const { total, failed, failures, frontFailed, frontFailures, samples, latencies } = load.stats;
    const frontRestarts = fronts.kills.flatMap((k) => (k.restartMs === undefined ? [] : [k.restartMs])).sort((a, b) => a - b);
    const frontsUnreplaced = fronts.kills.filter((k) => k.restartMs === undefined).length;
    const { kills, describeErrors } = watcher;
    const restarts = kills.flatMap((k) => (k.restartMs === undefined ? [] : [k.restartMs])).sort((a, b) => a - b);
    const unreplaced = kills.filter((k) => k.restartMs === undefined);
    latencies.sort((a, b) => a - b);
    const summary = {
      ok: failed === 0 && unreplaced.length === 0 && frontsUnreplaced === 0 && total > 0 && !interrupted,
      interrupted,
      durationS: round(elapsed, 2),
      concurrency: flags.concurrency,
      workers: flags.workers,
      fronts: flags.fronts,
      frontEvery: flags.frontEvery,
      intervalS: flags.interval,
      requests: total,
      failed,
      failuresByStatus: Object.fromEntries(failures),
      failureSamples: samples,
      failedOnKilledFronts: frontFailed,
      killedFrontFailuresByStatus: Object.fromEntries(frontFailures),
      requestsPerS: round(total / elapsed),
      latencyMs: { p50: round(percentile(latencies, 50)), p99: round(percentile(latencies, 99)), max: round(latencies[latencies.length - 1] ?? NaN) },
      kills: kills.length,
      killTicksSkipped: skipped,
      frontKills: fronts.kills.length,
      frontConnectionsKilled: fronts.kills.reduce((a, k) => a + k.connections, 0),
      frontsUnreplaced,
      frontRestartMs: { min: round(frontRestarts[0] ?? NaN), max: round(frontRestarts[frontRestarts.length - 1] ?? NaN), all: frontRestarts.map((r) => Math.round(r)) },
      unreplaced: unreplaced.length,
      restartMs: { min: round(restarts[0] ?? NaN), median: round(percentile(restarts, 50)), max: round(restarts[restarts.length - 1] ?? NaN), all: restarts.map((r) => Math.round(r)) },
      describeErrors,
      finalWorkers: final.map((w) => w.status),
      distinctReferenceOutputs: distinct,
      serverLog: logLevels(logFile),
    };
    const text = [
      `chaos summary (${summary.durationS} s, ${flags.workers} workers, ${flags.fronts} fronts, concurrency ${flags.concurrency}, kill every ${flags.interval} s)`,
      `  requests:  ${total} (${summary.requestsPerS} req/s), failed ${failed}${failed ? ` ${JSON.stringify(summary.failuresByStatus)}` : ''}`,
      ...samples.map((s) => `    e.g. ${s}`),
      `  on killed fronts' connections: failed ${frontFailed}${frontFailed ? ` ${JSON.stringify(summary.killedFrontFailuresByStatus)}` : ''} (not counted above)`,
      `  latency:   p50 ${summary.latencyMs.p50} ms, p99 ${summary.latencyMs.p99} ms, max ${summary.latencyMs.max} ms`,
      `  kills:     ${kills.length} workers${skipped ? ` (${skipped} ticks with nothing to kill)` : ''}, not replaced ${unreplaced.length}; ` +
        `${fronts.kills.length} fronts (${summary.frontConnectionsKilled} connections), not replaced ${frontsUnreplaced}`,
      `  restart:   min ${summary.restartMs.min} ms, median ${summary.restartMs.median} ms, max ${summary.restartMs.max} ms; ` +
        `front forked again after ${summary.frontRestartMs.all.join(', ') || '-'} ms`,
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
    killLeftovers(seenPids);
    if (flags.serverLog) {
      try {
        copyFileSync(path.join(root, 'server.log'), flags.serverLog);
      } catch (err) {
        process.stderr.write(`chaos: cannot keep the server log: ${(err as Error).message}\n`);
      }
    }
    if (savedTmp === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = savedTmp;
    rmSync(root, { recursive: true, force: true });
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('exit', onExit);
    clearTimeout(hardStop);
  }
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
