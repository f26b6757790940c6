// The one list of per-model parameters: register (`POST /models`, Triton's repository load) and scale
// (`PUT /models/{name}`), each once, with its kind, range, default and the setting it fills. The routes'
// parsing, the range checks, the OpenAPI parameters, the snapshot's saved settings and the hostile
// sweep all read it; docs/api.md's register table is held equal to it by test/registry/model-params.test.ts.
// Adding a setting is one entry here, plus the code that uses it (model-settings.ts's merge).
import { RUNTIMES } from '../../../protocol/manifest.js';
import { MAX_RESPONSE_TIMEOUT_S, MAX_TIMER_MS, MAX_TIMER_S } from '../../config/keys.js';
import { EXECUTION_PROVIDERS } from '../../config/server-config.js';
import { badRequest } from '../../errors.js';
import type { ModelSettings, RegisterParams } from './model-settings.js';

export const MAX_WORKERS = 256;
export const MAX_BATCH_SIZE = 1024;
/** Sessions in one shared worker process: each holds the model's weights and workspaces once more. */
export const MAX_SESSIONS = 16;

export type ParamKind = 'string' | 'int' | 'bool' | 'enum';
export type ParamValue = string | number | boolean;

export interface ParamSpec<F extends string = string> {
  name: string;
  kind: ParamKind;
  /** The field of the parsed parameters (RegisterParams, ScaleParams) it fills. */
  field: F;
  required?: boolean;
  /** enum: the values taken. */
  values?: readonly string[];
  /** int: the range taken (inclusive); `unit` is named in the message of a value outside it. */
  min?: number;
  max?: number;
  unit?: string;
  /** The value when the parameter is absent: at once, or with `defaultFrom`, when that gives none either. */
  default?: ParamValue;
  /** Where the value comes from first when the parameter is absent (the manifest, a config key). */
  defaultFrom?: string;
  description: string;
  /** The ModelSettings field it ends up in; the snapshot saves it (under `field`) and registers it again. */
  setting?: keyof ModelSettings;
  /** The saved value, when not the setting as is. */
  save?: (s: ModelSettings) => ParamValue | undefined;
  /** What describe shows, when not the saved value (undefined: shown in another's value). */
  shown?: (s: ModelSettings) => unknown;
  /** Not taken by Triton's repository load (the name is the path's; a load always waits). */
  notOnLoad?: boolean;
  /** A check of its own in place of the range check (keeps a message MMS clients know). */
  check?: (value: ParamValue) => void;
}

export function checkWorkerCount(name: string, n: number): void {
  if (!Number.isInteger(n) || n < 0 || n > MAX_WORKERS) {
    throw badRequest(`${name} must be an integer between 0 and ${MAX_WORKERS}, got ${n}.`);
  }
}

const workers = (name: string) => (v: ParamValue) => checkWorkerCount(name, v as number);

