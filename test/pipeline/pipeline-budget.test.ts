// A pipeline under model_memory_budget (docs/deploy.md, Memory budget): its stages' workers count as
// the pipeline's, so a registration reserves them all (507 when they cannot fit), and an idle pipeline
// is unloaded as a whole to make room for another model.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { WORKER_BASE_BYTES } from '../../frontend/control/registry/memory-budget.js';
import { eventually, request, startTestServer, type TestServer } from '../helpers/server.js';
import { writeScaleModel } from '../helpers/onnx-models.js';
import { HOLD_HANDLER } from '../helpers/pipelines.js';

/** A two-stage ONNX chain (×2 then ×3) as `dir`, or a plain ×2 model. */
function writeModel(dir: string, pipeline: boolean): void {
  mkdirSync(path.join(dir, 'MAR-INF'), { recursive: true });
  writeScaleModel(dir, 'double.onnx', 2);
  writeScaleModel(dir, 'triple.onnx', 3);
  const model = pipeline
    ? { modelName: 'chain', stages: [{ name: 'double', modelFile: 'double.onnx' }, { name: 'triple', modelFile: 'triple.onnx', map: { y: 'x' } }] }
    : { modelName: 'plain', handler: 'onnx', modelFile: 'double.onnx' };
  writeFileSync(path.join(dir, 'MAR-INF', 'MANIFEST.json'), JSON.stringify({ runtime: 'onnx', model }));
}

const register = (server: TestServer, url: string, name: string, workers = 1) =>
  request(`${server.managementUrl}/models?url=${url}&model_name=${name}&initial_workers=${workers}&synchronous=true`, { method: 'POST' });

const modelsMemory = async (server: TestServer) => Number(/^mms_models_memory_bytes (\d+)$/m.exec(await (await fetch(`${server.metricsUrl}/metrics`)).text())?.[1]);

describe('a pipeline under the memory budget', () => {
  let server: TestServer;
  /** One ONNX worker's resident memory, measured on a server without a budget. */
  let worker = 0;

  before(async () => {
    const probe = await startTestServer();
    try {
      writeModel(path.join(probe.store, 'plain'), false);
      assert.equal((await register(probe, 'plain', 'plain')).status, 200);
      worker = (await request(`${probe.managementUrl}/models/plain`)).body.workers[0].memoryUsage;
    } finally {
      await probe.close();
    }
    // Room for the two-stage pipeline (by its estimate and by its measure), not for it and one more worker.
    const budget = Math.floor(Math.max(2 * worker, 2 * WORKER_BASE_BYTES) + Math.min(worker, WORKER_BASE_BYTES) / 2);
    server = await startTestServer({ model_memory_budget: String(budget) });
    writeModel(path.join(server.store, 'chain'), true);
    writeModel(path.join(server.store, 'plain'), false);
  });
  after(() => server?.close());

  it('counts the stages, unloads the idle pipeline as a whole for another model, and refuses one whose stages cannot fit', { timeout: 90_000 }, async () => {
    const r = await register(server, 'chain', 'chain');
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const used = await modelsMemory(server);
    assert.ok(used >= 1.5 * worker, `the stages' workers are counted: ${used} bytes used, a worker ${worker}`);

    const plain = await register(server, 'plain', 'plain');
    assert.equal(plain.status, 200, JSON.stringify(plain.body));
    assert.equal((await request(`${server.managementUrl}/models/chain`)).status, 404, 'the idle pipeline made room');

    // Three workers a stage: six workers' estimate, past the budget even with every idle model unloaded.
    const big = await register(server, 'chain', 'big', 3);
    assert.equal(big.status, 507, JSON.stringify(big.body));
    assert.equal(big.body.errorCode, 'MEMORY_BUDGET_EXCEEDED');
    assert.equal((await request(`${server.managementUrl}/models/big`)).status, 404);
    assert.equal((await request(`${server.managementUrl}/models/plain`)).status, 200, 'nothing was unloaded for a load that cannot fit');
  });
});

describe('a busy pipeline under the memory budget', () => {
  let server: TestServer;
  let release: string;

  /** `dir` as a pipeline: a JS stage that holds its items, then the ×2 ONNX model. */
  function writeHeld(dir: string, releaseFile: string): void {
    mkdirSync(path.join(dir, 'MAR-INF'), { recursive: true });
    writeScaleModel(dir, 'double.onnx', 2);
    writeFileSync(path.join(dir, 'hold.mjs'), HOLD_HANDLER);
    writeFileSync(path.join(dir, 'MAR-INF', 'MANIFEST.json'), JSON.stringify({
      runtime: 'node',
      model: { modelName: 'held', extensions: { release: releaseFile }, stages: [{ name: 'hold', handler: 'hold.mjs' }, { name: 'double', runtime: 'onnx', modelFile: 'double.onnx' }] },
    }));
  }

  before(async () => {
    // Both stages' measured memory, on a server without a budget.
    const probe = await startTestServer();
    let held = 0;
    try {
      writeHeld(path.join(probe.store, 'held'), path.join(probe.store, 'released'));
      assert.equal((await register(probe, 'held', 'held')).status, 200);
      held = (await request(`${probe.managementUrl}/models/held`)).body.stages.flatMap((s: { workers: Array<{ memoryUsage: number }> }) => s.workers).reduce((a: number, w: { memoryUsage: number }) => a + w.memoryUsage, 0);
    } finally {
      await probe.close();
    }
    // Room for the pipeline, by its estimate and its measure, not for it and one more worker's estimate.
    const budget = Math.floor(Math.max(held, 2 * WORKER_BASE_BYTES) + WORKER_BASE_BYTES / 2);
    server = await startTestServer({ model_memory_budget: String(budget) });
    release = path.join(server.store, 'release');
    writeHeld(path.join(server.store, 'held'), release);
    writeModel(path.join(server.store, 'plain'), false);
  });
  after(() => server?.close());

  it('is not unloaded to make room while a request is in one of its stages', { timeout: 90_000 }, async () => {
    assert.equal((await register(server, 'held', 'held')).status, 200);
    const pending = request(`${server.inferenceUrl}/predictions/held`, { method: 'POST', body: JSON.stringify({ inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }] }), headers: { 'content-type': 'application/json' } });
    // The request is in the hold stage once the pipeline's queue depth shows it.
    await eventually(async () => /mms_queue_depth\{model="held"\} 1/.test(await (await fetch(`${server.metricsUrl}/metrics`)).text()));
    const plain = await register(server, 'plain', 'plain');
    assert.equal(plain.status, 507, JSON.stringify(plain.body));
    writeFileSync(release, '');
    const answer = await pending;
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    assert.deepEqual(answer.body.outputs[0].data, [2, 4, 6, 8]);
    assert.equal((await request(`${server.managementUrl}/models/held`)).status, 200);
  });
});
