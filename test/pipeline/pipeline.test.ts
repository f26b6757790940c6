// Pipelines through the real server (docs/pipelines.md): an ONNX chain with no code, a JS fan-out and
// fan-in, describe, per-stage scaling and metrics, a stage worker killed under load, a departed client.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import http from 'node:http';
import path from 'node:path';
import { eventually, postJson, request, startTestServer, v2Request, type TestServer } from '../helpers/server.js';
import { writeScaleModel } from '../helpers/onnx-models.js';
import { writePipeline } from '../helpers/pipelines.js';


/** Splits a comma-separated body into one item per word, with its position. */
const SPLIT = `export function handle(batch) {
  return batch.map((i) => ({ items: i.params.body.value.toString().split(',').filter(Boolean).map((w, k) => ({ word: w, k: String(k) })) }));
}`;

/**
 * Upper-cases each word. With a log file (extensions.log) it appends each word as it starts and waits
 * extensions.delayMs; it answers how many items its batch held.
 */
const UPPER = `import { appendFileSync } from 'node:fs';
let log, delay = 0;
export function initialize(ctx) { log = ctx.manifest.model.extensions.log; delay = ctx.manifest.model.extensions.delayMs ?? 0; }
export async function handle(batch) {
  for (const i of batch) if (log) appendFileSync(log, i.params.word.value.toString() + '\\n');
  if (delay) await new Promise((r) => setTimeout(r, delay));
  return batch.map((i) => ({ body: i.params.word.value.toString().toUpperCase(), contentType: 'text/plain', headers: { 'x-batch': String(batch.length) } }));
}
export function gather(input) {
  return { words: Object.keys(input.params).map((k) => input.params[k].value.toString()) };
}`;

/** The pipeline `name`: SPLIT, then UPPER with `upper`'s settings (extensions: UPPER's log and delay). */
function writeSplitUpper(dir: string, name: string, extensions: Record<string, unknown>, upper: Record<string, unknown>): void {
  writePipeline(dir, {
    modelName: name,
    extensions,
    stages: [{ name: 'split', handler: 'split.mjs' }, { name: 'upper', handler: 'upper.mjs', ...upper }],
  }, { 'split.mjs': SPLIT, 'upper.mjs': UPPER });
}

