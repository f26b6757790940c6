// The SageMaker multi-model contract (docs/deploy.md, SageMaker multi-model endpoints) as test
// cases that drive any running server over HTTP: the entrypoint run directly, or the container.
// Model directories are written where the server finds them (`hostDir`) and named by the url
// SageMaker would send (`modelUrl`, /opt/ml/models/<name>/model in the container).
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { it } from 'node:test';
import * as tar from 'tar';
import { FIXTURES } from './fixtures.js';
import type { Gate } from './gate.js';
import { writeScaleModel } from './onnx-models.js';
import { fileURLToPath } from 'node:url';
import { startServeProcess, type ServeProcess } from './serve-process.js';
import { postJson, request, sharedAddress, type JsonResponse } from './server.js';

export interface ContractTarget {
  inference: string;
  management: string;
  metrics: string;
  /** Where model `name`'s files go on this machine (created by the writers below). */
  hostDir(name: string): string;
  /** The url the server is asked to load model `name` from. */
  modelUrl(name: string): string;
}

/** A bare directory holding one .onnx file (not named model.onnx): `y = 2x`, x FP32 [n, 4]. */
export function writeBareOnnx(dir: string): void {
  mkdirSync(dir, { recursive: true });
  writeScaleModel(dir, 'weights.onnx');
}

/** A directory holding one archive (model.tar.gz with a manifest and the scale model), as SageMaker copies it. */
export async function writeArchiveDir(dir: string, name: string): Promise<void> {
  const src = mkdtempSync(path.join(os.tmpdir(), 'mms-sm-src-'));
  mkdirSync(path.join(src, 'MAR-INF'));
  writeFileSync(path.join(src, 'MAR-INF', 'MANIFEST.json'), JSON.stringify({ runtime: 'onnx', model: { modelName: name, handler: 'onnx' } }));
  writeScaleModel(src, 'model.onnx');
  mkdirSync(dir, { recursive: true });
  await tar.c({ gzip: true, file: path.join(dir, 'model.tar.gz'), cwd: src }, ['MAR-INF', 'model.onnx']);
  rmSync(src, { recursive: true, force: true });
}

/** An extracted archive whose JS handler echoes the SageMaker headers and can be held (fixtures handlers/hold.mjs). */
export function writeHoldDir(dir: string, name: string): void {
  mkdirSync(path.join(dir, 'MAR-INF'), { recursive: true });
  copyFileSync(path.join(FIXTURES, 'handlers', 'hold.mjs'), path.join(dir, 'hold.mjs'));
  writeFileSync(path.join(dir, 'MAR-INF', 'MANIFEST.json'), JSON.stringify({ runtime: 'node', model: { modelName: name, handler: 'hold.mjs' } }));
}

export const load = (t: ContractTarget, name: string): Promise<JsonResponse> =>
  postJson(`${t.management}/models`, { model_name: name, url: t.modelUrl(name) });

export const invokeScale = (t: ContractTarget, name: string): Promise<JsonResponse> =>
  postJson(`${t.inference}/models/${name}/invoke`, { inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }] });

export const invokeHold = (t: ContractTarget, name: string, body = 'hi', headers: Record<string, string> = {}): Promise<JsonResponse> =>
  request(`${t.inference}/models/${name}/invoke`, { method: 'POST', body, headers: { 'content-type': 'text/plain', ...headers } });

/** Every model name, following nextPageToken one page of `limit` at a time. */
export async function listAll(t: ContractTarget, limit: number): Promise<{ names: string[]; pages: number }> {
  const names: string[] = [];
  let token: string | undefined = '0';
  let pages = 0;
  while (token !== undefined) {
    const r: JsonResponse = await request(`${t.management}/models?limit=${limit}&next_page_token=${token}`);
    assert.equal(r.status, 200);
    assert.ok(r.body.models.length <= limit);
    names.push(...r.body.models.map((m: { modelName: string }) => m.modelName));
    token = r.body.nextPageToken;
    pages++;
    if (r.body.models.length === 0) break;
  }
  return { names, pages };
}

