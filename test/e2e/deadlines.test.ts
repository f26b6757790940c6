// Deadlines and cancellation (docs/api.md, "Deadlines and cancellation"), through the real server: a
// request queued behind a held batch is never run when its client disconnects or its
// X-Request-Deadline-Ms passes (504); a malformed header is a 400. The ledger handler records every
// item it is called with, so "never run" is read from its file, not inferred.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { writeHandlerModelDir } from '../helpers/fixtures.js';
import { InferenceClient } from '../helpers/grpc-client.js';
import { writeModelDir } from '../helpers/onnx-models.js';
import { metricValue } from '../helpers/metrics.js';
import { eventually, request, startTestServer, type TestServer } from '../helpers/server.js';

describe('deadlines and cancellation', () => {
  let server: TestServer;
  let modelDir: string;
  let releases = 0;
  const releaseFiles: string[] = [];

  const post = (text: string, headers: Record<string, string> = {}) =>
    request(`${server.inferenceUrl}/predictions/ledger`, { method: 'POST', body: text, headers: { 'content-type': 'text/plain', ...headers } });
  const seen = (): string[] => {
    const file = path.join(modelDir, 'seen.log');
    return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
  };
  const depth = () => metricValue(server.metricsUrl, 'mms_queue_depth', { model: 'ledger' });
  const scaleDepth = () => metricValue(server.metricsUrl, 'mms_queue_depth', { model: 'scale' });

  /** A request that holds the model's only worker until `release()`, once the handler has it. */
  async function holdWorker(tag: string) {
    const file = path.join(server.store, `release-${++releases}`);
    releaseFiles.push(file);
    const text = `wait:${file}#${tag}`;
    const answer = post(text);
    await eventually(() => seen().includes(text));
    return { answer, release: () => writeFileSync(file, '') };
  }

  before(async () => {
    server = await startTestServer({ job_queue_size: '10' });
    assert.equal(server.frontPids().length, 1, 'one front: one connection per worker, so frames stay in order');
    modelDir = writeHandlerModelDir(path.join(server.store, 'ledger'), 'ledger', 'ledger.mjs');
    const r = await request(`${server.managementUrl}/models?url=ledger&initial_workers=1&batch_size=1`, { method: 'POST' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    writeModelDir(path.join(server.store, 'scale'), { name: 'scale' });
    const s = await request(`${server.managementUrl}/models?url=scale&initial_workers=1`, { method: 'POST' });
    assert.equal(s.status, 200, JSON.stringify(s.body));
  });
  after(async () => {
    for (const file of releaseFiles) writeFileSync(file, '');
    await server.close();
  });

  it('a client that disconnects while its request is queued: the request never reaches the handler', async () => {
    const busy = await holdWorker('busy-1');
    // Sent by hand so it can be cut off while the worker is still busy.
    const req = http.request(`${server.inferenceUrl}/predictions/ledger`, { method: 'POST', headers: { 'content-type': 'text/plain' } });
    req.on('error', () => undefined);
    req.end('gone#1');
    await eventually(async () => (await depth()) === 2); // admitted and queued behind the busy one
    req.destroy();
    await eventually(async () => (await depth()) === 1); // the front saw it go and cancelled it
    busy.release();
    assert.equal((await busy.answer).status, 200);
    // Sent after the cancel on the same connection: once it is answered, the cancel was handled.
    const next = await post('after#1');
    assert.equal(next.status, 200, JSON.stringify(next.body));
    assert.deepEqual(seen().filter((t) => t.endsWith('#1')), ['after#1']);
    assert.ok(!seen().includes('gone#1'), 'the disconnected request reached the handler');
  });

  it('a worker whose handler blocks its event loop still drops the request of a client that left', async () => {
    const file = path.join(server.store, `release-${++releases}`);
    releaseFiles.push(file);
    const text = `block:${file}#4`;
    const busy = post(text);
    await eventually(() => seen().includes(text));
    // The worker reads nothing now: this request and its cancel wait in its socket together.
    const req = http.request(`${server.inferenceUrl}/predictions/ledger`, { method: 'POST', headers: { 'content-type': 'text/plain' } });
    req.on('error', () => undefined);
    req.end('gone#4');
    await eventually(async () => (await depth()) === 2);
    req.destroy();
    await eventually(async () => (await depth()) === 1);
    writeFileSync(file, '');
    assert.equal((await busy).status, 200);
    assert.equal((await post('after#4')).status, 200);
    assert.ok(!seen().includes('gone#4'), 'the disconnected request reached the handler');
  });

  it('a request past its deadline while queued gets 504 and never runs', async () => {
    const busy = await holdWorker('busy-2');
    const late = await post('late#2', { 'X-Request-Deadline-Ms': '50' });
    assert.equal(late.status, 504, JSON.stringify(late.body));
    assert.equal(late.body.errorCode, 'DEADLINE_EXCEEDED');
    assert.equal(late.body.type, 'DeadlineExceededException');
    assert.match(late.body.message, /deadline/);
    busy.release();
    assert.equal((await busy.answer).status, 200);
    const next = await post('after#2');
    assert.equal(next.status, 200);
    assert.ok(!seen().includes('late#2'), 'the expired request reached the handler');
  });

  it('a request whose deadline passes while it runs gets 504; the worker serves on', async () => {
    const file = path.join(server.store, `release-${++releases}`);
    releaseFiles.push(file);
    const slow = await post(`wait:${file}#3`, { 'x-request-deadline-ms': '50' });
    assert.equal(slow.status, 504, JSON.stringify(slow.body));
    writeFileSync(file, '');
    const next = await post('after#3', { 'x-request-deadline-ms': '60000' });
    assert.equal(next.status, 200, JSON.stringify(next.body));
    assert.equal(next.body.text, 'after#3');
  });

  it("a client's own x-mms-deadline is replaced: it cannot expire a request", async () => {
    const r = await post('forged#5', { 'x-mms-deadline': '1' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.ok(seen().includes('forged#5'));
  });

  it('a malformed deadline header is a 400 naming it, and nothing is queued', async () => {
    for (const value of ['abc', '0', '-5', '1.5', '99999999999', '']) {
      const r = await post(`bad#${value}`, { 'X-Request-Deadline-Ms': value });
      assert.equal(r.status, 400, `${JSON.stringify(value)}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.errorCode, 'BAD_REQUEST');
      assert.match(r.body.message, /X-Request-Deadline-Ms/);
    }
    assert.ok(!seen().some((t) => t.startsWith('bad#')));
  });

  it('gRPC: a call past its deadline ends DEADLINE_EXCEEDED, and its request never runs', async () => {
    const client = new InferenceClient(server.grpcUrl);
    const infer = { model_name: 'scale', inputs: [{ name: 'x', datatype: 'FP32', shape: ['1', '4'] }], raw_input_contents: [Buffer.from(new Float32Array([1, 2, 3, 4]).buffer)] };
    const batches = () => metricValue(server.metricsUrl, 'mms_batch_size_count', { model: 'scale' });
    // The front's answers that were not a reply: 504 past its own deadline, 499 once the client left.
    const dropped = async () =>
      (await metricValue(server.metricsUrl, 'mms_requests_total', { model: 'scale', status: '504' })) +
      (await metricValue(server.metricsUrl, 'mms_requests_total', { model: 'scale', status: '499' }));
    try {
      await client.ok('ModelInfer', infer);
      const before = await batches();
      const droppedBefore = await dropped();
      // A stopped worker holds the request unread in its socket until the deadline has passed.
      const pid = (await request(`${server.managementUrl}/models/scale`)).body.workers[0].pid as number;
      process.kill(pid, 'SIGSTOP');
      let late;
      try {
        late = await client.call('ModelInfer', infer, { deadline: Date.now() + 200 });
        // The client's deadline comes before the front's (which counts from receipt): resume the worker
        // only once the front has answered the call, which it does in the step that writes the Cancel
        // behind the predict frame; else the worker may read the frame while its deadline is still ahead.
        await eventually(async () => (await dropped()) === droppedBefore + 1 && (await scaleDepth()) === 0);
      } finally {
        process.kill(pid, 'SIGCONT');
      }
      assert.equal(late.ok, false);
      assert.equal(!late.ok && late.error.code, 4, 'DEADLINE_EXCEEDED');
      // Sent after it on the same connection: once answered, the late one has been dropped or run.
      await client.ok('ModelInfer', infer);
      assert.equal(await batches(), before + 1, 'only the second request ran a batch');
    } finally {
      client.close();
    }
  });
});

describe('model load timeout', () => {
  let server: TestServer;
  before(async () => {
    // The load is bounded apart from the process start and the (long) inference timeout.
    server = await startTestServer({ model_load_timeout: '1', worker_start_timeout: '60', default_response_timeout_seconds: '3600' });
  });
  after(async () => {
    writeFileSync(path.join(server.store, 'slow', 'release'), '');
    await server.close();
  });

  it('a model that does not load within model_load_timeout fails its start, naming the key', async () => {
    const dir = writeHandlerModelDir(path.join(server.store, 'slow'), 'slow', 'gate.mjs');
    writeFileSync(path.join(dir, 'hold'), ''); // gate.mjs: initialize waits for `release`
    const r = await request(`${server.managementUrl}/models?url=slow&initial_workers=1`, { method: 'POST' });
    assert.equal(r.status, 500, JSON.stringify(r.body));
    assert.equal(r.body.errorCode, 'WORKER_START_FAILED');
    assert.match(r.body.message, /model not loaded within model_load_timeout \(1 s\)/);
    assert.equal((await request(`${server.managementUrl}/models/slow`)).status, 404, 'a failed registration is undone');
  });
});
