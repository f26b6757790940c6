// Turns a GPU benchmark run (bench/gpu.ts) into docs/gpu-bench.md (tables and the goals of
// docs/gpu.md) and docs/gpu-bench.svg (items/s and GPU memory per configuration, bars per model).
import type { Machine } from './machine.js';
import type { CpuPerRequest } from './cpu.js';

export interface GpuLimit {
  model: string;
  batch: number;
  itemsPerSecond: number;
}

export interface GpuPoint {
  model: string;
  mode: 'per-process' | 'sharing';
  label: string;
  workers: number;
  sessions: number;
  /** Worker processes the configuration ran (describe's distinct pids). */
  processes: number;
  batch: number;
  concurrency: number;
  fronts: number;
  /** Each request carries one item. */
  itemsPerSecond: number;
  p50: number;
  p99: number;
  errors: number;
  /** nvidia-smi's memory of the configuration's worker processes, summed. */
  gpuMemoryMiB: number;
  /** GPU 0's memory in use while it ran, less before it was registered (all processes). */
  gpuUsedDeltaMiB: number;
  rssMiB: number;
  /** The execution providers the workers reported (cuda:0, or cpu). */
  providers: string[];
  /** CPU µs per item of each process class over the measured part (runs before it was recorded have none). */
  cpuUs?: CpuPerRequest;
}

/** det per-process with the same workers per GPU on `gpus` GPUs (number_of_gpu). */
export interface GpuScalePoint {
  gpus: number;
  workers: number;
  concurrency: number;
  itemsPerSecond: number;
  p50: number;
  p99: number;
  errors: number;
  /** Each worker's GPU, in describe's order. */
  gpuIds: number[];
}

export interface GpuResults {
  machine: Machine;
  gpu: string;
  provider: 'cuda' | 'cpu';
  limits: GpuLimit[];
  points: GpuPoint[];
  /** Absent in runs made before the series existed. */
  scaling?: GpuScalePoint[];
}

const f0 = (n: number) => n.toLocaleString('en-US', { maximumFractionDigits: 0 });
const f2 = (n: number) => n.toLocaleString('en-US', { maximumFractionDigits: 2 });

interface Goal {
  goal: string;
  measured: string;
  met?: boolean;
}

function goals(r: GpuResults): Goal[] {
  const out: Goal[] = [];
  const det = r.points.filter((p) => p.model === 'det');
  const detPer = det.find((p) => p.mode === 'per-process' && p.workers > 1);
  for (const s of det.filter((p) => p.mode === 'sharing')) {
    if (!detPer) break;
    // nvidia-smi's per-process figures can be missing in a container (other pid namespace): then the growth.
    const memOf = (p: GpuPoint) => (detPer.gpuMemoryMiB > 0 && p.gpuMemoryMiB > 0 ? p.gpuMemoryMiB : p.gpuUsedDeltaMiB);
    const mem = memOf(s) / memOf(detPer);
    const tput = s.itemsPerSecond / detPer.itemsPerSecond;
    out.push({
      goal: `det 640, ${s.workers} workers, sharing (${s.sessions} session${s.sessions > 1 ? 's' : ''}) vs per-process: GPU memory ≤ 0.5×, items/s ≥ 1×`,
      measured: `memory ${f2(mem)}× (${f0(memOf(s))} vs ${f0(memOf(detPer))} MiB), items/s ${f2(tput)}× (${f0(s.itemsPerSecond)} vs ${f0(detPer.itemsPerSecond)})`,
      met: mem <= 0.5 && tput >= 1,
    });
  }
  // Through the server with several workers against the in-process loop at its best batch (issue 19's goals).
  for (const [model, batch] of [
    ['det', 8],
    ['cls', 64],
  ] as const) {
    const limit = r.limits.find((l) => l.model === model && l.batch === batch);
    const best = r.points.filter((p) => p.model === model && p.workers > 1).sort((a, b) => b.itemsPerSecond - a.itemsPerSecond)[0];
    if (!limit || !best) continue;
    out.push({
      goal: `${model} through the server, several workers, ≥ 60% of the in-process batch-${batch} loop`,
      measured: `${f0(best.itemsPerSecond)} items/s (${best.label}, c=${best.concurrency}, ${best.fronts} fronts) = ${f0((100 * best.itemsPerSecond) / limit.itemsPerSecond)}% of ${f0(limit.itemsPerSecond)}`,
      met: best.itemsPerSecond >= 0.6 * limit.itemsPerSecond,
    });
  }
  const one = r.scaling?.find((p) => p.gpus === 1);
  const two = r.scaling?.find((p) => p.gpus === 2);
  const goal = 'two GPUs: workers alternate, det items/s with both ≥ 1.8× one GPU';
  if (one && two) {
    const perGpu = [0, 1].map((g) => two.gpuIds.filter((id) => id === g).length);
    const ratio = two.itemsPerSecond / one.itemsPerSecond;
    out.push({
      goal,
      measured: `${f2(ratio)}× (${f0(two.itemsPerSecond)} vs ${f0(one.itemsPerSecond)} items/s); workers' GPUs ${two.gpuIds.join(',')} (${perGpu.join(' + ')})`,
      met: ratio >= 1.8 && perGpu[0] === perGpu[1],
    });
  } else out.push({ goal, measured: 'not measured in this run (one GPU)' });
  return out;
}

