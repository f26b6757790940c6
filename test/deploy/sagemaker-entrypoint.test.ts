// The SageMaker entrypoint run directly (docker/entrypoint.sh serve, a real child process): the
// multi-model contract over HTTP on one port for both APIs, loads past the memory budget, SIGTERM
// draining a request in flight, and single-model mode's /invocations. The container test
// (container.test.ts) runs the same contract against the image.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { WORKER_BASE_BYTES } from '../../frontend/control/registry/memory-budget.js';
import { startGate, type Gate } from '../helpers/gate.js';
import { drainOnStop, memoryBudgetContract, sageMakerContract, writeBareOnnx, type ContractTarget } from '../helpers/sagemaker-contract.js';
import { startServeProcess, type ServeProcess } from '../helpers/serve-process.js';
import { request, sharedAddress } from '../helpers/server.js';

const ENTRYPOINT = fileURLToPath(new URL('../../../docker/entrypoint.sh', import.meta.url));
const port = async () => Number(new URL(await sharedAddress()).port);

/** A fresh root (models/, work/, tmp/) and the entrypoint started in it, listening on loopback. */
async function serve(env: Record<string, string>): Promise<{ root: string; proc: ServeProcess; target: ContractTarget }> {
  const root = mkdtempSync(path.join(os.tmpdir(), 'mms-sm-'));
  for (const d of ['models', 'work', 'tmp']) mkdirSync(path.join(root, d));
  const [main, metrics] = [await port(), await port()];
  const proc = await startServeProcess(ENTRYPOINT, ['serve'], {
    PATH: process.env.PATH,
    SAGEMAKER_BIND_TO_PORT: String(main),
    SAGEMAKER_SAFE_PORT_RANGE: `${metrics}-${metrics}`,
    SAGEMAKER_MULTI_MODEL: 'true',
    MMS_BIND_HOST: '127.0.0.1',
    MMS_MODEL_STORE: path.join(root, 'models'),
    MMS_WORK_DIR: path.join(root, 'work'),
    TMPDIR: path.join(root, 'tmp'),
    ...env,
  }, root).catch((err: unknown) => {
    // A start that fails (a refused setting) leaves nothing behind either.
    rmSync(root, { recursive: true, force: true });
    throw err;
  });
  const url = `http://127.0.0.1:${main}`;
  const dir = (name: string) => path.join(root, 'models', name, 'model');
  return { root, proc, target: { inference: url, management: url, metrics: `http://127.0.0.1:${metrics}`, hostDir: dir, modelUrl: dir } };
}

/** One hold-model worker's RSS, measured by the first server, sizes the second one's budget. */
let holdFootprint = 0;

describe('SageMaker entrypoint: multi-model contract', () => {
  let s: Awaited<ReturnType<typeof serve>>;
  let gate: Gate;
  before(async () => {
    gate = await startGate();
    s = await serve({});
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
  let s: Awaited<ReturnType<typeof serve>>;
  let gate: Gate;
  before(async () => {
    assert.ok(holdFootprint > 0, 'measured by the contract suite');
    gate = await startGate();
    // Two hold models fit (2Y), a third one's estimate (E) does not: budget = 2Y + E/2.
    const estimate = WORKER_BASE_BYTES + 4096;
    s = await serve({ MMS_MODEL_MEMORY_BUDGET: String(Math.floor(2 * holdFootprint + estimate / 2)) });
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
    const s = await serve({ SAGEMAKER_MULTI_MODEL: 'false', MMS_MODEL_STORE: root, MMS_LOAD_MODELS: `model=${path.join(root, 'model')}` });
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
    await assert.rejects(serve({ SAGEMAKER_BIND_TO_PORT: '99999' }), /Invalid configuration: SAGEMAKER_BIND_TO_PORT must be an integer between 1 and 65535/);
  });
});
