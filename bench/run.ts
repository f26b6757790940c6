// `npm run bench`: one run on this machine measures our server and its peers side by side and writes
// docs/performance.{json,md,svg}. Peers: the in-process ORT loop (the limit), a naive one-process
// Koa + ORT server (what a user would write), a bare Koa no-op server (the HTTP floor).
// Flags: --duration S (per point, default 5), --device (the many-core run: cls only, N-1 workers),
// --out DIR (default docs), --report-only (redraws docs and SVGs from the JSON: `node dist/bench/run.js --report-only`).
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { CLS_FILE } from './lib/cls-input.js';
import type { LoadResult, LoadSpec } from './lib/load-worker.js';
import { machine } from './lib/machine.js';
import { DIST, cpuSeconds, rss, runNodeJson, startNode, stop } from './lib/processes.js';
import { svg } from './lib/chart.js';
import { markdown, type Goal, type Point, type Results, type Series } from './lib/report.js';

const { values: flags } = parseArgs({
  options: {
    duration: { type: 'string', default: '5' },
    device: { type: 'boolean', default: false },
    out: { type: 'string', default: 'docs' },
    // Rewrites performance.md and the SVGs from the JSON results already in --out (e.g. after copying
    // in a device run, or after a change to the chart), without measuring anything.
    'report-only': { type: 'boolean', default: false },
  },
});
const duration = Number(flags.duration);
const cores = os.availableParallelism();
const CONCURRENCY = flags.device ? [64, 256] : [1, 8, 64];
const loadThreads = flags.device ? Math.max(2, Math.floor(cores / 4)) : 1;
const script = (p: string) => path.join(DIST, 'bench', p);

/** One point: after a 1 s warm-up, `loadThreads` load processes share the connections; their rates add up. */
async function load(url: string, connections: number, body: LoadSpec['body'], frontendPid?: number): Promise<Point> {
  const procs = connections > 1 ? Math.min(loadThreads, connections) : 1;
  const spec = (c: number, d: number): string => JSON.stringify({ url, connections: c, duration: d, body } satisfies LoadSpec);
  const run = (d: number) =>
    Promise.all(Array.from({ length: procs }, (_, i) => runNodeJson<LoadResult>(script('lib/load-worker.js'), [spec(Math.floor(connections / procs) + (i < connections % procs ? 1 : 0), d)])));
  await run(1);
  const cpu0 = frontendPid ? cpuSeconds(frontendPid) : 0;
  const t0 = performance.now();
  const parts = await run(duration);
  const frontendCores = frontendPid ? (cpuSeconds(frontendPid) - cpu0) / ((performance.now() - t0) / 1000) : undefined;
  const r: LoadResult = {
    rps: parts.reduce((a, p) => a + p.rps, 0),
    p50: parts.reduce((a, p) => a + p.p50, 0) / parts.length, // each part sees the same server: their mean
    p99: Math.max(...parts.map((p) => p.p99)),
    errors: parts.reduce((a, p) => a + p.errors, 0),
    non2xx: parts.reduce((a, p) => a + p.non2xx, 0),
  };
  const point: Point = { concurrency: connections, ...r, frontendCores };
  process.stderr.write(`  c=${connections}: ${Math.round(r.rps)} req/s, p50 ${r.p50} ms, p99 ${r.p99} ms${r.errors || r.non2xx ? `, ${r.errors} errors, ${r.non2xx} non-2xx` : ''}\n`);
  return point;
}

async function peer(name: string, args: string[], model: Series['model']): Promise<Series> {
  process.stderr.write(`${name}\n`);
  const { child, match } = await startNode(script('peers/naive-server.js'), args, /^listening (\d+)/);
  try {
    const points: Point[] = [];
    for (const c of CONCURRENCY) points.push(await load(`http://127.0.0.1:${match[1]}/`, c, model === 'cls' ? 'cls' : 'empty'));
    return { name, model, points, workerRssMB: rss(child.pid!) / 2 ** 20 };
  } finally {
    await stop(child);
  }
}

function makeStore(): string {
  const store = mkdtempSync(path.join(os.tmpdir(), 'mms-bench-'));
  const write = (name: string, manifest: object, files: Record<string, string>) => {
    mkdirSync(path.join(store, name, 'MAR-INF'), { recursive: true });
    writeFileSync(path.join(store, name, 'MAR-INF', 'MANIFEST.json'), JSON.stringify(manifest));
    for (const [to, from] of Object.entries(files)) copyFileSync(from, path.join(store, name, to));
  };
  write('noop', { runtime: 'node', model: { modelName: 'noop', handler: 'noop.mjs' } }, { 'noop.mjs': path.join(DIST, '..', 'bench', 'fixtures', 'noop.mjs') });
  write('cls', { runtime: 'onnx', model: { modelName: 'cls', handler: 'onnx' } }, { 'model.onnx': CLS_FILE });
  return store;
}

