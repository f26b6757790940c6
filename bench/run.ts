// `npm run bench`: one run on this machine measures our server and its peers side by side and writes
// docs/performance.{json,md,svg}. Peers: the in-process ORT loop (the limit), a naive one-process
// Koa + ORT server (what a user would write), a bare Koa no-op server (the HTTP floor), bare node:http
// reading the cls body (the floor of a front's CPU per request). Every point also reads the CPU each
// process used (ours by class: fronts, controller, workers) per request answered (cpu.ts). Each scenario
// (no-op, cls, and on a many-core host the fronts series) runs its contenders interleaved, A B A B,
// over several rounds; figures are medians and ratios are taken within a round, so the drift of a
// shared machine cancels. `node dist/bench/run.js --help` lists the flags.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { makeStore } from './lib/bench-store.js';
import type { LoadSpec } from './lib/load-worker.js';
import { machine } from './lib/machine.js';
import { DIST, runNodeJson } from './lib/processes.js';
import { svg } from './lib/chart.js';
import { CPU_CLASSES, cpuClock, describeCpu, describeStageCores, type CpuPerRequest, type SessionCpu, type Watch } from './lib/cpu.js';
import { Ours, PINNED, type Contender } from './lib/ours.js';
import { NAIVE_DEFAULT_THREADS, NAIVE_ONE_THREAD, startBareHttp, startKoaPeer } from './lib/peers.js';
import { defaultLoadProcs } from './lib/load-parts.js';
import { measurePoint } from './lib/point.js';
import { goals } from './lib/goals.js';
import { performanceDeviceDoc, performanceDoc } from './lib/performance-doc.js';
import { runRamp } from './lib/ramp.js';
import { ocrContenders, ocrFile, writeOcrResults } from './lib/ocr-scenario.js';
import { markdown, median, type FrontsScaling, type Loop, type Point, type Results, type Sample, type Series } from './lib/report.js';

const HELP = `Usage: npm run bench -- [flags]   (or: node dist/bench/run.js [flags] after npm run build)

Measures our server against its peers on this machine and writes DIR/performance.{json,md,svg}
(DIR/performance-device.* with --device; DIR/performance.md is rebuilt from whichever JSONs DIR holds).

  --duration S        seconds per measured point (default 5; --quick: 1)
  --warmup S          seconds of load before each point, not measured (default 1; --quick: 0)
  --rounds N          rounds per scenario; contenders run A B A B and figures are medians over the
                      rounds, ratios are taken within a round (default 3; --quick: 1)
  --concurrency LIST  connections per point, comma-separated (default 1,8,64; --device: 64,256)
  --fronts N          our server's inference front processes, number_of_netty_threads (default 0:
                      the server's automatic choice, 1 on <= 4 cores, else ceil(cores/4) up to 8)
  --load-procs N      load generator processes sharing the connections of a point (default: 1 on
                      <= 4 cores, else ceil(cores/4) up to 16)
  --device            the many-core run: cls only, one worker per core but one, batching on and off
                      at --concurrency, then the fronts series; writes performance-device.*
  --fronts-series L   --device: the inference front counts of the fronts series (default 1,2,4,8;
                      "" skips it); each count is its own server, measured at --fronts-c
  --fronts-c N        --device: the concurrency of the fronts series (default 256)
  --fronts-batch N    --device: batch_size of the fronts series (default 1: batching off)
  --cpu-affinity      also our cls models registered with cpu_affinity=true ("ours pinned"), each beside
                      its unpinned twin in the same rounds (--device: both device models; else the
                      2-worker ones); the goals then list pinned / unpinned req/s per concurrency
  --log-level L       our server's MMS_LOG_LEVEL (default info, the server's default: the access log on;
                      warn turns it off); its stdout goes to a file, as \`npm start > file\` would
  (the cls scenario also measures gRPC ModelInfer, raw_input_contents, on the 2-worker batching-off
  model beside its REST binary series; with --device, on the batching-off model; and bare node:http
  reading the same body, the floor of our fronts' CPU per request)
  --quick             a tiny check that everything runs (1 round of 1 s points); writes to
                      $TMPDIR/mms-bench-quick unless --out is given
  --out DIR           where results go (default docs)
  --ramp              only the ramp scenario: one autoscaling model (min 1 worker) under a load that
                      steps up and down; writes DIR/ramp.{json,svg} (the plain run ends with it too)
  --ocr               only the OCR scenario: the bundled OCR as a pipeline (det, cls, rec workers from
                      --ocr-stages, default 1,1,1) against the single ocr handler with as many workers
                      in all, image requests at --concurrency (default 1,8,32), with each stage's cores
                      in session.run; writes DIR/performance-ocr.json (performance-ocr-gpu.json with --gpus)
  --gpus N            our server's number_of_gpu (default 0: every worker on the CPU); with N > 0 the
                      workers take the GPUs' CUDA provider (e.g. --ocr --gpus 1: every stage on CUDA)
  --report-only       redraws DIR/performance.md and the SVGs from the JSON already in DIR, measuring
                      nothing (e.g. after copying in a device run)
  --help              this text
`;

