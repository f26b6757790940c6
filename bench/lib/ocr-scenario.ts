// `npm run bench -- --ocr`: the bundled OCR as a three-stage pipeline (det → cls → rec, each stage its
// own workers, rec batching crops across requests) against the same archive as one model with the
// single `ocr` handler and as many workers in all, same server, same run, interleaved A B A B
// (docs/pipelines.md). The request is a PNG of OCR_LINES lines of text: each fans out to that many crops.
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { describeStageCores } from './cpu.js';
import type { Contender, Ours } from './ours.js';
import { DIST } from './processes.js';
import type { Machine } from './machine.js';
import { median, type Point, type Sample, type Series } from './report.js';

/** Text lines in the benchmark's image (crops per request). */
export const OCR_LINES = 4;

/** The request: test/fixtures/ocr/hello.png stacked OCR_LINES times. */
export async function ocrRequest(): Promise<{ body: Buffer; headers: Record<string, string> }> {
  const png = readFileSync(path.join(DIST, '..', 'test', 'fixtures', 'ocr', 'hello.png'));
  const { width = 0, height = 0 } = await sharp(png).metadata();
  const body = await sharp({ create: { width, height: height * OCR_LINES, channels: 3, background: '#ffffff' } })
    .composite(Array.from({ length: OCR_LINES }, (_, i) => ({ input: png, top: i * height, left: 0 })))
    .png()
    .toBuffer();
  return { body, headers: { 'content-type': 'image/png' } };
}

/** `stageWorkers`: det, cls and rec workers of the pipeline; the single-handler model gets their sum. */
export async function ocrContenders(server: Ours, store: string, stageWorkers: number[]): Promise<Contender[]> {
  mkdirSync(store, { recursive: true });
  copyFileSync(path.join(DIST, 'default-store', 'ocr.mar'), path.join(store, 'ocr.mar'));
  const total = stageWorkers.reduce((a, b) => a + b, 0);
  const register = async (name: string, query: string) => {
    const r = await fetch(`${server.management}/models?url=ocr.mar&model_name=${name}&synchronous=true&${query}`, { method: 'POST' });
    if (r.status !== 200) throw new Error(`register ${name}: ${r.status} ${await r.text()}`);
  };
  // No worker at registration, then the last stage first: a worker's intra-op threads are sized by
  // every stage's workers as they are when it starts, and it keeps them (docs/pipelines.md), so the
  // widest stage goes first and det's workers start last, knowing the others' counts.
  await register('ocr_pipeline', 'initial_workers=0');
  for (const [i, stage] of [...['det', 'cls', 'rec'].entries()].reverse()) {
    const r = await fetch(`${server.management}/models/ocr_pipeline?stage=${stage}&min_worker=${stageWorkers[i]}&synchronous=true`, { method: 'PUT' });
    if (r.status !== 200) throw new Error(`scale ${stage}: ${r.status} ${await r.text()}`);
  }
  await register('ocr_single', `handler=ocr&initial_workers=${total}`);
  const describe = async (name: string) => (await (await fetch(`${server.management}/models/${name}`)).json()) as {
    workers?: Array<{ memoryUsage: number }>;
    stages?: Array<{ workers: Array<{ memoryUsage: number }> }>;
  };
  const rss = async (name: string) => {
    const d = await describe(name);
    const workers = d.workers ?? d.stages!.flatMap((s) => s.workers);
    return Math.max(...workers.map((w) => w.memoryUsage)) / 2 ** 20;
  };
  const contender = (name: string, label: string): Contender => ({
    name: label,
    model: 'ocr',
    url: `${server.inference}/predictions/${name}`,
    watch: server.watch,
    workers: total,
    batch: 1,
    fronts: server.fronts,
    workerRss: () => rss(name),
    sessionCpu: () => server.sessionCpu(name),
  });
  return [
    contender('ocr_pipeline', `ours OCR pipeline (det ${stageWorkers[0]}, cls ${stageWorkers[1]}, rec ${stageWorkers[2]} workers; rec batch 16)`),
    contender('ocr_single', `ours OCR single handler (${total} workers)`),
  ];
}

/** A run of the scenario, as DIR/performance-ocr.json (CPU) or performance-ocr-gpu.json (--gpus) holds it. */
export interface OcrResults {
  machine: Machine;
  linesPerImage: number;
  /** number_of_gpu of the run (0: every worker on the CPU). */
  gpus?: number;
  series: Series[];
}

export const ocrFile = (gpus: number) => (gpus > 0 ? 'performance-ocr-gpu.json' : 'performance-ocr.json');

/** The scenario's figures: DIR/performance-ocr(-gpu).json and its table on stdout. */
export function writeOcrResults(out: string, machine: Machine, series: Series[], gpus: number): void {
  mkdirSync(out, { recursive: true });
  const r: OcrResults = { machine, linesPerImage: OCR_LINES, gpus, series };
  writeFileSync(path.join(out, ocrFile(gpus)), `${JSON.stringify(r, null, 2)}\n`);
  process.stdout.write(`${ocrMarkdown(r, undefined)}\n`);
}