async function ours(store: string): Promise<{ series: Series[]; frontendRssMB: number }> {
  const config = path.join(store, 'config.properties');
  writeFileSync(config, ['inference_address=http://127.0.0.1:0', 'management_address=http://127.0.0.1:0', 'metrics_address=http://127.0.0.1:0', `model_store=${store}`, 'job_queue_size=1000'].join('\n'));
  const server = await startNode(path.join(DIST, 'frontend', 'cli.js'), ['--start', '--foreground', '--mms-config', config], /^Management API: (\S+)/, { MMS_LOG_LEVEL: 'warn', TMPDIR: store });
  const management = server.match[1];
  const inference = server.lines.map((l) => /^Inference API: (\S+)/.exec(l)?.[1]).find(Boolean)!;
  // The CLI stays as the launcher; the server process is its child and records its pid (TMPDIR=store).
  const serverPid = Number(readFileSync(path.join(store, '.model_server.pid'), 'utf8'));
  const series: Series[] = [];
  try {
    const plans = flags.device
      ? [8, 1].map((batch) => ({ model: 'cls' as const, workers: cores - 1, batch }))
      : (['noop', 'cls'] as const).flatMap((model) => [1, 2].flatMap((workers) => [1, 8].map((batch) => ({ model, workers, batch }))));
    for (const p of plans) {
      const name = `ours ${p.model}, ${p.workers} worker${p.workers > 1 ? 's' : ''}, batching ${p.batch > 1 ? `on (${p.batch})` : 'off'}`;
      process.stderr.write(`${name}\n`);
      const q = `url=${p.model}&model_name=${p.model}&initial_workers=${p.workers}&batch_size=${p.batch}&max_batch_delay=5&synchronous=true`;
      const reg = await fetch(`${management}/models?${q}`, { method: 'POST' });
      if (reg.status !== 200) throw new Error(`register ${p.model}: ${reg.status} ${await reg.text()}`);
      const points: Point[] = [];
      for (const c of CONCURRENCY) points.push(await load(`${inference}/predictions/${p.model}`, c, p.model === 'cls' ? 'cls' : 'empty', serverPid));
      const described = (await (await fetch(`${management}/models/${p.model}`)).json()) as { workers: Array<{ memoryUsage: number }> };
      series.push({ name, model: p.model, points, workerRssMB: Math.max(...described.workers.map((w) => w.memoryUsage)) / 2 ** 20 });
      await fetch(`${management}/models/${p.model}`, { method: 'DELETE' });
    }
    return { series, frontendRssMB: rss(serverPid) / 2 ** 20 };
  } finally {
    await stop(server.child);
  }
}

async function loops(parallel: number): Promise<{ itemsPerSecond: number; parallel?: number; aggregate?: number }> {
  process.stderr.write('in-process ORT loop\n');
  const single = await runNodeJson<{ itemsPerSecond: number }>(script('peers/ort-loop.js'), [String(duration)]);
  if (parallel <= 1) return { itemsPerSecond: single.itemsPerSecond };
  const all = await Promise.all(Array.from({ length: parallel }, () => runNodeJson<{ itemsPerSecond: number }>(script('peers/ort-loop.js'), [String(duration)])));
  return { itemsPerSecond: single.itemsPerSecond, parallel, aggregate: all.reduce((a, r) => a + r.itemsPerSecond, 0) };
}

const at = (s: Series | undefined, c: number) => s?.points.find((p) => p.concurrency === c);
const pct = (n: number) => `${Math.round(n * 100)}%`;