const { values: flags } = parseArgs({
  options: {
    duration: { type: 'string' },
    warmup: { type: 'string' },
    rounds: { type: 'string' },
    concurrency: { type: 'string' },
    fronts: { type: 'string', default: '0' },
    'load-procs': { type: 'string' },
    device: { type: 'boolean', default: false },
    'fronts-series': { type: 'string', default: '1,2,4,8' },
    'fronts-c': { type: 'string', default: '256' },
    'fronts-batch': { type: 'string', default: '1' },
    'log-level': { type: 'string', default: 'info' },
    'cpu-affinity': { type: 'boolean', default: false },
    quick: { type: 'boolean', default: false },
    out: { type: 'string' },
    'report-only': { type: 'boolean', default: false },
    ramp: { type: 'boolean', default: false },
    ocr: { type: 'boolean', default: false },
    'ocr-stages': { type: 'string', default: '1,1,1' },
    gpus: { type: 'string', default: '0' },
    help: { type: 'boolean', default: false },
  },
});
if (flags.help) {
  process.stdout.write(HELP);
  process.exit(0);
}
const quick = flags.quick;
const list = (s: string) => s.split(',').filter((x) => x.trim() !== '').map(Number);
const duration = Number(flags.duration ?? (quick ? 1 : 5));
const warmup = Number(flags.warmup ?? (quick ? 0 : 1));
const rounds = Math.max(1, Number(flags.rounds ?? (quick ? 1 : 3)));
const cores = os.availableParallelism();
const CONCURRENCY = flags.concurrency ? list(flags.concurrency) : flags.device ? [64, 256] : flags.ocr ? [1, 8, 32] : [1, 8, 64];
const fronts = Number(flags.fronts);
const loadProcs = Math.max(1, Number(flags['load-procs'] ?? defaultLoadProcs(cores)));
const FRONTS_SERIES = list(flags['fronts-series']!);
const FRONTS_C = Number(flags['fronts-c']);
const FRONTS_BATCH = Number(flags['fronts-batch']);
const out = flags.out ?? (quick ? path.join(os.tmpdir(), 'mms-bench-quick') : 'docs');
const logLevel = flags['log-level']!;
if (!['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'].includes(logLevel)) {
  process.stderr.write(`--log-level: unknown level "${logLevel}"\n`);
  process.exit(2);
}
/** Memory is read once the server has been idle this long: what it keeps, not what the last point held. */
const SETTLE_MS = quick ? 0 : 5000;
const settledMemory = async (s: Ours) => {
  await new Promise((r) => setTimeout(r, SETTLE_MS));
  return { ...s.memory(), idleMs: SETTLE_MS };
};
const deviceWorkers = Math.max(1, cores - 1);
const script = (p: string) => path.join(DIST, 'bench', p);
const log = (s: string) => process.stderr.write(`${s}\n`);

// ---------------------------------------------------------------------------------------------------
// Measuring one point

/** One point of this run's duration and warm-up (lib/point.ts). */
const load = (url: string, connections: number, body: LoadSpec['body'], watch?: Watch, sessionCpu?: () => Promise<SessionCpu | undefined>): Promise<Sample> =>
  measurePoint(url, connections, body, { procs: loadProcs, warmupS: warmup, durationS: duration, watch, sessionCpu });