export const REGISTER_PARAMS: readonly ParamSpec<keyof RegisterParams>[] = [
  {
    name: 'url', kind: 'string', field: 'url', required: true,
    description: 'Model archive or directory: a path relative to model_store, or an http(s) URL matching allowed_urls.',
  },
  {
    name: 'model_name', kind: 'string', field: 'modelName',
    notOnLoad: true, defaultFrom: "the manifest's modelName",
    description: 'Model name.',
  },
  {
    name: 'model_version', kind: 'string', field: 'modelVersion',
    notOnLoad: true, defaultFrom: "the manifest's modelVersion",
    description: 'Model version; versions of one name are served side by side.',
  },
  {
    name: 'handler', kind: 'string', field: 'handler',
    setting: 'handler', defaultFrom: 'the manifest handler, else default_service_handler',
    description: 'Handler: a built-in name (runtime onnx) or file[:function] in the model directory (runtime node).',
  },
  {
    name: 'runtime', kind: 'enum', field: 'runtime', values: RUNTIMES,
    setting: 'runtime', default: 'onnx', defaultFrom: 'the manifest runtime',
    description: 'Runtime.',
    check: (v) => {
      if (!(RUNTIMES as readonly ParamValue[]).includes(v)) throw badRequest(`Invalid RuntimeType value: ${v}`);
    },
  },
  {
    name: 'batch_size', kind: 'int', field: 'batchSize', min: 1, max: MAX_BATCH_SIZE,
    setting: 'batchSize', default: 1, defaultFrom: "the manifest's batchSize",
    description: 'Inference batch size.',
  },
  {
    name: 'max_batch_delay', kind: 'int', field: 'maxBatchDelay', min: 0, max: MAX_TIMER_MS, unit: 'ms',
    setting: 'maxBatchDelay', default: 100, defaultFrom: "the manifest's maxBatchDelay",
    description: 'Maximum batching delay in milliseconds.',
  },
  {
    name: 'initial_workers', kind: 'int', field: 'initialWorkers', min: 0, max: MAX_WORKERS,
    check: workers('initial_workers'), defaultFrom: 'default_workers_per_model',
    description: 'Workers to start.',
  },
  {
    name: 'synchronous', kind: 'bool', field: 'synchronous',
    notOnLoad: true, default: true,
    description: 'Wait for the initial workers to start.',
  },
  {
    name: 'response_timeout', kind: 'int', field: 'responseTimeout', min: 1, max: MAX_RESPONSE_TIMEOUT_S, unit: 'seconds',
    setting: 'responseTimeout', defaultFrom: 'the server setting',
    description: 'Worker response timeout in seconds.',
  },
  {
    name: 'execution_provider', kind: 'enum', field: 'executionProvider', values: EXECUTION_PROVIDERS,
    setting: 'executionProvider', defaultFrom: "the manifest's executionProvider, else execution_provider",
    description: 'Where the sessions run.',
  },
  {
    name: 'preload_model', kind: 'bool', field: 'preloadModel',
    setting: 'preload', defaultFrom: 'preload_model',
    description: "The GPU-sharing mode: one worker process per GPU serves the model's workers there.",
  },
  {
    name: 'preload_sessions', kind: 'int', field: 'preloadSessions', min: 1, max: MAX_SESSIONS,
    setting: 'sessions', defaultFrom: 'preload_sessions',
    description: 'Sessions of each shared worker process.',
  },
  {
    name: 'load_on_first_request', kind: 'bool', field: 'loadOnFirstRequest',
    setting: 'lazy', defaultFrom: 'load_on_first_request',
    description: 'Register with no worker; the first request loads the model.',
  },
  {
    name: 'idle_timeout_ms', kind: 'int', field: 'idleTimeoutMs', min: 0, max: MAX_TIMER_MS, unit: 'ms',
    setting: 'idleTimeoutMs', defaultFrom: 'model_idle_timeout_ms',
    description: 'Milliseconds without a request after which the model is scaled to 0 workers; 0: never.',
  },
  {
    name: 'response_cache', kind: 'bool', field: 'responseCache',
    default: false, setting: 'responseCache', save: (s) => (s.responseCache ? true : undefined), shown: (s) => s.responseCache,
    description: "Answer repeated inputs from each front's response cache.",
  },
  {
    name: 'response_cache_size', kind: 'int', field: 'responseCacheSize', min: 1,
    setting: 'responseCache', save: (s) => s.responseCache?.sizeBytes, shown: () => undefined, defaultFrom: 'response_cache_size',
    description: 'Response cache bytes per front (with response_cache=true).',
  },
  {
    name: 'response_cache_ttl', kind: 'int', field: 'responseCacheTtl', min: 1, max: MAX_TIMER_S, unit: 'seconds',
    setting: 'responseCache', save: (s) => s.responseCache?.ttlSeconds, shown: () => undefined, defaultFrom: 'response_cache_ttl',
    description: 'Seconds a cached answer is served (with response_cache=true).',
  },
  {
    name: 'cpu_affinity', kind: 'bool', field: 'cpuAffinity',
    setting: 'cpuAffinity', defaultFrom: 'cpu_affinity',
    description: 'Pin each CPU worker process to cores of its own (describe lists them).',
  },
];

export interface ScaleParams {
  minWorker: number;
  maxWorker?: number;
  synchronous: boolean;
  timeout?: number;
  numberGpu?: number;
  /** One stage of a pipeline (docs/pipelines.md). */
  stage?: string;
}

