// config.properties + CLI flags + MMS_* env vars → one typed, validated ServerConfig, built once at
// start and passed down (no global). Precedence, low to high: default < file < CLI < env
// (docs/configuration.md, Config file and precedence).
import { existsSync } from 'node:fs';
import os from 'node:os';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { IGNORED_KEYS, KEYS, type Key, type KeySpec } from './keys.js';
import { parseAddress, type Address } from './address.js';
import { PropertiesSyntaxError, readPropertiesFile } from './properties.js';
import { defaultMemoryBudget } from './memory-limit.js';
import { hostCpuCount } from './host-cpus.js';

export interface ServerConfig {
  inferenceAddress: Address;
  managementAddress: Address;
  metricsAddress: Address;
  /** The gRPC inference service's address; undefined when turned off. */
  grpcAddress?: Address;
  /** Seconds a stopping server waits for in-flight requests. */
  gracefulShutdownTimeout: number;
  modelStore?: string;
  loadModels?: string;
  defaultWorkersPerModel: number;
  /** number_of_gpu: a cap on the GPUs found; undefined = all of them. */
  numberOfGpu?: number;
  jobQueueSize: number;
  /** Seconds a worker may take to answer a batch (or to load). */
  responseTimeout: number;
  unregisterModelTimeout: number;
  maxRequestSize: number;
  maxResponseSize: number;
  /** The GPU-sharing mode's default (docs/gpu.md): one worker process per model and GPU. */
  preloadModel: boolean;
  /** Sessions each shared worker process loads (batches it runs at once). */
  preloadSessions: number;
  /** auto, cpu, cuda or webgpu: a model's default (docs/gpu.md, Execution providers). */
  executionProvider: ExecutionProvider;
  /** The nvidia-smi command GPUs are discovered and read with. */
  nvidiaSmi: string;
  defaultServiceHandler?: string;
  decodeInputRequest: boolean;
  blacklistEnvVars?: RegExp;
  cors: { origin?: string; methods?: string; headers?: string };
  tls: { keystore?: string; keystorePass: string; keystoreType: string; privateKeyFile?: string; certificateFile?: string };
  debug: boolean;
  metricTimeInterval: number;
  /** 0 = automatic (cores / workers of the model, at least 1). */
  onnxIntraOpThreads: number;
  allowedUrls: RegExp[];
  workerStartTimeout: number;
  /** Seconds a worker may take to load its model (its Load reply), apart from the inference timeout. */
  modelLoadTimeout: number;
  /** The response cache's defaults: bytes per model and front, seconds an answer is served (docs/api.md, Response cache). */
  responseCache: { sizeBytes: number; ttlSeconds: number };
  /** Where archives are unpacked, one directory per registration. */
  workDir: string;
  archive: { maxDownloadSize: number; downloadTimeout: number; maxExtractedSize: number; maxEntries: number };
  /** Query parameters, form fields and multipart parts one request may carry (413 past it). */
  maxRequestParameters: number;
  /** Host names (besides the listener's own address and loopback names) the Management API answers. */
  allowedHosts: string[];
  /** Bearer tokens on both APIs; the key file is written at start. */
  tokenAuth: { enabled: boolean; keyFile?: string };
  /** Whether archives that carry code (runtime node) may be registered from http(s) URLs. */
  allowCodeFromUrls: boolean;
  /** Inference front processes (`number_of_netty_threads`); 0 = automatic. */
  numberOfFronts: number;
  /** Liveness pings to each worker process: interval, and misses before it is killed as hung. */
  workerPing: { intervalMs: number; misses: number };
  /** Bytes of resident memory the models' workers may hold together (loads past it evict idle models). */
  modelMemoryBudget: number;
  /** Autoscaling between min_worker and max_worker by queue wait (docs/configuration.md, Autoscaling). */
  autoscale: AutoscaleConfig;
  /** Failures in a row after which a model's crash loop stops and it is marked failed; 0: never. */
  crashLoopMaxRestarts: number;
  /** Models start with no worker and load on their first request. */
  loadOnFirstRequest: boolean;
  /** The default of a model's cpu_affinity: each CPU worker pinned to cores of its own (docs/configuration.md, CPU pinning). */
  cpuAffinity: boolean;
  /** A model unused this long is scaled to 0 workers (loaded again on its next request); 0: never. */
  modelIdleTimeoutMs: number;
  /** Whether the registered models are written to a snapshot and restored at start (model_snapshot). */
  modelSnapshot: boolean;
  /** Where the snapshot file lives: snapshot_dir, else `mms-snapshots/<owner id>` in work_dir's parent directory. */
  snapshotDir: string;
  /** Whose snapshot this server keeps: a snapshot written by another owner is not restored. */
  snapshotOwner: SnapshotOwner;
  /** Seconds between looks at the store's files of the registered models (hot reload); 0: off. */
  modelWatchInterval: number;
  /** Where the settings came from, for the start-up log. */
  configFile?: string;
  warnings: string[];
}