function summarize(concurrency: number, samples: Sample[]): Point {
  const med = (k: 'rps' | 'p50' | 'p99' | 'controllerCores' | 'frontCores' | 'loadCores') => (samples.some((s) => s[k] !== undefined) ? median(samples.map((s) => s[k] ?? 0)) : undefined);
  // Each class's median over the rounds that measured it.
  const cpu: CpuPerRequest = {};
  for (const k of [...CPU_CLASSES, 'total', 'session'] as const) {
    const xs = samples.flatMap((s) => (s.cpuUs?.[k] === undefined ? [] : [s.cpuUs[k]!]));
    if (xs.length) cpu[k] = median(xs);
  }
  const stages = [...new Set(samples.flatMap((s) => Object.keys(s.stageCores ?? {})))];
  const stageCores = Object.fromEntries(stages.map((k) => [k, median(samples.flatMap((s) => (s.stageCores?.[k] === undefined ? [] : [s.stageCores[k]])))]));
  return {
    concurrency,
    rps: med('rps')!,
    p50: med('p50')!,
    p99: med('p99')!,
    errors: samples.reduce((a, s) => a + s.errors, 0),
    non2xx: samples.reduce((a, s) => a + s.non2xx, 0),
    controllerCores: med('controllerCores'),
    frontCores: med('frontCores'),
    loadCores: med('loadCores'),
    requests: samples.reduce((a, s) => a + (s.requests ?? 0), 0),
    ...(Object.keys(cpu).length ? { cpuUs: cpu } : {}),
    ...(stages.length ? { stageCores } : {}),
    samples,
  };
}

// ---------------------------------------------------------------------------------------------------
// Contenders (the peers are lib/peers.ts)

const oursLabel = (model: string, workers: number, batch: number, f?: number, pinned = false) =>
  `ours ${model}${pinned ? ' pinned' : ''}, ${workers} worker${workers > 1 ? 's' : ''}, batching ${batch > 1 ? `on (${batch})` : 'off'}${f ? `, ${f} front${f > 1 ? 's' : ''}` : ''}`;

/** --cpu-affinity: the same model registered again with cpu_affinity=true, measured right after it. */
async function withPinned(server: Ours, model: Series['model'], workers: number, batch: number): Promise<Contender[]> {
  const plain = await server.register(model, workers, batch, oursLabel(model, workers, batch));
  if (!flags['cpu-affinity']) return [plain];
  const pinned = await server.register(model, workers, batch, oursLabel(model, workers, batch, undefined, true), PINNED.extra, PINNED.tag);
  log(`  ${pinned.name}: workers on CPUs ${(await pinned.described!()).map((w) => w.cpus ?? 'unpinned').join(' ')}`);
  return [plain, pinned];
}

// ---------------------------------------------------------------------------------------------------
// Loops and scenarios

async function loopRound(parallel: number): Promise<{ single: number; aggregate?: number }> {
  const single = await runNodeJson<{ itemsPerSecond: number }>(script('peers/ort-loop.js'), [String(duration)]);
  if (!flags.device) return { single: single.itemsPerSecond }; // the many-core run compares with loops side by side
  const all = await Promise.all(Array.from({ length: parallel }, () => runNodeJson<{ itemsPerSecond: number }>(script('peers/ort-loop.js'), [String(duration)])));
  return { single: single.itemsPerSecond, aggregate: all.reduce((a, r) => a + r.itemsPerSecond, 0) };
}

function loopSummary(rs: Array<{ single: number; aggregate?: number }>, parallel: number): Loop {
  const singles = rs.map((r) => r.single);
  const aggs = rs.flatMap((r) => (r.aggregate === undefined ? [] : [r.aggregate]));
  return { itemsPerSecond: median(singles), samples: singles, ...(aggs.length ? { parallel, aggregate: median(aggs), aggregateSamples: aggs } : {}) };
}

/**
 * Runs the contenders round after round: in each round, the loops first (when asked), then at each
 * concurrency every contender in turn. Returns one series per contender and the loops' figures.
 */
