// worker-spec.ts: what a model's worker processes start with (no process is started).
import assert from 'node:assert/strict';
import os from 'node:os';
import { describe, it } from 'node:test';
import { workerEnv, workerSpec, type WorkerSpecConfig } from '../../frontend/control/registry/worker-spec.js';
import { CpuAllocator } from '../../frontend/control/cpus/cpu-allocator.js';
import { pino } from 'pino';

const config: WorkerSpecConfig = {
  onnxIntraOpThreads: 0, numberOfFronts: 1, workerStartTimeout: 30, modelLoadTimeout: 40, maxResponseSize: 1000, workerPing: { intervalMs: 100, misses: 3 },
  blacklistEnvVars: /^SECRET_/, decodeInputRequest: true,
};
const model = {
  name: 'm', runtime: 'onnx' as const, handler: 'onnx', batchSize: 4, maxBatchDelay: 50, responseTimeout: 2,
  loadedAtStartup: false, retryOnWorkerDeath: true, modelDir: '/models/m',
  executionProvider: 'auto' as const, preload: false, sessions: 2, lazy: false, idleTimeoutMs: 0, cpuAffinity: false,
};

/** Cores left beside the inference fronts. */
const free = (fronts: number) => os.availableParallelism() - fronts;

describe('workerSpec', () => {
  it('carries the settings, timeouts in ms, and shares the cores left beside the fronts among the minimum workers', () => {
    const spec = workerSpec(model, 2, config);
    assert.equal(spec.modelName, 'm');
    assert.equal(spec.batchSize, 4);
    assert.equal(spec.maxBatchDelay, 50);
    assert.equal(spec.responseTimeoutMs, 2000);
    assert.equal(spec.startTimeoutMs, 30_000);
    assert.equal(spec.loadTimeoutMs, 40_000, 'the Load reply has its own limit (model_load_timeout)');
    assert.equal(spec.intraOpThreads, Math.max(1, Math.floor(free(1) / 2)));
    assert.equal(workerSpec(model, 0, config).intraOpThreads, Math.max(1, free(1)));
    assert.equal(workerSpec(model, 1, { ...config, numberOfFronts: 3 }).intraOpThreads, Math.max(1, free(3)), 'more fronts, fewer threads');
    assert.equal(workerSpec(model, 1, { ...config, numberOfFronts: 64 }).intraOpThreads, 1, 'at least one');
    assert.equal(workerSpec(model, 2, { ...config, onnxIntraOpThreads: 3 }).intraOpThreads, 3);
  });

  it("gives a pipeline stage its own intraOpThreads, at most the free cores its own processes would have alone", () => {
    const stage = (threads: number) => ({ ...model, stage: { name: 'det', intraOpThreads: threads } });
    const cap = (own: number) => Math.max(1, Math.floor(free(1) / own));
    assert.equal(workerSpec(stage(1), 15, { ...config, onnxIntraOpThreads: 5 }, -1, undefined, 3).intraOpThreads, 1, 'over the server-wide count');
    assert.equal(workerSpec(stage(2), 15, config, -1, undefined, 3).intraOpThreads, Math.min(2, cap(3)));
    assert.equal(workerSpec(stage(256), 15, config, -1, undefined, 1).intraOpThreads, cap(1), 'never past the free cores');
    assert.equal(workerSpec(stage(4), 1, { ...config, numberOfFronts: 64 }).intraOpThreads, 1, 'at least one');
    assert.equal(workerSpec(model, 15, { ...config, onnxIntraOpThreads: 5 }, -1, undefined, 3).intraOpThreads, 5, 'only a stage asks');
  });

  it('gives a shared process its sessions, which share the cores too', () => {
    assert.equal(workerSpec(model, 1, config).sessions, 0, 'sessions only in the sharing mode');
    const shared = workerSpec({ ...model, preload: true }, 1, config);
    assert.equal(shared.sessions, 2);
    assert.equal(shared.intraOpThreads, Math.max(1, Math.floor(free(1) / 2)));
  });

  it('runs the session of a GPU worker of the tensor handler on a thread; not on the CPU, nor for other handlers', () => {
    const tensor = { ...model, handler: 'onnx', runtime: 'onnx' as const };
    assert.equal(workerSpec(tensor, 1, config, 0).sessions, 1);
    assert.equal(workerSpec({ ...tensor, handler: 'tensor' }, 1, config, 0).sessions, 1);
    assert.equal(workerSpec(tensor, 1, config, -1).sessions, 0, 'a CPU worker');
    assert.equal(workerSpec({ ...tensor, executionProvider: 'cpu' }, 1, config, 0).sessions, 0, 'a model kept on the CPU');
    assert.equal(workerSpec({ ...tensor, handler: 'ocr' }, 1, config, 0).sessions, 0);
    assert.equal(workerSpec({ ...tensor, runtime: 'node', handler: 'h.mjs' }, 1, config, 0).sessions, 0);
    assert.equal(workerSpec({ ...tensor, preload: true }, 1, config, 0).sessions, 2, 'a shared process keeps its count');
  });

  it('tries CUDA on a GPU worker with CPU as the fallback of auto; an explicit provider alone', () => {
    assert.deepEqual(workerSpec(model, 1, config, 1).executionProviders, ['cuda', 'cpu']);
    assert.equal(workerSpec(model, 1, config, 1).gpuId, 1);
    assert.deepEqual(workerSpec(model, 1, config).executionProviders, ['cpu']);
    assert.deepEqual(workerSpec({ ...model, executionProvider: 'cuda' }, 1, config, 0).executionProviders, ['cuda']);
    assert.deepEqual(workerSpec({ ...model, executionProvider: 'cpu' }, 1, config, -1).executionProviders, ['cpu']);
  });
});

describe('workerSpec with cpu_affinity', () => {
  const cpus = new CpuAllocator([0, 1, 2, 3], pino({ level: 'silent' }), () => true);
  it('pins a CPU worker to as many cores as it runs intra-op threads (times its sessions); not a GPU worker, nor without cpu_affinity', () => {
    const pinned = { ...model, cpuAffinity: true };
    assert.deepEqual(workerSpec(pinned, 2, { ...config, onnxIntraOpThreads: 3 }, -1, cpus).cpus, { allocator: cpus, cores: 3 });
    assert.equal(workerSpec({ ...pinned, preload: true }, 1, { ...config, onnxIntraOpThreads: 1 }, -1, cpus).cpus?.cores, 2, 'a shared process: its 2 sessions');
    assert.equal(workerSpec(pinned, 1, config, 0, cpus).cpus?.cores, 0, 'GPU workers are not pinned');
    assert.equal(workerSpec(model, 1, config, -1, cpus).cpus?.cores, 0);
    assert.equal(workerSpec(pinned, 1, config).cpus, undefined, 'no allocator, nothing to pin with');
  });
});

describe('workerEnv', () => {
  it('drops blacklisted variables and sets the worker switches', () => {
    const env = workerEnv(config, { PATH: '/bin', SECRET_KEY: 'x' });
    assert.deepEqual(env, { PATH: '/bin', MMS_DECODE_INPUT_REQUEST: 'true', ORT_DISABLE_TELEMETRY: '1' });
  });

  it("keeps the operator's ORT_DISABLE_TELEMETRY", () => {
    assert.equal(workerEnv(config, { ORT_DISABLE_TELEMETRY: '0' }).ORT_DISABLE_TELEMETRY, '0');
  });
});