export interface AutoscaleConfig {
  intervalMs: number;
  windowMs: number;
  percentile: number;
  minSamples: number;
  upWaitMs: number;
  downWaitMs: number;
  /** Percent. */
  downUtilisation: number;
  cooldownMs: number;
  idleMs: number;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export interface ConfigSources {
  /** `--mms-config`; absent: `config.properties` in the working directory if there is one; null: no file. */
  configFile?: string | null;
  /** `--model-store`, `--models` (already joined with ','). */
  modelStore?: string;
  models?: string;
  env?: NodeJS.ProcessEnv;
  /** Extra key=value pairs that beat the file (tests, presets). */
  overrides?: Partial<Record<Key, string>>;
}

export function loadConfig(sources: ConfigSources = {}): ServerConfig {
  const env = sources.env ?? process.env;
  const file = sources.configFile === null ? undefined : env.MMS_CONFIG_FILE || sources.configFile || (existsSync('config.properties') ? 'config.properties' : undefined);
  const raw: Record<string, string> = {};
  const warnings: string[] = [];
  if (file) {
    if (!existsSync(file)) throw new ConfigError(`config file not found: ${file}`);
    let props: Record<string, string>;
    try {
      props = readPropertiesFile(file);
    } catch (err) {
      if (err instanceof PropertiesSyntaxError) throw new ConfigError(`${file}: ${err.message}`);
      throw err;
    }
    for (const [key, value] of Object.entries(props)) {
      if (IGNORED_KEYS.has(key)) warnings.push(`config key ${key} is MMS/JVM-specific and has no effect here`);
      else if (!(key in KEYS)) warnings.push(`unknown config key ${key} ignored`);
      else raw[key] = substituteEnv(key, value, env);
    }
  }
  Object.assign(raw, sources.overrides);
  if (sources.modelStore !== undefined) raw.model_store = sources.modelStore;
  if (sources.models !== undefined) raw.load_models = sources.models;
  if (parse('enable_envvars_config', raw.enable_envvars_config) === true) {
    for (const [key, spec] of Object.entries(KEYS) as Array<[Key, KeySpec]>) {
      const value = env[`MMS_${key.toUpperCase()}`];
      if (spec.env && value !== undefined) raw[key] = value;
    }
  }
  const get = <T>(key: Key) => parse(key, raw[key] ?? (KEYS[key] as KeySpec).default) as T;
  const timeoutSeconds = get<number>('default_response_timeout_seconds');
  const workDir = get<string | undefined>('work_dir') ?? path.join(os.tmpdir(), 'mms-models');
  const modelStore = get<string | undefined>('model_store');
  const owner: SnapshotOwner = { modelStore: modelStore ? path.resolve(modelStore) : null, configFile: file ? path.resolve(file) : null };
  return {
    inferenceAddress: get('inference_address'),
    managementAddress: get('management_address'),
    metricsAddress: get('metrics_address'),
    grpcAddress: get('grpc_inference_address'),
    gracefulShutdownTimeout: get('graceful_shutdown_timeout'),
    modelStore: get('model_store'),
    loadModels: get('load_models'),
    defaultWorkersPerModel: get('default_workers_per_model'),
    numberOfGpu: get<number | undefined>('number_of_gpu'),
    jobQueueSize: get('job_queue_size'),
    // MMS 1.1.11: the seconds key wins when set; the older key is read as minutes (docs/configuration.md, Keys).
    responseTimeout: timeoutSeconds > 0 ? timeoutSeconds : get<number>('default_response_timeout') * 60,
    unregisterModelTimeout: get('unregister_model_timeout'),
    maxRequestSize: get('max_request_size'),
    maxResponseSize: get('max_response_size'),
    preloadModel: get('preload_model'),
    preloadSessions: get('preload_sessions'),
    executionProvider: executionProvider('execution_provider', get('execution_provider')),
    nvidiaSmi: get('nvidia_smi'),
    defaultServiceHandler: get('default_service_handler'),
    decodeInputRequest: get('decode_input_request'),
    blacklistEnvVars: get('blacklist_env_vars'),
    cors: { origin: get('cors_allowed_origin'), methods: get('cors_allowed_methods'), headers: get('cors_allowed_headers') },
    tls: {
      keystore: get('keystore'),
      keystorePass: get('keystore_pass'),
      keystoreType: get('keystore_type'),
      privateKeyFile: get('private_key_file'),
      certificateFile: get('certificate_file'),
    },
    debug: get('debug'),
    metricTimeInterval: get('metric_time_interval'),
    onnxIntraOpThreads: get('onnx_intra_op_threads'),
    allowedUrls: get<string[] | undefined>('allowed_urls')?.map((p) => compileRegex('allowed_urls', `^(?:${p})$`, 'i')) ?? [],
    workerStartTimeout: get('worker_start_timeout'),
    modelLoadTimeout: get<number>('model_load_timeout') > 0 ? get<number>('model_load_timeout') : get<number>('worker_start_timeout'),
    responseCache: { sizeBytes: get('response_cache_size'), ttlSeconds: get('response_cache_ttl') },
    workDir,
    archive: {
      maxDownloadSize: get('max_download_size'),
      downloadTimeout: get('download_timeout'),
      maxExtractedSize: get('max_extracted_size'),
      maxEntries: get('max_archive_entries'),
    },
    maxRequestParameters: get('max_request_parameters'),
    allowedHosts: get<string[] | undefined>('allowed_hosts') ?? [],
    tokenAuth: { enabled: get('enable_token_auth'), keyFile: get('key_file') },
    allowCodeFromUrls: get('allow_code_from_urls'),
    numberOfFronts: get('number_of_netty_threads'),
    workerPing: { intervalMs: get('worker_ping_interval_ms'), misses: get('worker_ping_misses') },
    modelMemoryBudget: get<number>('model_memory_budget') || defaultMemoryBudget(),
    autoscale: {
      intervalMs: get('autoscale_interval_ms'),
      windowMs: get('autoscale_window_ms'),
      percentile: get('autoscale_percentile'),
      minSamples: get('autoscale_min_samples'),
      upWaitMs: get('autoscale_up_wait_ms'),
      downWaitMs: get('autoscale_down_wait_ms'),
      downUtilisation: get('autoscale_down_utilisation'),
      cooldownMs: get('autoscale_cooldown_ms'),
      idleMs: get('autoscale_idle_ms'),
    },
    crashLoopMaxRestarts: get('crash_loop_max_restarts'),
    loadOnFirstRequest: get('load_on_first_request'),
    cpuAffinity: get('cpu_affinity'),
    modelIdleTimeoutMs: get('model_idle_timeout_ms'),
    modelSnapshot: get('model_snapshot'),
    modelWatchInterval: get('model_watch_interval'),
    // Not inside work_dir: its entries are removed at start as stale. By default one directory per
    // store and configuration, so servers beside each other never restore each other's models.
    snapshotDir: path.resolve(get<string | undefined>('snapshot_dir') ?? path.join(path.dirname(path.resolve(workDir)), 'mms-snapshots', ownerId(owner))),
    snapshotOwner: owner,
    configFile: file,
    warnings,
  };
}

function substituteEnv(key: string, value: string, env: NodeJS.ProcessEnv): string {
  return value.replace(/\$\$([A-Za-z0-9_]+)\$\$/g, (_, name: string) => {
    const v = env[name];
    if (v === undefined) throw new ConfigError(`Invalid Environment Variable ${name} (in ${key})`);
    return v;
  });
}

const DEFAULT_PORTS: Partial<Record<Key, { http: number; https: number }>> = {
  management_address: { http: 8081, https: 8444 },
  metrics_address: { http: 8082, https: 8445 },
  grpc_inference_address: { http: 7070, https: 7070 },
};

function parse(key: Key, value: string | undefined): unknown {
  if (value === undefined) return undefined;
  const spec: KeySpec = KEYS[key];
  const v = value.trim();
  if (spec.off && v.toLowerCase() === 'off') return undefined;
  switch (spec.kind) {
    case 'string':
      return v === '' ? undefined : v;
    case 'int': {
      if (!/^-?\d+$/.test(v)) throw new ConfigError(`${key} must be an integer, got "${value}"`);
      const n = Number(v);
      if (n === spec.unset) return n;
      const unset = spec.unset !== undefined ? ` (or ${spec.unset}: unset)` : '';
      if (spec.min !== undefined && n < spec.min) throw new ConfigError(`${key} must be at least ${spec.min}${unset}, got ${n}`);
      if (spec.max !== undefined && n > spec.max) throw new ConfigError(`${key} must be at most ${spec.max}, got ${n}`);
      return n;
    }
    case 'bool':
      if (!/^(true|false)$/i.test(v)) throw new ConfigError(`${key} must be true or false, got "${value}"`);
      return v.toLowerCase() === 'true';
    case 'address':
      try {
        return parseAddress(v, DEFAULT_PORTS[key]);
      } catch (err) {
        throw new ConfigError(`${key}: ${(err as Error).message}`);
      }
    case 'regex':
      return v === '' ? undefined : compileRegex(key, `^(?:${v})$`);
    case 'list':
      return v === '' ? undefined : v.split(',').map((s) => s.trim()).filter(Boolean);
  }
}

function compileRegex(key: string, source: string, flags = ''): RegExp {
  try {
    return new RegExp(source, flags);
  } catch (err) {
    throw new ConfigError(`${key} is not a valid regular expression: ${(err as Error).message}`);
  }
}

/** Execution providers a model may ask for (docs/gpu.md, Execution providers). */
export const EXECUTION_PROVIDERS = ['auto', 'cpu', 'cuda', 'webgpu'] as const;
export type ExecutionProvider = (typeof EXECUTION_PROVIDERS)[number];

export function executionProvider(key: string, value: string): ExecutionProvider {
  if ((EXECUTION_PROVIDERS as readonly string[]).includes(value)) return value as ExecutionProvider;
  throw new ConfigError(`${key} must be one of ${EXECUTION_PROVIDERS.join(', ')}, got "${value}".`);
}

/** Fronts for `number_of_netty_threads` = 0: one on small hosts, then one per four cores, at most 8. */
export function frontCount(configured: number, cores = hostCpuCount()): number {
  if (configured > 0) return configured;
  return cores <= 4 ? 1 : Math.min(8, Math.ceil(cores / 4));
}

/** Default worker count for start-up models (docs/configuration.md, Start-up models): `gpus` found. */
export function defaultWorkerCount(config: ServerConfig, gpus = 0): number {
  if (config.debug) return 1;
  if (config.defaultWorkersPerModel > 0) return config.defaultWorkersPerModel;
  if (gpus > 0) return gpus;
  return hostCpuCount();
}

/** What makes a model snapshot one server's: its model store and its config file (absolute, or null). */
export interface SnapshotOwner {
  modelStore: string | null;
  configFile: string | null;
}

/** A short stable name for an owner: the default snapshot directory's last segment. */
export function ownerId(owner: SnapshotOwner): string {
  return createHash('sha256').update(JSON.stringify([owner.modelStore, owner.configFile])).digest('hex').slice(0, 16);
}
