// Pipeline archives the pipeline tests share (docs/pipelines.md): the ONNX chain (×2, then ×3 with
// y → x) and a JS stage that holds its items until a file exists.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { writeScaleModel } from './onnx-models.js';

/** `dir` as an archive directory with `model` as its manifest's model (runtime `runtime`) and extra files. */
export function writePipeline(dir: string, model: Record<string, unknown>, files: Record<string, string> = {}, runtime = 'onnx'): void {
  mkdirSync(path.join(dir, 'MAR-INF'), { recursive: true });
  writeFileSync(path.join(dir, 'MAR-INF', 'MANIFEST.json'), JSON.stringify({ runtime, model }));
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
}

/** The two-stage ONNX chain `chain`: double.onnx (y = 2x), then triple.onnx fed y as x; 1..4 → 6..24. */
export function writeChain(dir: string): void {
  mkdirSync(dir, { recursive: true });
  writeScaleModel(dir, 'double.onnx', 2);
  writeScaleModel(dir, 'triple.onnx', 3);
  writePipeline(dir, { modelName: 'chain', stages: [{ name: 'double', modelFile: 'double.onnx' }, { name: 'triple', modelFile: 'triple.onnx', map: { y: 'x' } }] });
}

/** A JS stage handler (`hold.mjs`) that holds each item until the file `extensions.release` exists, then passes its body on. */
export const HOLD_HANDLER = `import { existsSync } from 'node:fs';
let release;
export function initialize(ctx) { release = ctx.manifest.model.extensions.release; }
export async function handle(batch) {
  while (!existsSync(release)) await new Promise((r) => setTimeout(r, 20));
  return batch.map((i) => ({ body: i.params.body.value, contentType: i.params.body.contentType || 'text/plain' }));
}`;

/**
 * `<store>/<name>`: a pipeline whose first stage (`hold`, HOLD_HANDLER) holds every item until the file
 * `<store>/release` exists, then the JS stage `next` (its handler's source); returns the release path.
 */
export function writeHeldPipeline(store: string, name: string, next: { name: string; source: string; batchSize?: number }, holdBatch?: { batchSize: number; maxBatchDelay: number }): string {
  const release = path.join(store, 'release');
  writePipeline(
    path.join(store, name),
    { modelName: name, extensions: { release }, stages: [{ name: 'hold', handler: 'hold.mjs', ...holdBatch }, { name: next.name, handler: 'next.mjs', ...(next.batchSize ? { batchSize: next.batchSize } : {}) }] },
    { 'hold.mjs': HOLD_HANDLER, 'next.mjs': next.source },
    'node',
  );
  return release;
}
