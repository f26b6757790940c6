// `npm run bench -- --ocr`: the bundled OCR as a three-stage pipeline (det → cls → rec, each stage its
// own workers, rec batching crops across requests) against the same archive as one model with the
// single `ocr` handler and as many workers in all, same server, same run, interleaved A B A B
// (docs/pipelines.md). The request is a PNG of OCR_LINES lines of text: each fans out to that many crops.
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import type { Contender, Ours } from './ours.js';
import { DIST } from './processes.js';
import type { Series } from './report.js';

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
  await register('ocr_pipeline', 'initial_workers=1');
  for (const [i, stage] of ['det', 'cls', 'rec'].entries()) {
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
  });
  return [
    contender('ocr_pipeline', `ours OCR pipeline (det ${stageWorkers[0]}, cls ${stageWorkers[1]}, rec ${stageWorkers[2]} workers; rec batch 16)`),
    contender('ocr_single', `ours OCR single handler (${total} workers)`),
  ];
}

/** The scenario's figures: DIR/performance-ocr.json and a table on stdout. */
export function writeOcrResults(out: string, machine: unknown, series: Series[]): void {
  mkdirSync(out, { recursive: true });
  writeFileSync(path.join(out, 'performance-ocr.json'), `${JSON.stringify({ machine, linesPerImage: OCR_LINES, series }, null, 2)}\n`);
  const rows = series.flatMap((s) => s.points.map((p) => `| ${s.name} | ${p.concurrency} | ${Math.round(p.rps)} | ${p.p50} | ${p.p99} | ${p.errors + p.non2xx} |`));
  process.stdout.write(['| Contender | c | req/s | p50 ms | p99 ms | errors |', '|---|---|---|---|---|---|', ...rows, ''].join('\n'));
}