async function scenario(title: string, contenders: Contender[], concurrency: number[], loops?: number): Promise<{ series: Series[]; loop?: Loop }> {
  const samples = contenders.map(() => concurrency.map((): Sample[] => []));
  const loopRounds: Array<{ single: number; aggregate?: number }> = [];
  for (let r = 0; r < rounds; r++) {
    log(`${title}: round ${r + 1} of ${rounds}`);
    if (loops !== undefined) {
      const l = await loopRound(loops);
      loopRounds.push(l);
      log(`  in-process loop: ${Math.round(l.single)} items/s${l.aggregate ? `; ${loops} side by side: ${Math.round(l.aggregate)} items/s` : ''}`);
    }
    for (const [ci, c] of concurrency.entries()) {
      for (const [k, who] of contenders.entries()) {
        const s = await load(who.url, c, who.protocol === 'grpc' ? 'grpc-cls' : who.model === 'cls' || who.model === 'ocr' ? who.model : 'empty', who.watch, who.sessionCpu);
        samples[k][ci].push(s);
        const cores = s.frontCores === undefined ? '' : `; cores: controller ${s.controllerCores!.toFixed(2)}, fronts ${s.frontCores.toFixed(2)}`;
        const stages = s.stageCores ? `; stages in session.run: ${describeStageCores(s.stageCores)} cores` : '';
        const us = describeCpu(s.cpuUs) + stages;
        log(`  ${who.name} c=${c}: ${Math.round(s.rps)} req/s, p50 ${s.p50} ms, p99 ${s.p99} ms${s.errors || s.non2xx ? `, ${s.errors} errors, ${s.non2xx} non-2xx` : ''}${us ? `; ${us}` : ''}${cores}; load ${s.loadCores?.toFixed(2)}`);
      }
    }
  }
  const series: Series[] = [];
  for (const [k, who] of contenders.entries()) {
    series.push({
      name: who.name,
      model: who.model,
      points: concurrency.map((c, ci) => summarize(c, samples[k][ci])),
      workerRssMB: await who.workerRss(),
      ...(who.workers !== undefined ? { workers: who.workers, batch: who.batch, fronts: who.fronts } : {}),
      ...(who.protocol ? { protocol: who.protocol } : {}),
      ...(who.cpuFloor ? { cpuFloor: true } : {}),
      ...(who.pinned ? { pinned: true } : {}),
    });
  }
  return { series, loop: loops !== undefined ? loopSummary(loopRounds, loops) : undefined };
}

// ---------------------------------------------------------------------------------------------------
// Main

/** DIR/performance.md from whichever results DIR holds, and DIR/performance-device.md from the many-core run. */
function writeDocs(dir: string): void {
  writeFileSync(path.join(dir, 'performance.md'), performanceDoc(dir));
  const device = performanceDeviceDoc(dir);
  if (device) writeFileSync(path.join(dir, 'performance-device.md'), device);
}

if (flags['report-only']) {
  for (const base of ['performance', 'performance-device']) {
    const json = path.join(out, `${base}.json`);
    if (existsSync(json)) writeFileSync(path.join(out, `${base}.svg`), svg(JSON.parse(readFileSync(json, 'utf8')) as Results));
  }
  writeDocs(out);
  process.exit(0);
}

if (flags.ramp) {
  await runRamp({ quick, out, log });
  process.exit(0);
}