/** When a run was made, to the minute (runs on different days may be on different hosts). */
const when = (r: OcrResults) => `${r.machine.date.slice(0, 16).replace('T', ' ')} UTC`;

const perRound = (a: Point | undefined, b: Point | undefined, f: (p: Sample) => number) =>
  median((a?.samples ?? []).slice(0, b?.samples?.length ?? 0).map((s, i) => f(s) / f(b!.samples![i])));

/**
 * The scenario's table (pipeline against single handler, same-run ratios) and its goals: on the CPU host
 * the pipeline ≥ 1.5× the single handler's images/s at c=32 with p50 no worse at c=1; on a GPU,
 * ≥ 3× `cpu`'s pipeline rate at c=32 (another run: the GPU host's own CPU run).
 */
export function ocrMarkdown(r: OcrResults, cpu: OcrResults | undefined): string {
  const [pipe, single] = [r.series.find((s) => s.name.includes('pipeline')), r.series.find((s) => s.name.includes('single'))];
  const at = (s: Series | undefined, c: number) => s?.points.find((p) => p.concurrency === c);
  const f = (n: number | undefined, d = 0) => (n === undefined || !Number.isFinite(n) ? '–' : n.toFixed(d));
  // Cores the server kept busy (images/s × CPU per image, every process): where both fill the host,
  // only less CPU per image can make one faster.
  const cores = (p: Point | undefined) => (p?.cpuUs?.total !== undefined ? (p.rps * p.cpuUs.total) / 1e6 : undefined);
  const cpuMs = (p: Point | undefined) => (p?.cpuUs?.total !== undefined ? p.cpuUs.total / 1000 : undefined);
  const rows = (pipe?.points ?? []).map((p) => {
    const q = at(single, p.concurrency);
    const stages = p.stageCores ? describeStageCores(p.stageCores) : '–';
    return `| ${p.concurrency} | ${f(p.rps, 1)} | ${f(q?.rps, 1)} | ${f(perRound(p, q, (x) => x.rps), 2)}× | ${f(p.p50, 1)} | ${f(q?.p50, 1)} | ${f(cpuMs(p))} / ${f(cpuMs(q))} | ${f(cores(p), 1)} / ${f(cores(q), 1)} | ${stages} |`;
  });
  const where = r.gpus ? `every stage on CUDA (number_of_gpu=${r.gpus})` : 'CPU';
  const lines = [
    `${r.machine.cpu}, ${r.machine.cores} cores, run ${when(r)}; ${where}; each request a PNG of ${r.linesPerImage} text lines. Pipeline: ${pipe?.name ?? '–'}; single: ${single?.name ?? '–'}.`,
    '',
    '| c | pipeline images/s | single images/s | pipeline / single (same rounds) | pipeline p50 ms | single p50 ms | CPU ms per image, pipeline / single | cores busy, pipeline / single | pipeline stages: cores in session.run |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|---|',
    ...rows,
    '',
  ];
  if (!r.gpus) {
    const ratio = perRound(at(pipe, 32), at(single, 32), (x) => x.rps);
    const [p1, s1] = [at(pipe, 1)?.p50, at(single, 1)?.p50];
    lines.push(`Goal (many-core host): pipeline ≥ 1.5× single images/s at c=32: ${f(ratio, 2)}× (${ratio >= 1.5 ? 'met' : '**not met**'}); p50 at c=1 no worse: ${f(p1, 1)} vs ${f(s1, 1)} ms (${p1 !== undefined && s1 !== undefined && p1 <= s1 ? 'met' : '**not met**'}).`);
    const [pc, sc] = [cores(at(pipe, 32)), cores(at(single, 32))];
    if (ratio < 1.5 && pc !== undefined && sc !== undefined && Math.min(pc, sc) >= 0.85 * r.machine.cores) {
      lines.push(
        '',
        `At c=32 both keep most of the host's ${r.machine.cores} cores busy (${f(pc, 1)} and ${f(sc, 1)}), so their images/s are those cores over the CPU each spends an image: ` +
          `${f(cpuMs(at(pipe, 32)))} ms for the pipeline, ${f(cpuMs(at(single, 32)))} ms for the single handler. ` +
          ((cpuMs(at(single, 32)) ?? 0) > (cpuMs(at(single, 8)) ?? Infinity)
            ? `That CPU grows as the cores fill (the single handler's was ${f(cpuMs(at(single, 8)))} ms an image at c=8), so past this point a split serves more only by spending less an image, not by more workers.`
            : 'Past this point a split serves more only by spending less CPU an image, not by more workers.'),
      );
    }
  } else {
    const gpu = at(pipe, 32)?.rps;
    const base = at(cpu?.series.find((s) => s.name.includes('pipeline')), 32)?.rps;
    const x = gpu !== undefined && base ? gpu / base : undefined;
    lines.push(`Goal (one GPU): pipeline ≥ 3× the many-core CPU pipeline's images/s at c=32: ${x === undefined ? 'no CPU run to compare' : `${f(x, 2)}× (${f(gpu, 1)} vs ${f(base, 1)}, the CPU run of ${when(cpu!)}; ${x >= 3 ? 'met' : '**not met**'})`}.`);
  }
  return lines.join('\n');
}
