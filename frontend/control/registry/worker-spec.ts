// What each worker process of a model is started with: the model's settings, the server's limits
// and the environment it may see.
import type { OutgoingItem } from '../../../protocol/messages.js';
import { frontCount, type ExecutionProvider, type ServerConfig } from '../../config/server-config.js';
import type { WorkerSpec } from '../workers/worker.js';
import type { ModelSettings } from './model-settings.js';
import { hostCpuCount } from '../../config/host-cpus.js';
import type { CpuAllocator } from '../cpus/cpu-allocator.js';
import { STAGE_ENV, STAGE_SEPARATOR, type PipelineStage } from '../../../protocol/pipeline.js';

export type WorkerSpecConfig = Pick<
  ServerConfig,
  'onnxIntraOpThreads' | 'numberOfFronts' | 'workerStartTimeout' | 'modelLoadTimeout' | 'maxResponseSize' | 'workerPing' | 'blacklistEnvVars' | 'decodeInputRequest'
>;

export interface SpecModel extends ModelSettings {
  modelDir: string;
  warmup?: OutgoingItem;
  /** A pipeline's stage: its worker loads that stage of the archive (docs/pipelines.md). */
  stage?: PipelineStage;
}

/**
 * The spec of one worker process on `gpuId` (-1: CPU). `processes` (the most worker processes the model
 * may run; for a stage, every stage's of its pipeline: model-build.ts `threadSharers`) times their
 * sessions share the cores left beside the inference fronts (which parse every request's body: on 2
 * cores, 2 intra-op threads for one cls worker gave 35-45% fewer requests/s than 1, at c=1 and c=64),
 * unless onnx_intra_op_threads says otherwise, or a stage's intraOpThreads (capped by its `own`
 * processes). With cpu_affinity a CPU worker process is pinned to as many cores as it runs intra-op
 * threads (times its sessions), taken from `cpus`.
 */
export function workerSpec(model: SpecModel, processes: number, config: WorkerSpecConfig, gpuId = -1, cpus?: CpuAllocator, own = processes): WorkerSpec {
  // The host's count, not this process's: with cpu_affinity the controller's own list is narrowed.
  const cores = hostCpuCount();
  const sessions = model.preload ? model.sessions : sessionOnThread(model, gpuId) ? 1 : 0;
  const free = cores - frontCount(config.numberOfFronts, cores);
  const share = (workers: number) => Math.max(1, Math.floor(free / Math.max(1, workers * Math.max(1, sessions))));
  // A stage's own count beats the server-wide one and the share, but never more than the free cores
  // its own `own` processes would have alone: on a small host those threads would only crowd the other
  // stages (2 det threads of the bundled OCR on 2 cores: 975 ms of CPU an image at c=8 against 440).
  const asked = model.stage?.intraOpThreads;
  const intra = asked ? Math.min(asked, share(own)) : config.onnxIntraOpThreads || share(processes);
  return {
    // A stage's handler sees the pipeline's name (v2 answers name it), its stage in the environment.
    modelName: model.stage ? model.name.split(STAGE_SEPARATOR)[0] : model.name,
    modelDir: model.modelDir,
    handler: model.handler,
    runtime: model.runtime,
    batchSize: model.batchSize,
    maxBatchDelay: model.maxBatchDelay,
    gpuId,
    executionProviders: providersFor(model.executionProvider, gpuId),
    sessions,
    intraOpThreads: intra,
    responseTimeoutMs: model.responseTimeout * 1000,
    startTimeoutMs: config.workerStartTimeout * 1000,
    loadTimeoutMs: config.modelLoadTimeout * 1000,
    maxResponseSize: config.maxResponseSize,
    ping: config.workerPing,
    // The registered version (model_version may differ from the manifest's): v2 answers name it.
    env: {
      ...workerEnv(config),
      ...(model.version !== undefined ? { MMS_MODEL_VERSION: model.version } : {}),
      ...(model.stage ? { [STAGE_ENV]: model.stage.name } : {}),
    },
    warmup: model.warmup,
    ...(cpus ? { cpus: { allocator: cpus, cores: model.cpuAffinity && gpuId < 0 ? intra * Math.max(1, sessions) : 0 } } : {}),
  };
}

/**
 * Whether a worker process of its own runs its one session on a thread, as a shared process does: a GPU
 * worker of the tensor handler. session.run holds the thread that calls it for the whole GPU run, and
 * these requests carry big tensors (det 640: 4.9 MB in, 1.6 MB out), so the main thread is kept free to
 * read the next batch's requests and write the last one's replies meanwhile. On one H100, one process
 * served det at 90 items/s with its session on a thread against 27 on its main thread (docs/gpu-bench.md).
 */
function sessionOnThread(model: SpecModel, gpuId: number): boolean {
  return gpuId >= 0 && usesGpu(model.executionProvider) && model.runtime === 'onnx' && (model.handler === 'onnx' || model.handler === 'tensor');
}

/** What the worker tries, in order: `auto` is CUDA on a worker's GPU with CPU as its fallback. */
export function providersFor(provider: ExecutionProvider, gpuId: number): string[] {
  if (provider === 'auto') return gpuId >= 0 ? ['cuda', 'cpu'] : ['cpu'];
  return [provider];
}

/** Whether a model's workers take GPUs from the round-robin (a CPU-only model leaves them to others). */
export const usesGpu = (provider: ExecutionProvider): boolean => provider === 'auto' || provider === 'cuda';

/** The server's environment less blacklist_env_vars, plus the worker's own switches. */
export function workerEnv(config: WorkerSpecConfig, env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(env)) {
    if (!config.blacklistEnvVars?.test(k)) out[k] = v;
  }
  out.MMS_DECODE_INPUT_REQUEST = String(config.decodeInputRequest);
  // onnxruntime-node's 1DS telemetry: files in TMPDIR and the cache, uploads to Microsoft
  // (docs/dependencies.md, "onnxruntime-node telemetry"). Off unless the operator sets it.
  out.ORT_DISABLE_TELEMETRY = env.ORT_DISABLE_TELEMETRY ?? '1';
  return out;
}