const store = makeStore();
const running: Array<() => Promise<void>> = [];
const stopAll = async () => {
  for (const s of running.splice(0).reverse()) await s().catch(() => undefined);
};
try {
  const m = machine();
  log(`Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, Node ${m.node}; ${rounds} round(s) of ${duration} s points, ${loadProcs} load process(es).`);
  const server = await Ours.start(store, fronts, Number(flags.gpus) > 0 ? [`number_of_gpu=${Number(flags.gpus)}`] : [], logLevel);
  running.push(() => server.stop());
  log(`Our server: ${server.frontPids().length} inference front process(es) (number_of_netty_threads=${fronts}), log level ${logLevel}, stdout to ${server.logFile}.`);
  const series: Series[] = [];
  let inProcessLoop: Loop = { itemsPerSecond: 0 };
  let memory: Results['memory'];
  let frontsScaling: FrontsScaling | undefined;

  if (flags.ocr) {
    const r = await scenario('ocr', await ocrContenders(server, store, list(flags['ocr-stages']!)), CONCURRENCY);
    writeOcrResults(out, m, r.series, Number(flags.gpus));
    writeDocs(out);
    log(`Wrote ${path.join(out, ocrFile(Number(flags.gpus)))} and ${path.join(out, 'performance.md')}.`);
    await stopAll();
    rmSync(store, { recursive: true, force: true });
    process.exit(0); // only this scenario
  }
  if (flags.device) {
    const [on, off] = [await withPinned(server, 'cls', deviceWorkers, 8), await withPinned(server, 'cls', deviceWorkers, 1)];
    const mine = [...on, ...off];
    if (server.grpc) mine.push(server.grpcTwin(off[0]));
    const bare = await startBareHttp();
    running.push(bare.stop);
    const r = await scenario('cls', [bare.contender, ...mine], CONCURRENCY, deviceWorkers);
    series.push(...r.series);
    inProcessLoop = r.loop!;
    memory = await settledMemory(server);
    await stopAll();
    if (FRONTS_SERIES.length > 0) {
      // One server per front count, all up at once (idle ones use no CPU), measured in turn.
      const contenders: Contender[] = [];
      for (const f of FRONTS_SERIES) {
        // A queue that one front alone can fill at --fronts-c: the series measures the fronts, not admission.
        const s = await Ours.start(store, f, [`job_queue_size=${FRONTS_C}`], logLevel);
        running.push(() => s.stop());
        contenders.push(await s.register('cls', deviceWorkers, FRONTS_BATCH, oursLabel('cls', deviceWorkers, FRONTS_BATCH, f)));
      }
      const fr = await scenario('fronts series', contenders, [FRONTS_C], deviceWorkers);
      frontsScaling = { concurrency: FRONTS_C, workers: deviceWorkers, batch: FRONTS_BATCH, series: fr.series, loops: fr.loop! };
      await stopAll();
    }
  } else {
    for (const model of ['noop', 'cls'] as const) {
      const peers =
        model === 'cls'
          ? [await startKoaPeer(NAIVE_ONE_THREAD, 'cls', 1), await startKoaPeer(NAIVE_DEFAULT_THREADS, 'cls'), await startBareHttp()]
          : [await startKoaPeer('bare Koa no-op', 'noop')];
      running.push(...peers.map((p) => p.stop));
      const mine: Contender[] = [];
      for (const workers of [1, 2]) {
        for (const batch of [1, 8]) mine.push(...(model === 'cls' && workers === 2 ? await withPinned(server, model, workers, batch) : [await server.register(model, workers, batch, oursLabel(model, workers, batch))]));
      }
      // gRPC ModelInfer beside REST binary: the 2-worker, batching-off model through both APIs.
      const rest2 = mine.find((c) => c.workers === 2 && c.batch === 1 && !c.pinned);
      if (model === 'cls' && server.grpc && rest2) mine.push(server.grpcTwin(rest2));
      const r = await scenario(model, [...peers.map((p) => p.contender), ...mine], CONCURRENCY, model === 'cls' ? 1 : undefined);
      series.push(...r.series);
      if (r.loop) inProcessLoop = r.loop;
      for (const c of mine) await server.unregister(c);
      for (const p of peers) await p.stop();
      running.splice(-peers.length);
    }
    memory = await settledMemory(server);
    await stopAll();
  }

  const setup = { logLevel, stdout: `a file (${path.basename(server.logFile)} in the server's directory, as \`npm start > file\`)`, config: server.settings };
  const args = process.argv.slice(2).filter((a, i, all) => a !== '--out' && all[i - 1] !== '--out' && !a.startsWith('--out='));
  const partial = { machine: m, args, durationS: duration, rounds, loadProcs, inProcessLoop, series, frontsScaling, memory, server: setup, cpuClock: cpuClock() };
  const results: Results = { ...partial, ...goals(partial, { device: Boolean(flags.device), fronts, deviceWorkers }) };
  const base = path.join(out, flags.device ? 'performance-device' : 'performance');
  mkdirSync(out, { recursive: true });
  writeFileSync(`${base}.json`, `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(`${base}.svg`, svg(results));
  process.stdout.write(markdown(results, 'This run'));
  writeDocs(out);
  log(`Wrote ${base}.{json,svg} and ${path.join(out, 'performance.md')}${flags.device ? ` and ${base}.md` : ''}.`);
  if (!flags.device) await runRamp({ quick, out, log }); // workers following the load (ramp.svg)
} finally {
  await stopAll();
  rmSync(store, { recursive: true, force: true });
}
