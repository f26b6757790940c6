#!/usr/bin/env node
// `model-archiver`: packs a model directory into a .mar (zip), a .tar.gz or a plain directory with
// MAR-INF/MANIFEST.json (archive.md §1–4; our manifest fields in docs/archives.md).
import { existsSync, statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { BUILT_IN_HANDLERS, RUNTIMES, type Manifest, type Runtime } from '../protocol/manifest.js';
import { selectFiles } from './file-selection.js';
import { outputPath, pack, type ArchiveFormat } from './pack.js';

export const ARCHIVER_VERSION = '1.0.0';
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_\-.]*$/;

const argv = await yargs(hideBin(process.argv))
  .scriptName('model-archiver')
  .usage('$0 --model-name NAME --model-path DIR [options]')
  .option('model-name', { type: 'string', demandOption: true, describe: 'Archive name and manifest model.modelName' })
  .option('model-path', { type: 'string', demandOption: true, describe: 'Directory whose contents are packaged' })
  .option('handler', { type: 'string', describe: `Built-in handler (${BUILT_IN_HANDLERS.join(', ')}; default onnx) or, with --runtime node, a JS file[:function] in the model path` })
  .option('runtime', { choices: RUNTIMES, default: 'onnx' as Runtime, describe: 'onnx: built-in handlers; node: a custom JS handler' })
  .option('export-path', { type: 'string', default: '.', describe: 'Existing directory to write the output to' })
  .option('archive-format', { choices: ['default', 'tgz', 'no-archive'] as const, default: 'default' as ArchiveFormat })
  .option('model-version', { type: 'string', default: '1.0' })
  .option('description', { type: 'string' })
  .option('model-file', { type: 'string', describe: 'ONNX file the built-in handlers load (default model.onnx)' })
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

const runtime = argv.runtime;
const handler = argv.handler ?? (runtime === 'onnx' ? 'onnx' : undefined);
if (!handler) die('--handler is required with --runtime node.');
if (runtime === 'onnx' && !(BUILT_IN_HANDLERS as readonly string[]).includes(handler)) {
  die(`Unknown built-in handler "${handler}" (known: ${BUILT_IN_HANDLERS.join(', ')}); use --runtime node for a JS handler.`);
}
if (runtime === 'node') {
  const file = path.resolve(modelPath, handler.split(':')[0]);
  if (!file.startsWith(modelPath + path.sep) || !existsSync(file)) die(`Handler file ${handler.split(':')[0]} is not in the model path ${argv['model-path']}.`);
}
if (runtime === 'onnx') {
  const modelFile = argv['model-file'] ?? 'model.onnx';
  if (!existsSync(path.join(modelPath, modelFile))) die(`Model file ${modelFile} is not in the model path ${argv['model-path']}.`);
}

const format = argv['archive-format'];
const out = outputPath(exportPath, name, format);
const inPlace = format === 'no-archive' && out === modelPath;
if (existsSync(out) && !inPlace) {
  if (!argv.force) die(`${out} already exists. Use --force to overwrite it.`);
  process.stderr.write(`WARNING - overwriting ${out}\n`);
  await rm(out, { recursive: true, force: true });
}

const manifest: Manifest = {
  createdOn: new Date().toISOString(),
  runtime,
  model: {
    modelName: name,
    handler,
    modelVersion: argv['model-version'],
    ...(argv.description ? { description: argv.description } : {}),
    ...(argv['model-file'] ? { modelFile: argv['model-file'] } : {}),
  },
  archiverVersion: ARCHIVER_VERSION,
};

const files = await selectFiles(modelPath, [exportPath === modelPath ? out : '']);
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
