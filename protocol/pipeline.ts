// A pipeline model's stage list (the manifest's `model.stages`, docs/pipelines.md): each stage is a
// handler and its model files with workers and batching of its own. Checked here, once, for the
// archiver, the controller and the worker.
import { BUILT_IN_HANDLERS, ManifestError, type Runtime } from './manifest.js';

export interface PipelineStage {
  /** Short name: letters, digits, '_' and '-' (it is part of the stage's key, `<model>#<stage>`). */
  name: string;
  /** A built-in handler (runtime onnx) or `file.js[:function]` in the archive (runtime node); default `onnx`. */
  handler?: string;
  /** The ONNX file the built-in handlers of this stage load; default the model's modelFile. */
  modelFile?: string;
  batchSize?: number;
  maxBatchDelay?: number;
  minWorkers?: number;
  maxWorkers?: number;
  /** auto, cpu, cuda or webgpu; default the model's. */
  executionProvider?: string;
  /** ONNX Runtime intra-op threads of each of this stage's workers; default the server's share (onnx_intra_op_threads). */
  intraOpThreads?: number;
  /** Output of the previous stage → input of this one: the previous stage's v2 answer becomes this stage's v2 request. */
  map?: Record<string, string>;
  /** Last stage only: the request's final items go to this stage's handler's `gather` to become its one answer. */
  gather?: boolean;
  /** Merged over the model's extensions for this stage's handler. */
  extensions?: Record<string, unknown>;
}

/** Separates a pipeline's key from a stage's name in the stage's key: no model name or version holds it. */
export const STAGE_SEPARATOR = '#';
export const stageKey = (modelKey: string, stage: string): string => `${modelKey}${STAGE_SEPARATOR}${stage}`;

/** The worker's environment variable naming the stage it serves. */
export const STAGE_ENV = 'MMS_PIPELINE_STAGE';

/** A non-last stage's reply holding several items (protocol/pipeline-items.ts). */
export const ITEMS_CONTENT_TYPE = 'application/x-mms-items';
/** Marks the request item that asks the last stage's handler to gather a request's final items. */
export const GATHER_HEADER = 'x-mms-pipeline-gather';

/** A stage's runtime: built-in handler names run on onnx, anything else is the archive's JS. */
export const stageRuntime = (s: PipelineStage): Runtime =>
  (BUILT_IN_HANDLERS as readonly string[]).includes(s.handler ?? 'onnx') ? 'onnx' : 'node';

/** The most intra-op threads a stage may ask of each worker. */
export const MAX_INTRA_OP_THREADS = 256;

const NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$/;

/** Checks `model.stages` (undefined: not a pipeline); throws ManifestError naming the bad field. */
export function validateStages(raw: unknown): PipelineStage[] | undefined {
  if (raw === undefined) return undefined;
  if (!Array.isArray(raw) || raw.length === 0) throw new ManifestError('Manifest field model.stages must be a non-empty array.');
  const seen = new Set<string>();
  raw.forEach((s: unknown, i) => {
    const at = `model.stages[${i}]`;
    if (typeof s !== 'object' || s === null || Array.isArray(s)) throw new ManifestError(`Manifest field ${at} must be an object.`);
    const st = s as Record<string, unknown>;
    if (typeof st.name !== 'string' || !NAME.test(st.name)) {
      throw new ManifestError(`Manifest field ${at}.name must be 1-32 letters, digits, '_' or '-', starting with a letter or digit.`);
    }
    if (seen.has(st.name)) throw new ManifestError(`Manifest field ${at}.name: stage "${st.name}" is named twice.`);
    seen.add(st.name);
    for (const k of ['handler', 'modelFile', 'executionProvider'] as const) {
      if (st[k] !== undefined && typeof st[k] !== 'string') throw new ManifestError(`Manifest field ${at}.${k} must be a string.`);
    }
    for (const k of ['batchSize', 'maxBatchDelay', 'minWorkers', 'maxWorkers'] as const) {
      const v = st[k];
      if (v !== undefined && !(Number.isInteger(v) && (v as number) >= 0)) throw new ManifestError(`Manifest field ${at}.${k} must be a non-negative integer.`);
    }
    if (typeof st.minWorkers === 'number' && typeof st.maxWorkers === 'number' && st.maxWorkers < st.minWorkers) {
      throw new ManifestError(`Manifest field ${at}.maxWorkers must be at least its minWorkers (${st.minWorkers}).`);
    }
    const threads = st.intraOpThreads;
    if (threads !== undefined && !(Number.isInteger(threads) && (threads as number) >= 1 && (threads as number) <= MAX_INTRA_OP_THREADS)) {
      throw new ManifestError(`Manifest field ${at}.intraOpThreads must be an integer from 1 to ${MAX_INTRA_OP_THREADS}.`);
    }
    if (st.map !== undefined && !(isObject(st.map) && Object.values(st.map).every((v) => typeof v === 'string' && v !== ''))) {
      throw new ManifestError(`Manifest field ${at}.map must be an object of non-empty strings (previous stage's output → this stage's input).`);
    }
    if (isObject(st.map) && new Set(Object.values(st.map)).size !== Object.keys(st.map).length) {
      throw new ManifestError(`Manifest field ${at}.map names one input for two outputs.`);
    }
    if (st.map !== undefined && i === 0) throw new ManifestError(`Manifest field ${at}.map: the first stage takes the request as it comes.`);
    if (st.gather !== undefined && typeof st.gather !== 'boolean') throw new ManifestError(`Manifest field ${at}.gather must be a boolean.`);
    if (st.gather && i !== raw.length - 1) throw new ManifestError(`Manifest field ${at}.gather: only the last stage gathers.`);
    if (st.extensions !== undefined && !isObject(st.extensions)) throw new ManifestError(`Manifest field ${at}.extensions must be an object.`);
  });
  return raw as PipelineStage[];
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