describe('pipelines', () => {
  let server: TestServer;
  const register = async (url: string, extra = '') => {
    const r = await request(`${server.managementUrl}/models?url=${url}&synchronous=true&initial_workers=1${extra}`, { method: 'POST' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
  };
  const predict = (model: string, body: string) => request(`${server.inferenceUrl}/predictions/${model}`, { method: 'POST', body, headers: { 'content-type': 'text/plain' } });

  before(async () => {
    server = await startTestServer({ default_workers_per_model: '1' });
  });
  after(() => server.close());

  it('runs a two-stage ONNX chain with no code, outputs mapped to inputs by name', { timeout: 60_000 }, async () => {
    const dir = path.join(server.store, 'chain');
    mkdirSync(dir);
    writeScaleModel(dir, 'double.onnx', 2);
    writeScaleModel(dir, 'triple.onnx', 3);
    writePipeline(dir, {
      modelName: 'chain',
      stages: [
        { name: 'double', modelFile: 'double.onnx' },
        { name: 'triple', modelFile: 'triple.onnx', map: { y: 'x' } },
      ],
    });
    await register('chain');
    const r = await postJson(`${server.inferenceUrl}/predictions/chain`, v2Request('x', [2, 4], [1, 2, 3, 4, 5, 6, 7, 8]));
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.outputs[0].name, 'y');
    assert.deepEqual(r.body.outputs[0].shape, [2, 4]);
    assert.deepEqual(r.body.outputs[0].data, [6, 12, 18, 24, 30, 36, 42, 48]);
    // A stage is no model of its own: not reachable, not listed.
    assert.equal((await predict('chain%23double', 'x')).status, 404);
    // Nor through a version's path: the stages of version 2 are `chain/2#double`, `chain/2#triple`.
    const v2 = await request(`${server.managementUrl}/models?url=chain&model_name=chainv&model_version=2&initial_workers=1&synchronous=true`, { method: 'POST' });
    assert.equal(v2.status, 200, JSON.stringify(v2.body));
    assert.equal((await request(`${server.inferenceUrl}/predictions/chainv/2%23double`, { method: 'POST' })).status, 404);
    assert.equal((await postJson(`${server.inferenceUrl}/predictions/chainv/2`, v2Request('x', [1, 4], [1, 1, 1, 1]))).body.outputs[0].data[0], 6);
    assert.equal((await request(`${server.managementUrl}/models/chainv`, { method: 'DELETE' })).status, 200);
    const list = await request(`${server.managementUrl}/models`);
    assert.deepEqual(list.body.models.map((m: { modelName: string }) => m.modelName), ['chain']);
    // A bad input fails as the first stage answers it.
    const bad = await postJson(`${server.inferenceUrl}/predictions/chain`, v2Request('nope', [1, 4], [1, 2, 3, 4]));
    assert.equal(bad.status, 400, JSON.stringify(bad.body));
    assert.equal((await request(`${server.managementUrl}/models/chain`, { method: 'DELETE' })).status, 200);
  });

  it('fans one request out to N items and gathers them back in order, batching items across requests', { timeout: 60_000 }, async () => {
    const dir = path.join(server.store, 'words');
    writePipeline(dir, {
      modelName: 'words',
      stages: [
        { name: 'split', handler: 'split.mjs' },
        { name: 'upper', handler: 'upper.mjs', batchSize: 16, maxBatchDelay: 50 },
      ],
    }, { 'split.mjs': SPLIT, 'upper.mjs': UPPER });
    await register('words');
    const one = await predict('words', 'alpha,beta,gamma,delta');
    assert.equal(one.status, 200, JSON.stringify(one.body));
    assert.deepEqual(one.body, ['ALPHA', 'BETA', 'GAMMA', 'DELTA']);
    const none = await predict('words', '');
    assert.deepEqual([none.status, none.body], [200, []]);
    // Many requests at once: each answer in its own order; the upper stage's batches held items of several.
    const texts = Array.from({ length: 8 }, (_, i) => Array.from({ length: 5 }, (_, k) => `r${i}w${k}`).join(','));
    const answers = await Promise.all(texts.map((t) => predict('words', t)));
    answers.forEach((a, i) => assert.deepEqual(a.body, texts[i].toUpperCase().split(',')));
    const metrics = await (await fetch(`${server.metricsUrl}/metrics`)).text();
    const batches = metrics.split('\n').filter((l) => l.startsWith('mms_batch_size_sum{model="words#upper"}'));
    const sums = metrics.split('\n').filter((l) => l.startsWith('mms_batch_size_count{model="words#upper"}'));
    assert.equal(batches.length, 1, 'batch sizes are reported per stage');
    const items = Number(batches[0].split(' ')[1]);
    const count = Number(sums[0].split(' ')[1]);
    assert.equal(items, 4 + 40);
    assert.ok(count < 4 + 40, `the upper stage ran ${count} batches for ${items} items: some held several`);
    assert.match(metrics, /mms_batch_size_count\{model="words#split"\}/);
  });

  it("refuses a stage whose model file is outside the archive, whatever the stage's built-in handler", { timeout: 30_000 }, async () => {
    writeFileSync(path.join(server.store, 'outside.onnx'), 'not in the archive');
    for (const [i, modelFile] of ['../outside.onnx', path.join(server.store, 'outside.onnx')].entries()) {
      const name = `escape${i}`;
      writePipeline(path.join(server.store, name), { modelName: name, stages: [{ name: 'split', handler: 'split.mjs' }, { name: 'look', handler: 'image_classifier', modelFile }] }, { 'split.mjs': SPLIT });
      const r = await request(`${server.managementUrl}/models?url=${name}&synchronous=true&initial_workers=1`, { method: 'POST' });
      assert.equal(r.status, 400, JSON.stringify(r.body));
      assert.match(r.body.message, /Model file of stage look/);
    }
  });

  it("answers with a stage's error status, whichever item of the request got it", { timeout: 60_000 }, async () => {
    const picky = `export function handle(batch) {
  return batch.map((i) => (i.params.word.value.toString() === 'bad' ? { status: 422, body: 'no bad words', contentType: 'text/plain' } : i.params.word.value.toString().toUpperCase()));
}`;
    writePipeline(path.join(server.store, 'picky'), { modelName: 'picky', stages: [{ name: 'split', handler: 'split.mjs' }, { name: 'check', handler: 'picky.mjs' }] }, { 'split.mjs': SPLIT, 'picky.mjs': picky });
    await register('picky');
    const bad = await predict('picky', 'fine,bad,good');
    assert.deepEqual([bad.status, bad.body], [422, 'no bad words']);
    const good = await predict('picky', 'fine,good');
    assert.deepEqual([good.status, good.body], [200, ['FINE', 'GOOD']]);
  });

  it('describes the stages and scales one of them alone', { timeout: 60_000 }, async () => {
    const d = await request(`${server.managementUrl}/models/words`);
    assert.equal(d.status, 200);
    assert.deepEqual(d.body.stages.map((s: { name: string }) => s.name), ['split', 'upper']);
    const [split, upper] = d.body.stages;
    assert.equal(upper.batchSize, 16);
    assert.equal(upper.maxBatchDelay, 50);
    assert.equal(split.handler, 'split.mjs');
    assert.equal(split.workers.length, 1);
    assert.equal(upper.workers.length, 1);
    const r = await request(`${server.managementUrl}/models/words?stage=upper&min_worker=2&synchronous=true`, { method: 'PUT' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const after = (await request(`${server.managementUrl}/models/words`)).body;
    assert.equal(after.stages[1].workers.length, 2);
    assert.deepEqual(after.stages[0].workers.map((w: { pid: number }) => w.pid), split.workers.map((w: { pid: number }) => w.pid));
    const unknown = await request(`${server.managementUrl}/models/words?stage=nope&min_worker=1`, { method: 'PUT' });
    assert.equal(unknown.status, 404);
    assert.deepEqual((await predict('words', 'a,b')).body, ['A', 'B']);
  });

  it('loses no request when a stage worker is SIGKILLed under load', { timeout: 90_000 }, async () => {
    const log = path.join(server.store, 'slow.log');
    const dir = path.join(server.store, 'slow');
    writeSplitUpper(dir, 'slow', { log, delayMs: 40 }, { batchSize: 4, maxBatchDelay: 5, minWorkers: 2 });
    await register('slow');
    const d = (await request(`${server.managementUrl}/models/slow`)).body;
    const victim = d.stages[1].workers[0].pid as number;
    const texts = Array.from({ length: 30 }, (_, i) => `a${i},b${i},c${i}`);
    const pending = texts.map((t) => predict('slow', t));
    // Killed while the stage is busy: a few items ran, most are still queued in its workers.
    await eventually(() => existsSync(log) && readFileSync(log, 'utf8').split('\n').length > 8);
    process.kill(victim, 'SIGKILL');
    const answers = await Promise.all(pending);
    answers.forEach((a, i) => assert.deepEqual([a.status, a.body], [200, texts[i].toUpperCase().split(',')]));
    await eventually(async () => (await request(`${server.managementUrl}/models/slow`)).body.stages[1].workers.filter((w: { status: string }) => w.status === 'READY').length === 2, 30_000);
  });

  it('cancels the items of a client that leaves in every stage', { timeout: 60_000 }, async () => {
    const log = path.join(server.store, 'cancel.log');
    const dir = path.join(server.store, 'gone');
    writeSplitUpper(dir, 'gone', { log, delayMs: 600 }, { batchSize: 1, maxBatchDelay: 0, gather: true });
    await register('gone');
    const url = new URL(`${server.inferenceUrl}/predictions/gone`);
    const req = http.request(url, { method: 'POST', headers: { 'content-type': 'text/plain' } });
    req.on('error', () => undefined);
    req.end('x1,x2,x3');
    await eventually(() => existsSync(log) && readFileSync(log, 'utf8').includes('x1'));
    req.destroy();
    // The next request's items queue behind whatever is left of the first: once it is answered, the
    // first request's other items would have run.
    // A client's own gather header is dropped: only the runner asks the last stage to gather.
    const next = await request(`${server.inferenceUrl}/predictions/gone`, { method: 'POST', body: 'y1', headers: { 'content-type': 'text/plain', 'x-mms-pipeline-gather': '1' } });
    assert.deepEqual([next.status, next.body], [200, { words: ['Y1'] }]);
    assert.deepEqual(readFileSync(log, 'utf8').trim().split('\n'), ['x1', 'y1']);
  });
});

describe('pipelines in the model snapshot', () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'mms-pipe-snap-'));
  const store = path.join(root, 'store');
  const snapshots = path.join(root, 'snapshots');
  let server: TestServer | undefined;
  after(async () => {
    await server?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it("a restart restores a pipeline and each stage's workers", { timeout: 60_000 }, async () => {
    writePipeline(path.join(store, 'words'), {
      modelName: 'words',
      stages: [{ name: 'split', handler: 'split.mjs' }, { name: 'upper', handler: 'upper.mjs' }],
    }, { 'split.mjs': SPLIT, 'upper.mjs': UPPER });
    server = await startTestServer({ snapshot_dir: snapshots }, store);
    const mgmt = (p: string, method = 'GET') => request(`${server!.managementUrl}${p}`, { method });
    assert.equal((await mgmt('/models?url=words&initial_workers=1&synchronous=true', 'POST')).status, 200);
    assert.equal((await mgmt('/models/words?stage=upper&min_worker=2&max_worker=3&synchronous=true', 'PUT')).status, 200);
    await server.close();
    server = await startTestServer({ snapshot_dir: snapshots }, store);
    const d = (await mgmt('/models/words')).body;
    assert.deepEqual(d.stages.map((s: { minWorkers: number; maxWorkers: number; workers: unknown[] }) => [s.minWorkers, s.maxWorkers, s.workers.length]), [[1, 1, 1], [2, 3, 2]]);
    const r = await request(`${server.inferenceUrl}/predictions/words`, { method: 'POST', body: 'a,b', headers: { 'content-type': 'text/plain' } });
    assert.deepEqual(r.body, ['A', 'B']);
  });
});

describe('a pipeline under a full queue and a deadline', () => {
  let server: TestServer;
  const predict = (model: string, body: string, headers: Record<string, string> = {}) =>
    request(`${server.inferenceUrl}/predictions/${model}`, { method: 'POST', body, headers: { 'content-type': 'text/plain', ...headers } });
  before(async () => {
    server = await startTestServer({ job_queue_size: '2', number_of_netty_threads: '1' });
    writePipeline(path.join(server.store, 'busy'), {
      modelName: 'busy',
      extensions: { delayMs: 100 },
      stages: [{ name: 'split', handler: 'split.mjs' }, { name: 'upper', handler: 'upper.mjs', batchSize: 1 }],
    }, { 'split.mjs': SPLIT, 'upper.mjs': UPPER });
    const r = await request(`${server.managementUrl}/models?url=busy&initial_workers=1&synchronous=true`, { method: 'POST' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
  });
  after(() => server.close());

  it('admits requests as a whole (503 past its queue) and never refuses an admitted one in a later stage', { timeout: 60_000 }, async () => {
    // Admitted: job_queue_size 2 + 2 = 4 requests; their 12 items exceed the upper stage's own limit (4).
    const answers = await Promise.all(Array.from({ length: 12 }, (_, i) => predict('busy', `a${i},b${i},c${i}`)));
    const ok = answers.filter((a, i) => a.status === 200 && JSON.stringify(a.body) === JSON.stringify([`A${i}`, `B${i}`, `C${i}`]));
    const full = answers.filter((a) => a.status === 503 && a.body.errorCode === 'QUEUE_FULL');
    assert.equal(ok.length + full.length, answers.length, JSON.stringify(answers.map((a) => [a.status, a.body])));
    assert.ok(ok.length >= 4 && full.length >= 1, `${ok.length} answered, ${full.length} refused`);
  });

  it("answers 504 past the request's deadline, whichever stage holds it", { timeout: 30_000 }, async () => {
    const r = await predict('busy', 'x,y,z', { 'x-request-deadline-ms': '150' });
    assert.equal(r.status, 504, JSON.stringify(r.body));
    assert.equal(r.body.errorCode, 'DEADLINE_EXCEEDED');
    assert.deepEqual((await predict('busy', 'x')).body, ['X']);
  });
});

describe('a pipeline stage autoscales on its own', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({
      autoscale_interval_ms: '100', autoscale_window_ms: '1000', autoscale_min_samples: '3', autoscale_up_wait_ms: '50',
      autoscale_down_wait_ms: '5', autoscale_cooldown_ms: '300', autoscale_idle_ms: '60000',
    });
    writePipeline(path.join(server.store, 'grow'), {
      modelName: 'grow',
      extensions: { delayMs: 100 },
      stages: [{ name: 'split', handler: 'split.mjs' }, { name: 'upper', handler: 'upper.mjs', batchSize: 1, minWorkers: 1, maxWorkers: 2 }],
    }, { 'split.mjs': SPLIT, 'upper.mjs': UPPER });
    const r = await request(`${server.managementUrl}/models?url=grow&initial_workers=1&synchronous=true`, { method: 'POST' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
  });
  after(() => server.close());

  it('grows the busy stage toward its maxWorkers and leaves the other stage as it is', { timeout: 90_000 }, async () => {
    const stages = async () => (await request(`${server.managementUrl}/models/grow`)).body.stages as Array<{ maxWorkers: number; workers: Array<{ pid: number; status: string }> }>;
    const [split] = await stages();
    let loading = true;
    const clients = Array.from({ length: 4 }, async () => {
      while (loading) {
        const r = await request(`${server.inferenceUrl}/predictions/grow`, { method: 'POST', body: 'a,b', headers: { 'content-type': 'text/plain' } });
        assert.equal(r.status, 200, JSON.stringify(r.body));
      }
    });
    try {
      await eventually(async () => (await stages())[1].workers.filter((w) => w.status === 'READY').length === 2, 60_000);
    } finally {
      loading = false;
      await Promise.all(clients);
    }
    const [after, upper] = await stages();
    assert.equal(upper.maxWorkers, 2);
    assert.deepEqual(after.workers.map((w) => w.pid), split.workers.map((w) => w.pid));
  });
});

describe('a pipeline stage that answers nothing', () => {
  it('fails the request at the response timeout and replaces the stuck stage worker', { timeout: 60_000 }, async () => {
    const server = await startTestServer();
    try {
      // Never answers the word "hang"; answers the others.
      const hang = `export function handle(batch) {
  if (batch.some((i) => i.params.word.value.toString() === 'hang')) return new Promise(() => undefined);
  return batch.map((i) => i.params.word.value.toString().toUpperCase());
}`;
      writePipeline(path.join(server.store, 'stuck'), {
        modelName: 'stuck',
        stages: [{ name: 'split', handler: 'split.mjs' }, { name: 'upper', handler: 'hang.mjs' }],
      }, { 'split.mjs': SPLIT, 'hang.mjs': hang });
      const r = await request(`${server.managementUrl}/models?url=stuck&initial_workers=1&response_timeout=1&synchronous=true`, { method: 'POST' });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const before = (await request(`${server.managementUrl}/models/stuck`)).body.stages[1].workers[0].pid;
      const post = (body: string) => request(`${server.inferenceUrl}/predictions/stuck`, { method: 'POST', body, headers: { 'content-type': 'text/plain' } });
      const stuck = await post('a,hang');
      assert.deepEqual([stuck.status, stuck.body.errorCode], [500, 'WORKER_TIMEOUT'], JSON.stringify(stuck.body));
      const fresh = await eventually(async () => {
        const w = (await request(`${server.managementUrl}/models/stuck`)).body.stages[1].workers[0];
        return w?.status === 'READY' && w.pid !== before && w;
      }, 30_000);
      assert.ok(fresh);
      assert.deepEqual((await post('b,c')).body, ['B', 'C']);
    } finally {
      await server.close();
    }
  });
});

describe('a pipeline on a graceful stop', () => {
  it('answers the requests in flight in every stage before the server stops', { timeout: 60_000 }, async () => {
    const server = await startTestServer();
    const log = path.join(server.store, 'drain.log');
    try {
      writePipeline(path.join(server.store, 'drain'), {
        modelName: 'drain',
        extensions: { log, delayMs: 150 },
        stages: [{ name: 'split', handler: 'split.mjs' }, { name: 'upper', handler: 'upper.mjs', batchSize: 1 }],
      }, { 'split.mjs': SPLIT, 'upper.mjs': UPPER });
      const r = await request(`${server.managementUrl}/models?url=drain&initial_workers=1&synchronous=true`, { method: 'POST' });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const texts = ['a,b,c', 'd,e,f', 'g,h,i'];
      const pending = texts.map((t) => request(`${server.inferenceUrl}/predictions/drain`, { method: 'POST', body: t, headers: { 'content-type': 'text/plain' } }));
      // Stopped while the upper stage has run one item and holds the other eight.
      await eventually(() => existsSync(log) && readFileSync(log, 'utf8').trim().split('\n').length >= 1);
      const closing = server.close();
      const answers = await Promise.all(pending);
      answers.forEach((a, i) => assert.deepEqual([a.status, a.body], [200, texts[i].toUpperCase().split(',')]));
      await closing;
    } finally {
      await server.close().catch(() => undefined);
    }
  });
});