export function gpuMarkdown(r: GpuResults): string {
  const m = r.machine;
  const lines = [
    '# GPU benchmark',
    '',
    `Measured by \`npm run bench:gpu\` on ${r.gpu} (${r.provider}), ${m.cores} cores of ${m.cpu}, Node ${m.node}, ${m.date}. One run: each`,
    'configuration is registered alone on one server, loaded for the same time at the same concurrency, and its',
    'worker processes\' GPU memory read from describe (nvidia-smi per process). Requests carry one item each (KServe v2',
    'binary tensors). How to run it and what the modes are: docs/gpu.md.',
    '',
    '## Goals',
    '',
    '| Goal | Measured | Met |',
    '|---|---|---|',
    ...goals(r).map((g) => `| ${g.goal} | ${g.measured} | ${g.met === undefined ? '–' : g.met ? 'yes' : 'no'} |`),
    '',
    '## The limit: the in-process loop',
    '',
    '| Model | Batch | items/s |',
    '|---|---|---|',
    ...r.limits.map((l) => `| ${l.model} | ${l.batch} | ${f0(l.itemsPerSecond)} |`),
    '',
    '## Through the server',
    '',
    '| Model | Configuration | Processes | Batch | Concurrency | Fronts | items/s | p50 ms | p99 ms | GPU MiB (per process, summed) | GPU MiB (growth of the GPU\'s use) | Worker RSS MiB | CPU µs per item: fronts / controller / workers | Provider | Errors |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...r.points.map((p) =>
      `| ${p.model} | ${p.label} | ${p.processes} | ${p.batch} | ${p.concurrency} | ${p.fronts} | ${f0(p.itemsPerSecond)} | ${f2(p.p50)} | ${f2(p.p99)} | ${f0(p.gpuMemoryMiB)} | ${f0(p.gpuUsedDeltaMiB)} | ${f0(p.rssMiB)} | ${cpuCell(p.cpuUs)} | ${p.providers.join(', ')} | ${p.errors} |`),
    '',
    ...(r.scaling?.length
      ? [
          '## One GPU and two (det, per-process, the same workers per GPU)',
          '',
          '| GPUs | Workers | Concurrency | items/s | p50 ms | p99 ms | Workers\' GPUs (describe) | Errors |',
          '|---|---|---|---|---|---|---|---|',
          ...r.scaling.map((p) => `| ${p.gpus} | ${p.workers} | ${p.concurrency} | ${f0(p.itemsPerSecond)} | ${f2(p.p50)} | ${f2(p.p99)} | ${p.gpuIds.join(', ')} | ${p.errors} |`),
          '',
        ]
      : []),
    '![items/s and GPU memory per configuration](gpu-bench.svg)',
    '',
  ];
  return lines.join('\n');
}

/** Two bars per configuration (items/s, GPU MiB), one panel per model, each scaled to its own maximum. */
export function gpuSvg(r: GpuResults): string {
  const models = [...new Set(r.points.map((p) => p.model))];
  const ROW = 34;
  const LABEL_W = 260;
  const BAR_W = 300;
  const parts: string[] = [];
  let y = 20;
  for (const model of models) {
    const pts = r.points.filter((p) => p.model === model);
    const maxItems = Math.max(1, ...pts.map((p) => p.itemsPerSecond), ...r.limits.filter((l) => l.model === model).map((l) => l.itemsPerSecond));
    const maxMem = Math.max(1, ...pts.map((p) => p.gpuMemoryMiB));
    parts.push(`<text x="10" y="${y}" font-weight="bold">${model}: items/s (blue, scale to the best loop) and GPU MiB (orange)</text>`);
    y += 12;
    for (const p of pts) {
      const wi = (BAR_W * p.itemsPerSecond) / maxItems;
      const wm = (BAR_W * p.gpuMemoryMiB) / maxMem;
      parts.push(`<text x="10" y="${y + 14}">${p.label}</text>`);
      parts.push(`<rect x="${LABEL_W}" y="${y + 2}" width="${wi.toFixed(1)}" height="12" fill="#1f77b4"/><text x="${LABEL_W + wi + 4}" y="${y + 13}">${f0(p.itemsPerSecond)}</text>`);
      parts.push(`<rect x="${LABEL_W}" y="${y + 16}" width="${wm.toFixed(1)}" height="12" fill="#ff7f0e"/><text x="${LABEL_W + wm + 4}" y="${y + 27}">${f0(p.gpuMemoryMiB)} MiB</text>`);
      y += ROW;
    }
    y += 20;
  }
  const width = LABEL_W + BAR_W + 120;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y}" font-family="sans-serif" font-size="11"><rect width="100%" height="100%" fill="white"/>${parts.join('')}</svg>\n`;
}

const cpuCell = (c: CpuPerRequest | undefined): string =>
  c ? [c.front, c.controller, c.worker].map((v) => (v === undefined ? '–' : f0(v))).join(' / ') : 'not recorded';
