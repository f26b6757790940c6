#!/usr/bin/env node
// `model-archiver`: packs a model directory into a .mar (zip), a .tar.gz or a plain directory with
// MAR-INF/MANIFEST.json (docs/archives.md "Packaging a model"; manifest sources in manifest-options.ts).
import { existsSync, statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { BUILT_IN_HANDLERS, DEFAULT_MODEL_FILE, MANIFEST_PATH, MODEL_FIELDS, RUNTIMES, validateManifest, type Manifest } from '../protocol/manifest.js';
import { selectExtraFiles, selectFiles } from './file-selection.js';
import { buildManifest, readJsonObject, readStages } from './manifest-options.js';
import { outputPath, pack, type ArchiveFormat } from './pack.js';
import { stageRuntime } from '../protocol/pipeline.js';

export const ARCHIVER_VERSION = '1.0.0';
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_\-.]*$/;

const argv = await yargs(hideBin(process.argv))
  .scriptName('model-archiver')
  .usage('$0 --model-name NAME --model-path DIR [options]')
  .option('model-name', { type: 'string', demandOption: true, describe: 'Archive name and manifest model.modelName' })
  .option('model-path', { type: 'string', demandOption: true, describe: 'Directory whose contents are packaged' })
  .option('handler', { type: 'string', describe: `Built-in handler (${BUILT_IN_HANDLERS.join(', ')}; default onnx) or, with --runtime node, a JS file[:function] in the model path` })
  .option('runtime', { choices: RUNTIMES, describe: 'onnx (default): built-in handlers; node: a custom JS handler' })
  .option('export-path', { type: 'string', default: '.', describe: 'Existing directory to write the output to' })
  .option('archive-format', { choices: ['default', 'tgz', 'no-archive'] as const, default: 'default' as ArchiveFormat })
  .option('model-version', { type: 'string', describe: 'model.modelVersion (default 1.0)' })
  .option('description', { type: 'string' })
  .option('model-file', { type: 'string', describe: 'ONNX file the built-in handlers load (default model.onnx)' })
  .option('config-file', { type: 'string', describe: 'JSON object merged into manifest.model (batchSize, warmup, extensions, ...); flags win' })
  .option('batch-size', { type: 'number', describe: 'model.batchSize: batch size unless registration sets one' })
  .option('max-batch-delay', { type: 'number', describe: 'model.maxBatchDelay (ms) unless registration sets one' })
  .option('warmup-file', { type: 'string', describe: 'model.warmup.file: a file in the model path sent to each new worker before traffic' })
  .option('warmup-content-type', { type: 'string', describe: 'model.warmup.contentType' })
  .option('stages', { type: 'string', describe: 'JSON file holding a pipeline\'s stage list (model.stages, docs/pipelines.md): every stage\'s files are packed' })
  .option('extra-files', { type: 'string', describe: 'Comma-separated files or directories from anywhere, packed at the top level of the archive' })
  .option('force', { alias: 'f', type: 'boolean', default: false, describe: 'Overwrite an existing output' })
  .strict()
  .help()
  .alias('h', 'help')
  .parse();

function die(message: string): never {
  process.stderr.write(`ERROR - ${message}\n`);
  process.exit(1);
}

const name = argv['model-name'];
if (!NAME_RE.test(name)) die(`Model name "${name}" is invalid: use letters, digits, '_', '-' and '.', starting with a letter or digit.`);
const exportPath = path.resolve(argv['export-path']);
if (!existsSync(exportPath) || !statSync(exportPath).isDirectory()) die(`Export path is not a directory: ${argv['export-path']}`);
const modelPath = path.resolve(argv['model-path']);
if (!existsSync(modelPath) || !statSync(modelPath).isDirectory()) die(`Model path is not a directory: ${argv['model-path']}`);

const format = argv['archive-format'];
const out = outputPath(exportPath, name, format);
const inPlace = format === 'no-archive' && out === modelPath;
if (existsSync(out) && !inPlace && !argv.force) die(`${out} already exists. Use --force to overwrite it.`);