function goals(r: Omit<Results, 'goals'>): Goal[] {
  const find = (name: string) => r.series.find((s) => s.name === name);
  const out: Goal[] = [];
  if (flags.device) {
    const best = Math.max(...r.series.filter((s) => s.name.startsWith('ours')).map((s) => at(s, 64)?.rps ?? 0));
    const agg = r.inProcessLoop.aggregate ?? 0;
    out.push({ goal: `cls with ${cores - 1} workers ≥ 85% of ${cores - 1} loops side by side`, measured: `${Math.round(best)} vs ${Math.round(agg)} items/s = ${pct(best / agg)}`, met: best >= 0.85 * agg });
    return out;
  }
  const naive = find('naive Koa + ORT (cls)');
  const koa = find('bare Koa no-op');
  const cls2 = [find('ours cls, 2 workers, batching off'), find('ours cls, 2 workers, batching on (8)')];
  const best2 = Math.max(...cls2.map((s) => at(s, 64)?.rps ?? 0));
  out.push({ goal: 'cls, 2 workers, c=64 ≥ 1.8× naive peer', measured: `${Math.round(best2)} vs ${Math.round(at(naive, 64)?.rps ?? 0)} req/s = ${(best2 / (at(naive, 64)?.rps ?? 1)).toFixed(2)}×`, met: best2 >= 1.8 * (at(naive, 64)?.rps ?? Infinity) });
  const loop2 = 2 * r.inProcessLoop.itemsPerSecond;
  out.push({ goal: 'cls, 2 workers, c=64 ≥ 65% of 2 × in-process loop', measured: `${Math.round(best2)} vs ${Math.round(loop2)} items/s = ${pct(best2 / loop2)}`, met: best2 >= 0.65 * loop2 });
  const p50 = Math.min(...r.series.filter((s) => s.model === 'cls' && s.name.startsWith('ours')).map((s) => at(s, 1)?.p50 ?? Infinity));
  out.push({ goal: 'cls c=1 p50 ≤ naive p50 + 0.3 ms', measured: `${p50} vs ${at(naive, 1)?.p50} ms`, met: p50 <= (at(naive, 1)?.p50 ?? 0) + 0.3 });
  const noop = r.series.filter((s) => s.model === 'noop' && s.name.startsWith('ours'));
  const bestNoop = noop.reduce((b, s) => ((at(s, 64)?.rps ?? 0) > (at(b, 64)?.rps ?? 0) ? s : b), noop[0]);
  const koa64 = at(koa, 64)?.rps ?? 1;
  out.push({ goal: 'no-op c=64 ≥ 80% of bare Koa', measured: `${Math.round(at(bestNoop, 64)?.rps ?? 0)} vs ${Math.round(koa64)} req/s = ${pct((at(bestNoop, 64)?.rps ?? 0) / koa64)} (${bestNoop?.name})`, met: (at(bestNoop, 64)?.rps ?? 0) >= 0.8 * koa64 });
  out.push({ goal: 'no-op c=64 p99 ≤ 10 ms', measured: `${at(bestNoop, 64)?.p99} ms`, met: (at(bestNoop, 64)?.p99 ?? Infinity) <= 10 });
  out.push({ goal: 'frontend RSS ≤ 80 MB', measured: `${Math.round(r.frontendRssMB)} MB`, met: r.frontendRssMB <= 80 });
  const clsRss = Math.max(...r.series.filter((s) => s.model === 'cls' && s.name.startsWith('ours')).map((s) => s.workerRssMB ?? 0));
  out.push({ goal: 'cls worker RSS ≤ 120 MB', measured: `${Math.round(clsRss)} MB`, met: clsRss <= 120 });
  return out;
}

if (flags['report-only']) {
  for (const base of ['performance', 'performance-device']) {
    const json = path.join(flags.out!, `${base}.json`);
    if (existsSync(json)) writeFileSync(path.join(flags.out!, `${base}.svg`), svg(JSON.parse(readFileSync(json, 'utf8')) as Results));
  }
  writeFileSync(path.join(flags.out!, 'performance.md'), performanceDoc(flags.out!));
  process.exit(0);
}

const store = makeStore();
try {
  const inProcessLoop = await loops(flags.device ? cores - 1 : 1);
  const peers = flags.device ? [] : [await peer('naive Koa + ORT (cls)', [], 'cls'), await peer('bare Koa no-op', ['--noop'], 'noop')];
  const mine = await ours(store);
  const partial = { machine: machine(), durationS: duration, inProcessLoop, series: [...peers, ...mine.series], frontendRssMB: mine.frontendRssMB };
  const results: Results = { ...partial, goals: goals(partial) };
  const base = path.join(flags.out!, flags.device ? 'performance-device' : 'performance');
  mkdirSync(flags.out!, { recursive: true });
  writeFileSync(`${base}.json`, `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(`${base}.svg`, svg(results));
  process.stdout.write(markdown(results, 'This run'));
  writeFileSync(path.join(flags.out!, 'performance.md'), performanceDoc(flags.out!));
} finally {
  rmSync(store, { recursive: true, force: true });
}

/** docs/performance.md from the latest local and many-core results, whichever exist. */
function performanceDoc(dir: string): string {
  const read = (f: string) => (existsSync(path.join(dir, f)) ? (JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as Results) : undefined);
  const local = read('performance.json');
  const device = read('performance-device.json');
  return [
    '# Performance',
    '',
    'Measured by `npm run bench` (docs written by it; do not edit by hand). One run measures our server and its',
    'peers on the same machine, since machines differ up to 3×: the in-process ORT loop (the limit), a naive',
    'one-process Koa + ORT server (what a user would write), and a bare Koa no-op server (the HTTP floor). Load',
    'comes from autocannon in a separate process. The cls model is PaddleOCR\'s direction classifier fed one',
    '[1,3,48,192] FP32 tensor (110 KB) per request in the KServe v2 binary format; the no-op model answers',
    'two bytes from a JS handler, so it measures the serving path alone. The server runs with log level warn.',
    '`npm run bench -- --device` is the many-core run (cls only, one worker per core but one).',
    '',
    'Reading the figures: "frontend cores" is the CPU the server process (HTTP, queues, sockets) used during',
    'a point; near 1 it is the bottleneck, since its JavaScript runs on one event loop. On a 2-core machine the',
    'load generator, the frontend and the workers share two cores, so no configuration there can reach the',
    'in-process loop\'s rate per worker.',
    '',
    local ? markdown(local, 'Latest run') : '',
    local ? '![throughput](performance.svg)\n' : '',
    device ? markdown(device, 'Many-core run') : '',
  ].join('\n');
}
