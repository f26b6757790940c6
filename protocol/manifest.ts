// The archive manifest (MAR-INF/MANIFEST.json): model-archiver writes it, the frontend validates it,
// the worker hands it to the handler. MMS's schema 1.0 plus our fields (docs/archives.md).
import { validateStages, type PipelineStage } from './pipeline.js';

export const RUNTIMES = ['onnx', 'node'] as const;
export type Runtime = (typeof RUNTIMES)[number];

export interface ManifestModel {
  modelName?: string;
  /** Built-in handler name (e.g. `onnx`) or, with runtime `node`, a JS module path inside the archive. */
  handler?: string;
  modelVersion?: string;
  description?: string;
  /** ONNX file inside the archive used by the built-in handlers; default `model.onnx`. */
  modelFile?: string;
  /** Dynamic batching defaults; registration parameters override them. */
  batchSize?: number;
  maxBatchDelay?: number;
  /** Send the requests of a worker that died once more to another worker (default true). */
  retryOnWorkerDeath?: boolean;
  /** auto, cpu, cuda or webgpu; a registration's execution_provider overrides it (docs/gpu.md). */
  executionProvider?: string;
  /** An example request each new worker runs before it takes traffic. */
  warmup?: { file: string; contentType?: string };
  extensions?: Record<string, unknown>;
  /** A pipeline of stages, each with workers and batching of its own (docs/pipelines.md). */
  stages?: PipelineStage[];
}

/** Every `model` field above; others are kept but unknown to this server (model-archiver warns of them). */
export const MODEL_FIELDS = [
  'modelName', 'handler', 'modelVersion', 'description', 'modelFile', 'batchSize', 'maxBatchDelay',
  'retryOnWorkerDeath', 'warmup', 'extensions', 'executionProvider', 'stages',
] as const satisfies readonly (keyof ManifestModel)[];
// Compile-time check that the list names every field of ManifestModel.
const allModelFields: Exclude<keyof ManifestModel, (typeof MODEL_FIELDS)[number]> extends never ? true : never = true;
void allModelFields;

export interface Manifest {
  createdOn?: string;
  runtime: Runtime;
  model: ManifestModel;
  archiverVersion?: string;
  engine?: { engineName: string; engineVersion?: string };
  license?: string;
  description?: string;
  modelServerVersion?: string;
  implementationVersion?: string;
  specificationVersion?: string;
  userData?: unknown;
}

/** Handlers built into the worker, chosen by the manifest's `handler` with runtime `onnx`. */
export const BUILT_IN_HANDLERS = [
  'onnx',
  'tensor',
  'ocr',
  'ocr_det',
  'ocr_cls',
  'ocr_rec',
  'image_classifier',
  'text_embedding',
  'sentence_embedding',
  'sequence_classification',
  'token_classification',
  'question_answering',
] as const;
export type BuiltInHandler = (typeof BUILT_IN_HANDLERS)[number];

export const MANIFEST_PATH = 'MAR-INF/MANIFEST.json';
export const DEFAULT_MODEL_FILE = 'model.onnx';

/**
 * The model file of a directory without a manifest (file names of its top level): model.onnx, else
 * the one .onnx file (SageMaker hands over bare model files); undefined when neither is there.
 */
export function pickModelFile(files: string[]): string | undefined {
  if (files.includes(DEFAULT_MODEL_FILE)) return DEFAULT_MODEL_FILE;
  const onnx = files.filter((f) => /\.onnx$/i.test(f));
  return onnx.length === 1 ? onnx[0] : undefined;
}

export class ManifestError extends Error {
  override name = 'ManifestError';
}

/** Model names and versions have at most this many characters (docs/archives.md, Safety checks on archives). */
export const MAX_NAME_LENGTH = 64;

/**
 * What is wrong with a model version, or undefined: a version is a path segment
 * (/predictions/{name}/{version}) and part of the model's key, so it follows the name's rule. One rule
 * for the `model_version` parameter and the manifest's `modelVersion`.
 */
export function versionProblem(version: string): string | undefined {
  if (version.length <= MAX_NAME_LENGTH && /^[A-Za-z0-9][A-Za-z0-9_\-.]*$/.test(version)) return undefined;
  return `Invalid model version "${version.slice(0, MAX_NAME_LENGTH)}": use at most ${MAX_NAME_LENGTH} letters, digits, '_', '-' and '.', starting with a letter or digit.`;
}

const STRING_FIELDS = ['modelName', 'handler', 'modelVersion', 'description', 'modelFile', 'executionProvider'] as const;
const INT_FIELDS = ['batchSize', 'maxBatchDelay'] as const;

/** Checks a parsed JSON value against the schema; throws ManifestError naming the bad field. */
export function validateManifest(raw: unknown): Manifest {
  if (!isObject(raw)) throw new ManifestError('Manifest must be a JSON object.');
  const runtime = raw.runtime ?? 'onnx';
  if (typeof runtime !== 'string' || !(RUNTIMES as readonly string[]).includes(runtime)) {
    throw new ManifestError(`Invalid runtime in manifest: ${JSON.stringify(runtime)} (expected one of ${RUNTIMES.join(', ')}).`);
  }
  if (!isObject(raw.model)) throw new ManifestError('Missing Model entry in manifest file.');
  const model = raw.model;
  for (const key of STRING_FIELDS) {
    if (model[key] !== undefined && typeof model[key] !== 'string') {
      throw new ManifestError(`Manifest field model.${key} must be a string.`);
    }
  }
  for (const key of INT_FIELDS) {
    const v = model[key];
    if (v !== undefined && !(Number.isInteger(v) && (v as number) >= 0)) {
      throw new ManifestError(`Manifest field model.${key} must be a non-negative integer.`);
    }
  }
  const version = typeof model.modelVersion === 'string' ? versionProblem(model.modelVersion) : undefined;
  if (version) throw new ManifestError(`Manifest field model.modelVersion: ${version}`);
  if (model.retryOnWorkerDeath !== undefined && typeof model.retryOnWorkerDeath !== 'boolean') {
    throw new ManifestError('Manifest field model.retryOnWorkerDeath must be a boolean.');
  }
  const w = model.warmup;
  if (w !== undefined && !(isObject(w) && typeof w.file === 'string' && (w.contentType === undefined || typeof w.contentType === 'string'))) {
    throw new ManifestError('Manifest field model.warmup must be {"file": string, "contentType"?: string}.');
  }
  if (model.extensions !== undefined && !isObject(model.extensions)) {
    throw new ManifestError('Manifest field model.extensions must be an object.');
  }
  validateStages(model.stages);
  if (raw.engine !== undefined && !(isObject(raw.engine) && typeof raw.engine.engineName === 'string')) {
    throw new ManifestError('engineName is required in <engine>.');
  }
  for (const key of ['createdOn', 'archiverVersion', 'license', 'description'] as const) {
    if (raw[key] !== undefined && typeof raw[key] !== 'string') {
      throw new ManifestError(`Manifest field ${key} must be a string.`);
    }
  }
  return { ...(raw as object), runtime: runtime as Runtime, model: model as ManifestModel } as Manifest;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
