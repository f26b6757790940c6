// The manifest model-archiver writes, from four sources, later ones winning (docs/archives.md
// "Packaging a model"): defaults < a MAR-INF/MANIFEST.json already in the model path < --config-file
// (fields of `model`) < the flags. `model.extensions` is merged key by key. The result is checked
// with the server's own validation, so what packs also registers.
import { readFile } from 'node:fs/promises';
import { MODEL_FIELDS, validateManifest, type Manifest, type Runtime } from '../protocol/manifest.js';

export interface ManifestFlags {
  modelName: string;
  runtime?: Runtime;
  handler?: string;
  modelVersion?: string;
  description?: string;
  modelFile?: string;
  batchSize?: number;
  maxBatchDelay?: number;
  warmupFile?: string;
  warmupContentType?: string;
}

type Json = Record<string, unknown>;

/** A JSON file that must hold an object; errors name the file. */
export async function readJsonObject(file: string, what: string): Promise<Json> {
  let value: unknown;
  try {
    value = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new Error(`Cannot read ${what} ${file}: ${(err as Error).message}`);
  }
  if (!isObject(value)) throw new Error(`${capitalise(what)} ${file} must hold a JSON object.`);
  return value;
}

/** `--stages`: a JSON array of stages, or an object holding one as `stages`. */
export async function readStages(file: string): Promise<unknown[]> {
  let value: unknown;
  try {
    value = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new Error(`Cannot read stage list ${file}: ${(err as Error).message}`);
  }
  const stages = Array.isArray(value) ? value : isObject(value) ? value.stages : undefined;
  if (!Array.isArray(stages)) throw new Error(`Stage list ${file} must hold a JSON array of stages (or {"stages": [...]}).`);
  return stages;
}

export function buildManifest(flags: ManifestFlags, existing: Json | undefined, config: Json | undefined, archiverVersion: string): { manifest: Manifest; unknownFields: string[] } {
  const old = existing ?? {};
  const oldModel = isObject(old.model) ? old.model : {};
  const cfg = config ?? {};
  const fromFlags = dropUndefined({
    modelName: flags.modelName,
    handler: flags.handler,
    modelVersion: flags.modelVersion,
    description: flags.description,
    modelFile: flags.modelFile,
    batchSize: flags.batchSize,
    maxBatchDelay: flags.maxBatchDelay,
  });
  const model: Json = { modelVersion: '1.0', ...oldModel, ...cfg, ...fromFlags };
  if (isObject(oldModel.extensions) && isObject(cfg.extensions)) model.extensions = { ...oldModel.extensions, ...cfg.extensions };
  const warmup = warmupOf(flags, model.warmup);
  if (warmup) model.warmup = warmup;
  const runtime = flags.runtime ?? old.runtime ?? 'onnx';
  model.handler ??= runtime === 'onnx' ? 'onnx' : undefined;
  if (model.handler === undefined) delete model.handler;
  // createdOn and archiverVersion describe this packing, not an earlier one.
  const raw = { ...old, createdOn: new Date().toISOString(), runtime, model, archiverVersion };
  const manifest = validateManifest(raw);
  const known = new Set<string>(MODEL_FIELDS);
  return { manifest, unknownFields: Object.keys(model).filter((k) => !known.has(k)) };
}

function warmupOf(flags: ManifestFlags, merged: unknown): Json | undefined {
  if (flags.warmupFile === undefined && flags.warmupContentType === undefined) return undefined;
  const base = flags.warmupFile !== undefined ? { file: flags.warmupFile } : isObject(merged) ? merged : undefined;
  if (!base) throw new Error('--warmup-content-type needs a warm-up file (--warmup-file, or model.warmup in the config file or manifest).');
  return dropUndefined({ ...base, contentType: flags.warmupContentType ?? (flags.warmupFile === undefined ? base.contentType : undefined) });
}

function dropUndefined(o: Json): Json {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const capitalise = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