// A manifest already in the model path is merged, not dropped (flags and --config-file win).
const existingPath = path.join(modelPath, MANIFEST_PATH);
let manifest: Manifest;
try {
  const existing = existsSync(existingPath) ? await readJsonObject(existingPath, 'the manifest') : undefined;
  if (existing) {
    // Checked on its own first, so a broken field is reported against the file that holds it.
    try {
      validateManifest(existing);
    } catch (err) {
      throw new Error(`${existingPath}: ${(err as Error).message}`);
    }
    process.stderr.write(`INFO - merging ${existingPath} (--config-file and flags win)\n`);
  }
  let config = argv['config-file'] ? await readJsonObject(path.resolve(argv['config-file']), 'config file') : undefined;
  if (argv.stages) config = { ...config, stages: await readStages(path.resolve(argv.stages)) };
  const built = buildManifest(
    {
      modelName: name,
      runtime: argv.runtime,
      handler: argv.handler,
      modelVersion: argv['model-version'],
      description: argv.description,
      modelFile: argv['model-file'],
      batchSize: argv['batch-size'],
      maxBatchDelay: argv['max-batch-delay'],
      warmupFile: argv['warmup-file'],
      warmupContentType: argv['warmup-content-type'],
    },
    existing,
    config,
    ARCHIVER_VERSION,
  );
  manifest = built.manifest;
  for (const f of built.unknownFields) process.stderr.write(`WARNING - unknown field model.${f} (known: ${MODEL_FIELDS.join(', ')}); packed as given\n`);
} catch (err) {
  die((err as Error).message);
}

const stages = manifest.model.stages;
const { runtime, handler = '' } = { runtime: manifest.runtime, handler: manifest.model.handler };
if (runtime === 'node' && !handler && !stages) die('--handler is required with --runtime node.');
if (runtime === 'onnx' && !stages && !(BUILT_IN_HANDLERS as readonly string[]).includes(handler)) {
  die(`Unknown built-in handler "${handler}" (known: ${BUILT_IN_HANDLERS.join(', ')}); use --runtime node for a JS handler.`);
}
const files = await selectFiles(modelPath, [exportPath === modelPath ? out : '']);
const extraPaths = (argv['extra-files'] ?? '').split(',').filter(Boolean);
files.push(...(await selectExtraFiles(extraPaths, files).catch((err: Error) => die(err.message))));
// Files the manifest names must be packed (not merely present: litter such as .pyc is skipped).
const packed = new Set(files.map((f) => f.name));
const packedName = (file: string) => path.relative(modelPath, path.resolve(modelPath, file)).split(path.sep).join('/');
const mustPack = (file: string, what: string) => {
  if (!packed.has(packedName(file))) die(`${what} ${file} is not in the model path ${argv['model-path']}.`);
};
for (const s of stages ?? []) {
  if (stageRuntime(s) === 'node') mustPack(s.handler!.split(':')[0], `Handler file of stage ${s.name}`);
  else if ((s.handler ?? 'onnx') === 'onnx' || s.handler === 'tensor') mustPack(s.modelFile ?? manifest.model.modelFile ?? DEFAULT_MODEL_FILE, `Model file of stage ${s.name}`);
}
if (!stages && runtime === 'node' && !packed.has(packedName(handler.split(':')[0]))) die(`Handler file ${handler.split(':')[0]} is not in the model path ${argv['model-path']}.`);
if (!stages && runtime === 'onnx') {
  const modelFile = manifest.model.modelFile ?? DEFAULT_MODEL_FILE;
  if (!packed.has(packedName(modelFile))) die(`Model file ${modelFile} is not in the model path ${argv['model-path']}.`);
}
const warmup = manifest.model.warmup;
if (warmup && !packed.has(packedName(warmup.file))) die(`Warm-up file ${warmup.file} is not in the model path ${argv['model-path']}.`);

if (existsSync(out) && !inPlace) {
  process.stderr.write(`WARNING - overwriting ${out}\n`);
  await rm(out, { recursive: true, force: true });
}

const showProgress = files.reduce((a, f) => a + f.size, 0) > 64 * 1024 * 1024;
let lastPercent = -10;
await pack(files, manifest, out, format, (done, total) => {
  const percent = Math.floor((done / Math.max(1, total)) * 100);
  if (showProgress && percent >= lastPercent + 10) {
    lastPercent = percent;
    process.stderr.write(`packing ${name}: ${percent}% (${(done / 1048576).toFixed(0)} of ${(total / 1048576).toFixed(0)} MiB)\n`);
  }
}).catch((err: Error) => die(`Cannot write ${out}: ${err.message}`));
process.stdout.write(`${out}\n`);
