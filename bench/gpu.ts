// `npm run bench:gpu`, on a GPU machine: our server's two GPU modes side by side on one GPU, for
// PaddleOCR det 640 and cls, and the in-process CUDA loop as the limit, in one run: per-process mode
// (MMS's: a process and a model copy per worker) with 1 and 4 workers, and the sharing mode
// (preload_model: one process, 4 slots, 1 or 2 sessions). Each configuration is registered alone,
// loaded at a fixed concurrency, and its GPU memory read from describe (nvidia-smi per process).
// With two or more GPUs, det per-process also runs on 1 and on 2 GPUs (number_of_gpu), the same workers
// per GPU, to see the round-robin placement and how throughput scales.
// Writes DIR/gpu-bench.{json,md,svg}. `node dist/bench/gpu.js --help` lists the flags.
import { mkdirSync, mkdtempSync, copyFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { discoverGpus } from '../frontend/control/gpus/gpu-discovery.js';
import { USAGE_QUERY, parseUsage, runNvidiaSmi } from '../frontend/control/gpus/nvidia-smi.js';
import type { LoadResult } from './lib/load-worker.js';
import { machine } from './lib/machine.js';
import { MODEL_INPUT, type TensorModel } from './lib/model-inputs.js';
import { Ours, type Contender } from './lib/ours.js';
import { combineParts, runLoadParts } from './lib/load-parts.js';
import { cpuBetween, describeCpu, perRequest, snapshot, type CpuPerRequest, type Watch } from './lib/cpu.js';
import { DIST, runNodeJson } from './lib/processes.js';
import { gpuMarkdown, gpuSvg, type GpuPoint, type GpuResults } from './lib/gpu-report.js';

const HELP = `Usage: npm run bench:gpu -- [flags]   (or: node dist/bench/gpu.js [flags] after npm run build)

Measures the per-process and the sharing mode on GPU 0 and the in-process CUDA loop, and writes
DIR/gpu-bench.{json,md,svg}. Needs nvidia-smi and onnxruntime-node's CUDA provider (docs/gpu.md).

  --duration S      seconds per measured point (default 5)
  --warmup S        seconds of load before each point, not measured (default 2)
  --workers N       workers of the 4-worker configurations (default 4)
  --sessions LIST   sessions of the sharing mode's configurations (default 1,2)
  --det-c N         concurrency of the det points (default 32)
  --cls-c N         concurrency of the cls points (default 256)
  --fronts LIST     inference fronts of the servers, one server each (default 0: automatic)
  --models LIST     det,cls (default both)
  --gpu-counts LIST GPUs of the det scaling series, where this many exist (default 1,2)
  --skip-limits     measure only the server, not the in-process loop
  --cpu             no GPU: the same run on the CPU (execution_provider=cpu), to check the bench itself
  --out DIR         where results go (default docs)
  --report-only     rebuilds DIR/gpu-bench.{md,svg} from DIR/gpu-bench.json
  --help            this text
`;

const { values: flags } = parseArgs({
  options: {
    duration: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '2' },
    workers: { type: 'string', default: '4' },
    sessions: { type: 'string', default: '1,2' },
    'det-c': { type: 'string', default: '32' },
    'cls-c': { type: 'string', default: '256' },
    fronts: { type: 'string', default: '0' },
    models: { type: 'string', default: 'det,cls' },
    'gpu-counts': { type: 'string', default: '1,2' },
    cpu: { type: 'boolean', default: false },
    'skip-limits': { type: 'boolean', default: false },
    out: { type: 'string', default: 'docs' },
    'report-only': { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (flags.help) {
  process.stdout.write(HELP);
  process.exit(0);
}
const list = (s: string) => s.split(',').filter((x) => x.trim() !== '').map(Number);
const duration = Number(flags.duration);
const warmup = Number(flags.warmup);
const workers = Number(flags.workers);
const out = flags.out!;
const log = (s: string) => process.stderr.write(`${s}\n`);
const script = (p: string) => path.join(DIST, 'bench', p);
const jsonFile = path.join(out, 'gpu-bench.json');

function write(r: GpuResults): void {
  mkdirSync(out, { recursive: true });
  writeFileSync(jsonFile, `${JSON.stringify(r, null, 2)}\n`);
  writeFileSync(path.join(out, 'gpu-bench.md'), gpuMarkdown(r));
  writeFileSync(path.join(out, 'gpu-bench.svg'), gpuSvg(r));
}

if (flags['report-only']) {
  write(JSON.parse(readFileSync(jsonFile, 'utf8')) as GpuResults);
  process.exit(0);
}

const gpus = flags.cpu ? [] : await discoverGpus({ command: 'nvidia-smi' });
if (!flags.cpu && gpus.length === 0) {
  log('bench:gpu: nvidia-smi lists no GPU here; nothing to measure (--cpu checks the bench on the CPU).');
  process.exit(0);
}
const models = flags.models!.split(',') as TensorModel[];
const results: GpuResults = { machine: machine(), gpu: gpus[0]?.name ?? 'none (--cpu)', provider: flags.cpu ? 'cpu' : 'cuda', limits: [], points: [], scaling: [] };
const loadProcs = Math.max(1, Math.min(8, Math.ceil(os.availableParallelism() / 4)));

// ---------------------------------------------------------------------------------------------------
// The limit: the in-process loop at batch 1, 8 and 64.

for (const model of flags['skip-limits'] ? [] : models) {
  for (const batch of model === 'det' ? [1, 8] : [1, 8, 64]) {
    const args = [String(duration), '--model', model, '--batch', String(batch), ...(flags.cpu ? [] : ['--cuda', '0'])];
    try {
      const r = await runNodeJson<{ itemsPerSecond: number }>(script('peers/ort-loop.js'), args);
      results.limits.push({ model, batch, itemsPerSecond: r.itemsPerSecond });
      log(`loop ${model} bs${batch}: ${r.itemsPerSecond.toFixed(0)} items/s`);
    } catch (err) {
      log(`loop ${model} bs${batch} failed: ${(err as Error).message}`);
    }
    write(results);
  }
}

// ---------------------------------------------------------------------------------------------------
// Our server, one configuration at a time.

interface Variant {
  label: string;
  mode: GpuPoint['mode'];
  workers: number;
  sessions?: number;
}

const variants: Variant[] = [
  { label: 'per-process, 1 worker', mode: 'per-process', workers: 1 },
  { label: `per-process, ${workers} workers`, mode: 'per-process', workers },
  ...list(flags.sessions!).map((s): Variant => ({ label: `sharing, ${workers} workers, ${s} session${s > 1 ? 's' : ''}`, mode: 'sharing', workers, sessions: s })),
];

const store = mkdtempSync(path.join(os.tmpdir(), 'mms-gpu-bench-'));
for (const model of models) {
  mkdirSync(path.join(store, model, 'MAR-INF'), { recursive: true });
  writeFileSync(path.join(store, model, 'MAR-INF', 'MANIFEST.json'), JSON.stringify({ runtime: 'onnx', model: { modelName: model, handler: 'onnx' } }));
  copyFileSync(MODEL_INPUT[model].file, path.join(store, model, 'model.onnx'));
}

try {
  for (const fronts of list(flags.fronts!)) {
    const server = await Ours.start(store, fronts, ['number_of_gpu=1']); // GPU 0 only
    try {
      for (const model of models) {
        const concurrency = Number(model === 'det' ? flags['det-c'] : flags['cls-c']);
        const batch = model === 'det' ? 8 : 64;
        for (const v of variants) {
          const extra = [`execution_provider=${flags.cpu ? 'cpu' : 'cuda'}`, ...(v.mode === 'sharing' ? [`preload_model=true&preload_sessions=${v.sessions}`] : [])].join('&');
          const tag = v.mode === 'sharing' ? `s${v.sessions}` : 'pp';
          let c: Contender | undefined;
          try {
            const before = await gpuUsedMiB();
            c = await server.register(model, v.workers, batch, v.label, extra, tag);
            const sample = await load(c.url, concurrency, model, c.watch);
            const described = await c.described!();
            const used = await gpuUsedMiB();
            const pids = new Map(described.map((w) => [w.pid, w]));
            const gpuMiB = [...pids.values()].reduce((a, w) => a + (w.gpuMemoryUsage ?? 0), 0) / 2 ** 20;
            const rssMiB = [...pids.values()].reduce((a, w) => a + w.memoryUsage, 0) / 2 ** 20;
            const point: GpuPoint = {
              model, mode: v.mode, label: v.label, workers: v.workers, sessions: v.sessions ?? 1, processes: pids.size, batch, concurrency,
              fronts: server.frontPids().length, itemsPerSecond: sample.rps, p50: sample.p50, p99: sample.p99, errors: sample.errors + sample.non2xx,
              gpuMemoryMiB: gpuMiB, gpuUsedDeltaMiB: used - before, rssMiB, providers: [...new Set(described.map((w) => w.executionProvider ?? '?'))],
              cpuUs: sample.cpuUs,
            };
            results.points.push(point);
            log(`${model} ${v.label} (fronts ${point.fronts}): ${sample.rps.toFixed(0)} req/s, p99 ${sample.p99} ms, GPU ${gpuMiB.toFixed(0)} MiB in ${pids.size} process(es) (+${used - before} MiB on the GPU), ${point.errors} errors, ${point.providers}; ${describeCpu(sample.cpuUs)}`);
          } catch (err) {
            log(`${model} ${v.label} failed: ${(err as Error).message}`);
          } finally {
            if (c) await server.unregister(c);
          }
          write(results);
        }
      }
    } finally {
      await server.stop();
    }
  }

  // -------------------------------------------------------------------------------------------------
  // GPU scaling: det per-process, `workers` per GPU, on 1 and on 2 GPUs (round-robin placement).
  const counts = list(flags['gpu-counts']!).filter((n) => n >= 1 && n <= gpus.length);
  for (const n of models.includes('det') && counts.length > 1 ? counts : []) {
    const server = await Ours.start(store, list(flags.fronts!)[0] ?? 0, [`number_of_gpu=${n}`]);
    let c: Contender | undefined;
    try {
      const concurrency = Number(flags['det-c']) * n;
      c = await server.register('det', workers * n, 8, `per-process, ${workers * n} workers on ${n} GPU${n > 1 ? 's' : ''}`, 'execution_provider=cuda', `g${n}`);
      const sample = await load(c.url, concurrency, 'det');
      const gpuIds = (await c.described!()).map((w) => w.gpuId ?? -1);
      results.scaling!.push({ gpus: n, workers: workers * n, concurrency, itemsPerSecond: sample.rps, p50: sample.p50, p99: sample.p99, errors: sample.errors + sample.non2xx, gpuIds });
      log(`det on ${n} GPU(s), ${workers * n} workers: ${sample.rps.toFixed(0)} req/s, p99 ${sample.p99} ms, GPUs ${gpuIds.join(',')}`);
    } catch (err) {
      log(`det on ${n} GPU(s) failed: ${(err as Error).message}`);
    } finally {
      if (c) await server.unregister(c);
      await server.stop();
    }
    write(results);
  }
} finally {
  rmSync(store, { recursive: true, force: true });
}
write(results);
log(`wrote ${path.join(out, 'gpu-bench.md')}`);

/** GPU 0's memory in use (all processes), for the growth a configuration causes; 0 without GPUs. */
async function gpuUsedMiB(): Promise<number> {
  if (flags.cpu) return 0;
  const text = await runNvidiaSmi('nvidia-smi', USAGE_QUERY);
  return text === undefined ? 0 : (parseUsage(text).find((g) => g.index === gpus[0].index)?.memoryUsedMiB ?? 0);
}

/** One point: a warm-up, then `loadProcs` load processes share the connections (load-parts.ts). */
async function load(url: string, connections: number, body: TensorModel, watch?: Watch): Promise<LoadResult & { cpuUs?: CpuPerRequest }> {
  if (warmup > 0) await runLoadParts(url, connections, body, loadProcs, warmup);
  // CPU per item of each process class (fronts, controller, workers) over the measured part, from /proc.
  const before = watch && snapshot(watch);
  const r = combineParts(await runLoadParts(url, connections, body, loadProcs, duration));
  return before && r.requests ? { ...r, cpuUs: perRequest(cpuBetween(before, snapshot(watch!)), r.requests) } : r;
}
