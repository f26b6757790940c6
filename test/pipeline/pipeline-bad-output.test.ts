// A stage that hands on a malformed answer fails that request with a clear code, never a 200, a 400
// that blames the client, or a 500 INTERNAL (docs/pipelines.md, The stage contract).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { writeScaleModel } from '../helpers/onnx-models.js';
import { writeHeldPipeline, writePipeline } from '../helpers/pipelines.js';
import { eventually, postJson, request, startTestServer, type TestServer } from '../helpers/server.js';
import { metricValue } from '../helpers/metrics.js';

// Answers by its input word: `items` that is no list, an Error among the items, or two good items.
const PICK = `export function handle(batch) {
  return batch.map((i) => {
    const w = i.params.body.value.toString();
    if (w === 'items-string') return { items: 'oops' };
    if (w === 'items-error') return { items: [{ a: 'x' }, new Error('boom')] };
    return { items: [{ a: w }, { a: w }] };
  });
}`;
const ECHO = `export function handle(batch) { return batch.map((i) => i.params.a.value.toString()); }`;
// A v2 answer for the ONNX stage after it, malformed as the input's "case" asks.
const PRE = `const t = (name) => ({ name, shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] });
export function handle(batch) {
  return batch.map((i) => {
    const c = JSON.parse(i.params.body.value.toString()).case;
    if (c === 'outputs-5') return { outputs: 5 };
    if (c === 'null-output') return { outputs: [null] };
    return { outputs: [t('constructor'), t('y')] };
  });
}`;

// Answers each word, but "bad" with a value JSON cannot write.
const VALUE = `export function handle(batch) { return batch.map((i) => { const w = i.params.body.value.toString(); return w === 'bad' ? { v: 1n } : w; }); }`;

describe('a pipeline stage with a malformed answer', () => {
  let server: TestServer;
  let release: string;
  before(async () => {
    server = await startTestServer();
    release = writeHeldPipeline(server.store, 'mixed', { name: 'value', source: VALUE, batchSize: 8 }, { batchSize: 8, maxBatchDelay: 0 });
    writePipeline(path.join(server.store, 'bad'), { modelName: 'bad', stages: [{ name: 'pick', handler: 'pick.mjs' }, { name: 'echo', handler: 'echo.mjs' }] }, { 'pick.mjs': PICK, 'echo.mjs': ECHO }, 'node');
    const v2 = path.join(server.store, 'v2bad');
    mkdirSync(v2, { recursive: true });
    writeScaleModel(v2, 'double.onnx', 2);
    writePipeline(v2, { modelName: 'v2bad', stages: [{ name: 'pre', handler: 'pre.mjs', runtime: 'node' }, { name: 'double', modelFile: 'double.onnx', map: { y: 'x' } }] }, { 'pre.mjs': PRE });
    for (const url of ['bad', 'v2bad', 'mixed']) {
      const r = await request(`${server.managementUrl}/models?url=${url}&initial_workers=1&synchronous=true`, { method: 'POST' });
      assert.equal(r.status, 200, JSON.stringify(r.body));
    }
  });
  after(() => server?.close());

  const post = (word: string) => request(`${server.inferenceUrl}/predictions/bad`, { method: 'POST', body: word, headers: { 'content-type': 'text/plain' } });

  it('fails the request whose items are no list, or hold an Error, and serves the others', { timeout: 30_000 }, async () => {
    const notList = await post('items-string');
    assert.deepEqual([notList.status, notList.body.errorCode], [503, 'HANDLER_BAD_OUTPUT'], JSON.stringify(notList.body));
    const error = await post('items-error');
    assert.deepEqual([error.status, error.body.errorCode], [500, 'HANDLER_ERROR'], JSON.stringify(error.body));
    assert.match(error.body.message, /boom/);
    assert.deepEqual((await post('ok')).body, ['ok', 'ok']);
  });

  it("fails only the request whose answer JSON cannot write, not the others of the stage's batch", { timeout: 30_000 }, async () => {
    const words = ['g1', 'g2', 'g3', 'g4', 'g5', 'bad'];
    const calls = [];
    for (const [k, w] of words.entries()) {
      calls.push(request(`${server.inferenceUrl}/predictions/mixed`, { method: 'POST', body: w, headers: { 'content-type': 'text/plain' } }));
      await eventually(async () => (await metricValue(server.metricsUrl, 'mms_queue_depth', { model: 'mixed' })) === k + 1);
    }
    writeFileSync(release, ''); // the held words reach the value stage together
    const answers = await Promise.all(calls);
    assert.deepEqual(answers.map((a) => [a.status, a.body.errorCode ?? a.body]), [...words.slice(0, -1).map((w) => [200, w]), [503, 'HANDLER_BAD_OUTPUT']]);
  });

  it('answers 503 HANDLER_BAD_OUTPUT for a gather whose answer JSON cannot write', { timeout: 30_000 }, async () => {
    const gather = `export function handle(batch) { return batch.map(() => 1); }\nexport function gather() { return { v: 1n }; }`;
    writePipeline(path.join(server.store, 'gatherbig'), { modelName: 'gatherbig', stages: [{ name: 'pick', handler: 'pick.mjs' }, { name: 'sum', handler: 'sum.mjs', gather: true }] }, { 'pick.mjs': PICK, 'sum.mjs': gather }, 'node');
    assert.equal((await request(`${server.managementUrl}/models?url=gatherbig&initial_workers=1&synchronous=true`, { method: 'POST' })).status, 200);
    const r = await request(`${server.inferenceUrl}/predictions/gatherbig`, { method: 'POST', body: 'ok', headers: { 'content-type': 'text/plain' } });
    assert.deepEqual([r.status, r.body.errorCode], [503, 'HANDLER_BAD_OUTPUT'], JSON.stringify(r.body));
  });

  it('refuses to register a gathering stage whose handler has no gather()', { timeout: 30_000 }, async () => {
    writePipeline(path.join(server.store, 'nogather'), { modelName: 'nogather', stages: [{ name: 'pick', handler: 'pick.mjs' }, { name: 'echo', handler: 'echo.mjs', gather: true }] }, { 'pick.mjs': PICK, 'echo.mjs': ECHO }, 'node');
    const r = await request(`${server.managementUrl}/models?url=nogather&initial_workers=1&synchronous=true`, { method: 'POST' });
    assert.equal(r.status, 500, JSON.stringify(r.body));
    assert.equal(r.body.errorCode, 'WORKER_START_FAILED');
    assert.match(r.body.message, /stage echo gathers, but its handler has no gather\(\)/);
    assert.equal((await request(`${server.managementUrl}/models/nogather`)).status, 404);
  });

  it("blames the stage before a map for a malformed v2 answer, and maps only the map's own names", { timeout: 30_000 }, async () => {
    const v2 = (c: string) => postJson(`${server.inferenceUrl}/predictions/v2bad`, { case: c });
    for (const c of ['outputs-5', 'null-output']) {
      const r = await v2(c);
      assert.deepEqual([r.status, r.body.errorCode], [503, 'HANDLER_BAD_OUTPUT'], `${c}: ${JSON.stringify(r.body)}`);
    }
    const named = await v2('constructor');
    assert.equal(named.status, 200, JSON.stringify(named.body));
    assert.deepEqual(named.body.outputs.map((o: { name: string; data: number[] }) => [o.name, o.data]), [['y', [2, 4, 6, 8]]]);
  });
});
