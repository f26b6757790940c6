// Workers on GPUs, on a machine without one: a real nvidia-smi stand-in lists two H200s (recorded
// output), CUDA cannot start here, so `auto` falls back to the CPU while the GPU ids are handed out
// exactly as on a GPU machine (docs/gpu.md, "Which GPU a worker gets"): one round-robin across models,
// start-up models get one worker per GPU, a restarted worker keeps its GPU, a CPU-only model takes
// none; describe and /metrics show the GPUs' memory.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeModelDir } from '../helpers/onnx-models.js';
import { fakeAppsFile, fakeNvidiaSmi, h200Rows } from '../helpers/fake-nvidia-smi.js';
import { sampleOf } from '../helpers/metrics.js';
import { eventually, postJson, request, startTestServer, v2Request, type TestServer } from '../helpers/server.js';

interface WorkerView {
  id: string;
  pid: number;
  status: string;
  gpu: boolean;
  gpuId?: number;
  gpuMemoryUsage?: number;
  executionProvider?: string;
}

describe('GPU placement (two GPUs listed by nvidia-smi)', () => {
  let server: TestServer;
  const appsFile = fakeAppsFile();
  const mgmt = (p: string, method = 'GET') => request(`${server.managementUrl}${p}`, { method });
  const workers = async (model: string) => (await mgmt(`/models/${model}`)).body.workers as WorkerView[];
  const register = async (query: string) => {
    const r = await mgmt(`/models?${query}&synchronous=true`, 'POST');
    assert.equal(r.status, 200, JSON.stringify(r.body));
  };

  let store: string;

  before(async () => {
    store = mkdtempSync(path.join(os.tmpdir(), 'mms-gpu-store-'));
    writeModelDir(path.join(store, 'first'), { name: 'first' });
    writeModelDir(path.join(store, 'scale'), { name: 'scale' });
    const command = fakeNvidiaSmi({ gpus: h200Rows(2), usage: '0, 815, 143771, 37\n1, 1700, 143771, 5', appsFile });
    server = await startTestServer({ nvidia_smi: command, load_models: 'first=first' }, store);
  });
  after(async () => {
    await server?.close();
    rmSync(store, { recursive: true, force: true });
  });

  it('gives a start-up model one worker per GPU, from GPU 1 on', async () => {
    assert.deepEqual((await workers('first')).map((w) => w.gpuId), [1, 0]);
  });

  it('hands GPUs round-robin across models; a CPU-only model takes none', async () => {
    await register('url=scale&model_name=a&initial_workers=3');
    await register('url=scale&model_name=cpuonly&initial_workers=2&execution_provider=cpu');
    await register('url=scale&model_name=b&initial_workers=1');
    assert.deepEqual((await workers('a')).map((w) => w.gpuId), [1, 0, 1]);
    assert.deepEqual((await workers('cpuonly')).map((w) => [w.gpu, w.gpuId]), [[false, undefined], [false, undefined]]);
    assert.deepEqual((await workers('b')).map((w) => w.gpuId), [0]);
  });

  it('falls back to the CPU when CUDA cannot start (auto), and the worker still holds its GPU id', async () => {
    const [w] = await workers('b');
    assert.equal(w.gpu, true);
    assert.match(w.executionProvider ?? '', /^(cpu|cuda:0)$/);
    // A GPU worker of the tensor handler runs its session on a thread of its own (docs/gpu.md).
    const r = await postJson(`${server.inferenceUrl}/predictions/b`, v2Request('x', [1, 4], [1, 2, 3, 4]));
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(r.body.outputs[0].data, [2, 4, 6, 8]);
  });

  it('a restarted worker keeps its GPU', async () => {
    const before = await workers('a');
    process.kill(before[0].pid, 'SIGKILL');
    const now = await eventually(async () => {
      const w = await workers('a');
      return w.length === 3 && w.every((x) => x.status === 'READY') && !w.some((x) => x.pid === before[0].pid) ? w : undefined;
    }, 30_000);
    assert.deepEqual(now.map((w) => w.gpuId).sort(), [0, 1, 1]);
  });

  it('shows each worker\'s GPU memory in describe, and each GPU\'s in /metrics', async () => {
    const [w] = await workers('b');
    writeFileSync(appsFile, `${w.pid}, 815\n`);
    const seen = await eventually(async () => (await workers('b'))[0].gpuMemoryUsage);
    assert.equal(seen, 815 * 1024 * 1024);
    const text = (await request(`${server.metricsUrl}/metrics`)).body as string;
    assert.equal(sampleOf(text, 'mms_gpu_memory_used_bytes', { gpu: '1', name: 'NVIDIA H200' }), 1700 * 1024 * 1024);
    assert.equal(sampleOf(text, 'mms_gpu_memory_total_bytes', { gpu: '0' }), 143771 * 1024 * 1024);
    assert.equal(sampleOf(text, 'mms_gpu_utilization_ratio', { gpu: '0' }), 0.37);
  });
});