/** The worker counts' range is checked by the registry's scale (checkWorkerCount); `timeout` and `number_gpu` are only type-checked. */
export const SCALE_PARAMS: readonly ParamSpec<keyof ScaleParams>[] = [
  {
    name: 'min_worker', kind: 'int', field: 'minWorker', min: 0, max: MAX_WORKERS,
    default: 1,
    description: 'Minimum number of workers.',
  },
  {
    name: 'max_worker', kind: 'int', field: 'maxWorker', min: 0, max: MAX_WORKERS,
    defaultFrom: 'min_worker',
    description: 'Maximum number of workers; between the two the model autoscales.',
  },
  { name: 'synchronous', kind: 'bool', field: 'synchronous', default: false, description: 'Wait for the workers to start.' },
  { name: 'timeout', kind: 'int', field: 'timeout', default: -1, description: 'Seconds to wait (accepted, not used).' },
  {
    name: 'number_gpu', kind: 'int', field: 'numberGpu',
    default: 0, min: 0,
    description: 'Number of GPU workers (accepted, not used).',
  },
  { name: 'stage', kind: 'string', field: 'stage', description: "A pipeline's stage to scale alone; without it, a pipeline's every stage." },
];

/** The parameters Triton's repository load takes. */
export const LOAD_PARAMS = REGISTER_PARAMS.filter((s) => !s.notOnLoad);

/** A parsed value against its spec's range or values: a 400 naming the parameter. */
export function checkParam(spec: ParamSpec, value: ParamValue): void {
  if (spec.check) return spec.check(value);
  if (spec.kind === 'enum' && !spec.values!.includes(value as string)) {
    throw badRequest(`${spec.name} must be one of ${spec.values!.join(', ')}, got "${value}".`);
  }
  if (spec.kind !== 'int' || (spec.min === undefined && spec.max === undefined)) return;
  const n = value as number;
  if (Number.isInteger(n) && (spec.min === undefined || n >= spec.min) && (spec.max === undefined || n <= spec.max)) return;
  const unit = spec.unit ? ` ${spec.unit}` : '';
  throw badRequest(spec.max === undefined
    ? `${spec.name} must be at least ${spec.min}${unit}, got ${n}.`
    : `${spec.name} must be between ${spec.min} and ${spec.max}${unit}, got ${n}.`);
}

/** Each given register parameter checked against its spec (every source: routes, start-up, snapshot). */
export function checkRegisterValues(p: RegisterParams): void {
  for (const spec of REGISTER_PARAMS) {
    const v = p[spec.field];
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') checkParam(spec, v);
  }
}

/** The specs whose setting the snapshot keeps. */
export const SAVED_PARAMS = REGISTER_PARAMS.filter((s) => s.setting !== undefined);

const saved = (spec: ParamSpec, s: ModelSettings) => (spec.save ? spec.save(s) : (s[spec.setting!] as ParamValue | undefined));

/** A model's settings as the snapshot keeps them: by register field, what registers the same model again. */
export function savedSettings(s: ModelSettings): Record<string, ParamValue> {
  const out: Record<string, ParamValue> = {};
  for (const spec of SAVED_PARAMS) {
    const v = saved(spec, s);
    if (v !== undefined) out[spec.field] = v;
  }
  return out;
}

/** A model's settings as describe shows them (GET /models/{name}): by the same names as the snapshot's. */
export function shownSettings(s: ModelSettings): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const spec of SAVED_PARAMS) {
    const v = spec.shown ? spec.shown(s) : saved(spec, s);
    if (v !== undefined) out[spec.field] = v;
  }
  return out;
}

const KIND_TYPE: Record<ParamKind, string> = { string: 'string', enum: 'string', int: 'number', bool: 'boolean' };

/** The register parameters of a saved entry; a value of the wrong type is left out (a hand-edited file). */
export function savedParams(entry: Record<string, unknown>): Partial<RegisterParams> {
  const out: Record<string, unknown> = {};
  for (const spec of SAVED_PARAMS) {
    if (typeof entry[spec.field] === KIND_TYPE[spec.kind]) out[spec.field] = entry[spec.field];
  }
  return out as Partial<RegisterParams>;
}
