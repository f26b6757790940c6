// Every config.properties key we read: its kind, default, range and whether MMS_* env vars may override
// it (docs/configuration.md, Keys). Keys that only tune MMS's JVM are accepted and reported as ignored.

export type Kind = 'string' | 'int' | 'bool' | 'address' | 'regex' | 'list';

export interface KeySpec {
  kind: Kind;
  default?: string;
  env?: boolean;
  min?: number;
  max?: number;
  /** A value below `min` that still is allowed, meaning "unset" (default_response_timeout_seconds -1). */
  unset?: number;
  /** The value `off` turns the feature off (an address left unset). */
  off?: boolean;
}

/** Node timers hold at most 2^31-1 ms; a longer delay fires at once, so it must be refused. */
export const MAX_TIMER_MS = 2 ** 31 - 1;
/** Seconds that fit a timer. */
export const MAX_TIMER_S = Math.floor(MAX_TIMER_MS / 1000);
/**
 * Seconds a response timeout may be: a slot holds two batches, and the waiting one's timer is the
 * timeout twice (docs/architecture.md, Request path).
 */
export const MAX_RESPONSE_TIMEOUT_S = Math.floor(MAX_TIMER_S / 2);

export const KEYS = {
  inference_address: { kind: 'address', default: 'http://127.0.0.1:8080', env: true },
  management_address: { kind: 'address', default: 'http://127.0.0.1:8081', env: true },
  model_store: { kind: 'string', env: true },
  load_models: { kind: 'string', env: true },
  default_workers_per_model: { kind: 'int', default: '0', env: true, min: 0 },
  number_of_gpu: { kind: 'int', env: true, min: 0 },
  job_queue_size: { kind: 'int', default: '100', env: true, min: 1 },
  default_response_timeout: { kind: 'int', default: '120', env: true, min: 1, max: Math.floor(MAX_RESPONSE_TIMEOUT_S / 60) },
  default_response_timeout_seconds: { kind: 'int', default: '-1', env: true, min: 1, max: MAX_RESPONSE_TIMEOUT_S, unset: -1 },
  unregister_model_timeout: { kind: 'int', default: '120', env: true, min: 1, max: MAX_TIMER_S },
  max_request_size: { kind: 'int', default: '6553500', env: true, min: 1 },
  max_response_size: { kind: 'int', default: '6553500', env: true, min: 1 },
  preload_model: { kind: 'bool', default: 'false', env: true },
  default_service_handler: { kind: 'string', env: true },
  decode_input_request: { kind: 'bool', default: 'true', env: true },
  blacklist_env_vars: { kind: 'regex', env: true },
  cors_allowed_origin: { kind: 'string', env: true },
  cors_allowed_methods: { kind: 'string', env: true },
  cors_allowed_headers: { kind: 'string', env: true },
  keystore: { kind: 'string', env: true },
  keystore_pass: { kind: 'string', default: 'changeit', env: true },
  keystore_type: { kind: 'string', default: 'PKCS12', env: true },
  private_key_file: { kind: 'string', env: true },
  certificate_file: { kind: 'string', env: true },
  enable_envvars_config: { kind: 'bool', default: 'false' },
  debug: { kind: 'bool', default: 'false', env: true },
  metric_time_interval: { kind: 'int', default: '60', min: 1 },
  // Ours (docs/configuration.md).
  onnx_intra_op_threads: { kind: 'int', default: '0', env: true, min: 0 },
  allowed_urls: { kind: 'list', env: true },
  worker_start_timeout: { kind: 'int', default: '120', env: true, min: 1, max: MAX_TIMER_S },
  // Seconds a worker may take to answer its Load (the model's load); -1: worker_start_timeout's value.
  model_load_timeout: { kind: 'int', default: '-1', env: true, min: 1, max: MAX_TIMER_S, unset: -1 },
  // The response cache of models registered with response_cache=true: bytes per model and front, seconds an answer lives.
  response_cache_size: { kind: 'int', default: '67108864', env: true, min: 1 },
  response_cache_ttl: { kind: 'int', default: '300', env: true, min: 1, max: MAX_TIMER_S },
  metrics_address: { kind: 'address', default: 'http://127.0.0.1:8082', env: true },
  graceful_shutdown_timeout: { kind: 'int', default: '30', env: true, min: 0, max: MAX_TIMER_S },
  work_dir: { kind: 'string', env: true },
  max_download_size: { kind: 'int', default: '4294967296', env: true, min: 1 },
  download_timeout: { kind: 'int', default: '300', env: true, min: 1, max: MAX_TIMER_S },
  max_extracted_size: { kind: 'int', default: '8589934592', env: true, min: 1 },
  max_archive_entries: { kind: 'int', default: '10000', env: true, min: 1 },
  // Hardening (docs/configuration.md): request shape caps, management origin checks, tokens, code from URLs.
  max_request_parameters: { kind: 'int', default: '1000', env: true, min: 1 },
  allowed_hosts: { kind: 'list', env: true },
  enable_token_auth: { kind: 'bool', default: 'false', env: true },
  key_file: { kind: 'string', env: true },
  allow_code_from_urls: { kind: 'bool', default: 'false', env: true },
  worker_ping_interval_ms: { kind: 'int', default: '5000', env: true, min: 10, max: MAX_TIMER_MS },
  worker_ping_misses: { kind: 'int', default: '3', env: true, min: 1 },
  // MMS's Netty I/O thread count; here the number of inference front processes (0 = automatic).
  number_of_netty_threads: { kind: 'int', default: '0', env: true, min: 0, max: 64 },
  // GPUs (docs/gpu.md): the discovery command, the default execution provider, sessions per shared host.
  nvidia_smi: { kind: 'string', default: 'nvidia-smi', env: true },
  execution_provider: { kind: 'string', default: 'auto', env: true },
  preload_sessions: { kind: 'int', default: '1', env: true, min: 1, max: 16 },
  // Bytes the models' workers may hold together (resident memory); 0 = automatic (memory-limit.ts).
  model_memory_budget: { kind: 'int', default: '0', env: true, min: 0 },
  // The Open Inference Protocol's gRPC service, served by every inference front ('off': none).
  grpc_inference_address: { kind: 'address', default: 'http://127.0.0.1:7070', env: true, off: true },
  // Operations (docs/configuration.md, Autoscaling, crash loops and lazy loading).
  autoscale_interval_ms: { kind: 'int', default: '1000', env: true, min: 10, max: MAX_TIMER_MS },
  autoscale_window_ms: { kind: 'int', default: '30000', env: true, min: 10, max: MAX_TIMER_MS },
  autoscale_percentile: { kind: 'int', default: '90', env: true, min: 1, max: 100 },
  autoscale_min_samples: { kind: 'int', default: '10', env: true, min: 1 },
  autoscale_up_wait_ms: { kind: 'int', default: '100', env: true, min: 0, max: MAX_TIMER_MS },
  autoscale_down_wait_ms: { kind: 'int', default: '10', env: true, min: 0, max: MAX_TIMER_MS },
  autoscale_down_utilisation: { kind: 'int', default: '50', env: true, min: 0, max: 100 },
  autoscale_cooldown_ms: { kind: 'int', default: '30000', env: true, min: 0, max: MAX_TIMER_MS },
  autoscale_idle_ms: { kind: 'int', default: '60000', env: true, min: 10, max: MAX_TIMER_MS },
  crash_loop_max_restarts: { kind: 'int', default: '10', env: true, min: 0 },
  load_on_first_request: { kind: 'bool', default: 'false', env: true },
  model_idle_timeout_ms: { kind: 'int', default: '0', env: true, min: 0, max: MAX_TIMER_MS },
  // CPU pinning's default for models registered without cpu_affinity (docs/configuration.md, CPU pinning).
  cpu_affinity: { kind: 'bool', default: 'false', env: true },
  // Model snapshot (docs/configuration.md, Model snapshot): written on every change, restored at start.
  model_snapshot: { kind: 'bool', default: 'true', env: true },
  snapshot_dir: { kind: 'string', env: true },
  // Hot reload (docs/configuration.md, Hot reload): seconds between looks at the store's models; 0 = off.
  model_watch_interval: { kind: 'int', default: '0', env: true, min: 0, max: MAX_TIMER_S },
} satisfies Record<string, KeySpec>;

export type Key = keyof typeof KEYS;

/** MMS keys that tune the JVM, Netty or log4j: accepted for compatibility, no effect here. */
export const IGNORED_KEYS = new Set([
  'vmargs', 'plugins_path', 'model_server_home', 'use_native_io', 'io_ratio',
  'netty_client_threads', 'async_logging', 'prefer_direct_buffer',
]);
