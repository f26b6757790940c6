// The SageMaker entrypoint run directly (docker/entrypoint.sh serve, a real child process): the
// multi-model contract over HTTP on one port for both APIs, loads past the memory budget, SIGTERM
// draining a request in flight, and single-model mode's /invocations. The container test
// (container.test.ts) runs the same contract against the image.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WORKER_BASE_BYTES } from '../../frontend/control/registry/memory-budget.js';
import { startGate, type Gate } from '../helpers/gate.js';
import { drainOnStop, memoryBudgetContract, sageMakerContract, serveEntrypoint, writeBareOnnx } from '../helpers/sagemaker-contract.js';
import { request } from '../helpers/server.js';

/** One hold-model worker's RSS, measured by the first server, sizes the second one's budget. */
let holdFootprint = 0;

describe('SageMaker entrypoint: multi-model contract', () => {
  let s: Awaited<ReturnType<typeof serveEntrypoint>>;
  let gate: Gate;
  before(async () => {
    gate = await startGate();
    s = await serveEntrypoint({});
  });
  after(async () => {
    await s?.proc.stop();
    await gate?.close();
    if (s) rmSync(s.root, { recursive: true, force: true });
  });

  sageMakerContract(() => s.target);

  it('drains a request in flight on SIGTERM, then exits 0', async () => {
    const drained = await drainOnStop(s.target, gate, s.proc, () => s.proc.child.kill('SIGTERM'));
    holdFootprint = drained.footprint;
    const r = drained.held;
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.text, `hold:${gate.url('drain')}`);
    assert.deepEqual(await s.proc.exited, { code: 0, signal: null });
  });
});

describe('SageMaker entrypoint: memory budget', () => {
  let s: Awaited<ReturnType<typeof serveEntrypoint>>;
  let gate: Gate;
  before(async () => {
    assert.ok(holdFootprint > 0, 'measured by the contract suite');
    gate = await startGate();
    // Two hold models fit (2Y), a third one's estimate (E) does not: budget = 2Y + E/2.
    const estimate = WORKER_BASE_BYTES + 4096;
    s = await serveEntrypoint({ MMS_MODEL_MEMORY_BUDGET: String(Math.floor(2 * holdFootprint + estimate / 2)) });
  });
  after(async () => {
    await s?.proc.stop();
    await gate?.close();
    if (s) rmSync(s.root, { recursive: true, force: true });
  });

  memoryBudgetContract(() => s.target, () => gate);
});

describe('SageMaker entrypoint: single-model mode', () => {
  it('loads /opt/ml/model at start and serves POST /invocations without a model name', async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'mms-sm1-'));
    writeBareOnnx(path.join(root, 'model'));
    const s = await serveEntrypoint({ SAGEMAKER_MULTI_MODEL: 'false', MMS_MODEL_STORE: root, MMS_LOAD_MODELS: `model=${path.join(root, 'model')}` });
    try {
      const r = await request(`${s.target.inference}/invocations`, {
        method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }] }),
      });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.deepEqual(r.body.outputs[0].data, [2, 4, 6, 8]);
      assert.equal(r.body.model_name, 'model');
    } finally {
      await s.proc.stop();
      rmSync(s.root, { recursive: true, force: true });
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('refuses a bad SAGEMAKER_BIND_TO_PORT with a clear message, exit 1', async () => {
    await assert.rejects(serveEntrypoint({ SAGEMAKER_BIND_TO_PORT: '99999' }), /Invalid configuration: SAGEMAKER_BIND_TO_PORT must be an integer between 1 and 65535/);
  });
});