/** A model's measured footprint: its workers' RSS, from describe. */
export async function footprint(t: ContractTarget, name: string): Promise<number> {
  const r = await request(`${t.management}/models/${name}`);
  assert.equal(r.status, 200);
  return r.body.workers.reduce((a: number, w: { memoryUsage: number }) => a + w.memoryUsage, 0);
}

function expectOutput(r: JsonResponse): void {
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual(r.body.outputs[0].data, [2, 4, 6, 8]);
}

/** The contract's cases, in order, on a multi-model server with a budget large enough for all. */
export function sageMakerContract(target: () => ContractTarget): void {
  it('answers /ping with 200', async () => {
    const r = await request(`${target().inference}/ping`);
    assert.equal(r.status, 200);
    assert.equal(r.body.status, 'Healthy');
  });

  it('loads models from directories: one .onnx file, an archive, an extracted archive; invokes each', async () => {
    const t = target();
    writeBareOnnx(t.hostDir('bare'));
    await writeArchiveDir(t.hostDir('packed'), 'packed');
    writeHoldDir(t.hostDir('echo'), 'echo');
    for (const name of ['bare', 'packed', 'echo']) {
      const r = await load(t, name);
      assert.equal(r.status, 200, `${name}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.status, 'Workers scaled');
    }
    expectOutput(await invokeScale(t, 'bare'));
    expectOutput(await invokeScale(t, 'packed'));
  });

  it('passes Content-Type, Accept and the SageMaker headers to the handler', async () => {
    const r = await invokeHold(target(), 'echo', 'hello', {
      'content-type': 'text/csv', accept: 'application/json',
      'x-amzn-sagemaker-custom-attributes': 'trace=1', 'x-amzn-sagemaker-target-model': 'echo.tar.gz',
    });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(r.body, { text: 'hello', contentType: 'text/csv', accept: 'application/json', customAttributes: 'trace=1', targetModel: 'echo.tar.gz' });
  });

  it('lists models page by page (next_page_token / nextPageToken)', async () => {
    const { names, pages } = await listAll(target(), 1);
    assert.deepEqual(names, ['bare', 'echo', 'packed']);
    assert.ok(pages >= 3);
  });

  it('describes a loaded model; 404 for one that is not', async () => {
    const t = target();
    const r = await request(`${t.management}/models/packed`);
    assert.equal(r.status, 200);
    assert.equal(r.body.modelName, 'packed');
    assert.equal(r.body.workers.length, 1);
    assert.equal(r.body.workers[0].status, 'READY');
    assert.ok(r.body.workers[0].memoryUsage > 0);
    const missing = await request(`${t.management}/models/nothing`);
    assert.equal(missing.status, 404);
    assert.equal(missing.body.errorCode, 'MODEL_NOT_FOUND');
  });

  it('refuses to load a loaded model again (409)', async () => {
    const r = await load(target(), 'bare');
    assert.equal(r.status, 409);
    assert.equal(r.body.errorCode, 'CONFLICT');
  });

  it('unloads a model: then describe, invoke and unload answer 404', async () => {
    const t = target();
    const r = await request(`${t.management}/models/bare`, { method: 'DELETE' });
    assert.equal(r.status, 200);
    for (const res of [await request(`${t.management}/models/bare`), await invokeScale(t, 'bare'), await request(`${t.management}/models/bare`, { method: 'DELETE' })]) {
      assert.equal(res.status, 404);
      assert.equal(res.body.errorCode, 'MODEL_NOT_FOUND');
    }
    assert.equal((await load(t, 'bare')).status, 200, 'loads again once unloaded');
  });

  it('serves the other models while one is unloaded under concurrent invokes', async () => {
    const t = target();
    const others = Array.from({ length: 20 }, () => invokeScale(t, 'packed'));
    const doomed = Array.from({ length: 20 }, () => invokeScale(t, 'bare'));
    const unload = request(`${t.management}/models/bare`, { method: 'DELETE' });
    const more = Array.from({ length: 20 }, () => invokeScale(t, 'packed'));
    for (const r of await Promise.all([...others, ...more])) expectOutput(r);
    for (const r of await Promise.all(doomed)) {
      if (r.status !== 200) assert.ok([404, 503].includes(r.status), `${r.status} ${JSON.stringify(r.body)}`);
    }
    assert.equal((await unload).status, 200);
  });
}

/**
 * Loads past model_memory_budget. The server runs with budget = 2Y + E/2, where Y is one hold-model
 * worker's RSS and E the server's estimate for a new one: two fit, a third needs room.
 */
/**
 * A request held in flight while the server is told to stop (`terminate`): once it logs that it is
 * stopping, the request is released. Returns the hold model's footprint (measured first, for the
 * memory budget suites) and the held request's answer; the caller checks the answer and the exit.
 */
export async function drainOnStop(
  t: ContractTarget,
  gate: Gate,
  logs: { line(pattern: RegExp): Promise<string> },
  terminate: () => unknown,
): Promise<{ footprint: number; held: JsonResponse }> {
  const measured = await footprint(t, 'echo');
  const held = invokeHold(t, 'echo', `hold:${gate.url('drain')}`);
  await gate.arrived('drain');
  const stopping = logs.line(/"msg":"stopping"/);
  await terminate();
  await stopping;
  gate.release('drain');
  return { footprint: measured, held: await held };
}

export function memoryBudgetContract(target: () => ContractTarget, gate: () => Gate): void {
  it('unloads the least recently used idle model to make room; the load succeeds', async () => {
    const t = target();
    for (const name of ['h1', 'h2', 'h3', 'h4']) writeHoldDir(t.hostDir(name), name);
    for (const name of ['h1', 'h2']) assert.equal((await load(t, name)).status, 200, name);
    assert.equal((await invokeHold(t, 'h2')).status, 200); // h1 is now the least recently used
    const r = await load(t, 'h3');
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal((await request(`${t.management}/models/h1`)).status, 404, 'h1 was unloaded');
    assert.equal((await invokeHold(t, 'h1')).status, 404);
    assert.equal((await invokeHold(t, 'h2')).status, 200);
    assert.equal((await invokeHold(t, 'h3')).status, 200);
    const metrics = await (await fetch(`${t.metrics}/metrics`)).text();
    assert.match(metrics, /^mms_model_evictions_total\{model="h1"\} 1$/m);
  });

  it('answers 507 when no idle model is left to unload', async () => {
    const t = target();
    const g = gate();
    const held = ['h2', 'h3'].map((name) => invokeHold(t, name, `hold:${g.url(name)}`));
    await Promise.all(['h2', 'h3'].map((name) => g.arrived(name)));
    const r = await load(t, 'h4');
    assert.equal(r.status, 507, JSON.stringify(r.body));
    assert.equal(r.body.errorCode, 'MEMORY_BUDGET_EXCEEDED');
    assert.equal((await request(`${t.management}/models/h4`)).status, 404);
    for (const name of ['h2', 'h3']) g.release(name);
    for (const res of await Promise.all(held)) assert.equal(res.status, 200);
    assert.equal((await request(`${t.management}/models/h2`)).status, 200, 'busy models stay loaded');
  });
}

const ENTRYPOINT = fileURLToPath(new URL('../../../docker/entrypoint.sh', import.meta.url));
const port = async () => Number(new URL(await sharedAddress()).port);

/** A fresh root (models/, work/, tmp/) and the entrypoint started in it, listening on loopback. */
export async function serveEntrypoint(env: Record<string, string>): Promise<{ root: string; proc: ServeProcess; target: ContractTarget }> {
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
