// Representative failures carry their catalogue code (`errorCode`, frontend/errors.ts) beside MMS's
// `{code, type, message}`: the front's own refusals, the worker router's, and a handler's errors
// that the worker reports as status + type + message.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CATALOGUE, type ErrorCode } from '../../frontend/errors.js';
import { FIXTURES, writeHandlerModelDir } from '../helpers/fixtures.js';
import { metricValue } from '../helpers/metrics.js';
import { eventually, request, startTestServer, type JsonResponse, type TestServer } from '../helpers/server.js';

describe('error codes', () => {
  let server: TestServer;
  let dir: string;
  let keys: { management: { key: string }; inference: { key: string } };
  const auth = (api: 'management' | 'inference') => ({ authorization: `Bearer ${keys[api].key}` });
  const predict = (model: string, body: string) =>
    request(`${server.inferenceUrl}/predictions/${model}`, { method: 'POST', body, headers: { 'content-type': 'text/plain', ...auth('inference') } });

  const onceDepth = () => metricValue(server.metricsUrl, 'mms_queue_depth', { model: 'once' });

  const expectCode = (r: JsonResponse, errorCode: ErrorCode, status = CATALOGUE[errorCode].status, type: string = CATALOGUE[errorCode].type) => {
    assert.equal(r.status, status, JSON.stringify(r.body));
    assert.match(r.headers.get('content-type') ?? '', /application\/json/);
    assert.deepEqual(Object.keys(r.body), ['code', 'type', 'message', 'errorCode']);
    assert.equal(r.body.code, status);
    assert.equal(r.body.type, type);
    assert.equal(r.body.errorCode, errorCode);
    assert.equal(r.headers.get('connection'), 'close');
  };

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'mms-codes-'));
    const keyFile = path.join(dir, 'key_file.json');
    server = await startTestServer({ enable_token_auth: 'true', key_file: keyFile, max_request_size: '1000', job_queue_size: '1' });
    keys = JSON.parse(readFileSync(keyFile, 'utf8'));
    writeHandlerModelDir(path.join(server.store, 'echo'), 'echo');
    // The same handler without the retry of a dead worker's requests.
    const once = path.join(server.store, 'once');
    mkdirSync(path.join(once, 'MAR-INF'), { recursive: true });
    copyFileSync(path.join(FIXTURES, 'handlers', 'echo.mjs'), path.join(once, 'echo.mjs'));
    const manifest = { runtime: 'node', model: { modelName: 'once', handler: 'echo.mjs', modelVersion: '1.0', retryOnWorkerDeath: false } };
    writeFileSync(path.join(once, 'MAR-INF', 'MANIFEST.json'), JSON.stringify(manifest));
    for (const [url, name, workers] of [['echo', 'echo', 1], ['once', 'once', 1], ['echo', 'idle', 0]]) {
      const r = await request(`${server.managementUrl}/models?url=${url}&model_name=${name}&initial_workers=${workers}&synchronous=true`, { method: 'POST', headers: auth('management') });
      assert.equal(r.status, 200, JSON.stringify(r.body));
    }
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the front: UNAUTHORIZED, MODEL_NOT_FOUND, RESOURCE_NOT_FOUND, PAYLOAD_TOO_LARGE', async () => {
    const none = await request(`${server.inferenceUrl}/predictions/echo`, { method: 'POST', body: 'x' });
    expectCode(none, 'UNAUTHORIZED');
    assert.equal(none.headers.get('www-authenticate'), 'Bearer');
    expectCode(await request(`${server.managementUrl}/models`), 'UNAUTHORIZED');
    expectCode(await predict('nope', 'x'), 'MODEL_NOT_FOUND');
    expectCode(await request(`${server.managementUrl}/models/nope`, { headers: auth('management') }), 'MODEL_NOT_FOUND');
    expectCode(await request(`${server.inferenceUrl}/nothing/here`, { headers: auth('inference') }), 'RESOURCE_NOT_FOUND');
    const big = await predict('echo', 'a'.repeat(5000));
    expectCode(big, 'PAYLOAD_TOO_LARGE');
    assert.match(big.body.message, /max_request_size/);
  });

  it('HANDLER_ERROR: a thrown error, a batch refused with 4xx, an item failed alone', async () => {
    const threw = await predict('echo', 'throw');
    expectCode(threw, 'HANDLER_ERROR');
    assert.equal(threw.body.message, 'handler threw on purpose');
    const batch = await predict('echo', 'throw:422');
    expectCode(batch, 'HANDLER_ERROR', 422, 'BadRequestException');
    assert.equal(batch.body.message, 'handler refused the batch on purpose');
    const item = await predict('echo', 'fail:413');
    expectCode(item, 'HANDLER_ERROR', 413, 'RequestEntityTooLargeException');
    assert.equal(item.body.message, 'handler refused the item on purpose');
    assert.equal((await predict('echo', 'fine')).status, 200);
  });

  it('NO_WORKER for a model without workers, QUEUE_FULL past the admission limit', async () => {
    const idle = await predict('idle', 'x');
    expectCode(idle, 'NO_WORKER');
    assert.equal(idle.headers.get('retry-after'), '1');
    // job_queue_size 1 + one worker × 2 × batch size 1: three requests are admitted, the fourth is not.
    // They are held until the file exists (not for a time that the fourth request might outlast).
    const release = path.join(dir, 'release-held');
    const held = ['a', 'b', 'c'].map(() => predict('once', `wait:${release}`));
    try {
      // The three are admitted once the front counts them (the queue-depth gauge), not after a guess of time.
      await eventually(async () => (await onceDepth()) === 3);
      const full = await predict('once', 'x');
      expectCode(full, 'QUEUE_FULL');
      assert.match(full.body.message, /No worker is available to serve request for model: once/);
      assert.equal(full.headers.get('retry-after'), '1');
    } finally {
      writeFileSync(release, '');
    }
    for (const r of await Promise.all(held)) assert.equal(r.status, 200);
  });

  it('WORKER_DIED when the worker is killed and retry is off', async () => {
    const describeOnce = async () => (await request(`${server.managementUrl}/models/once`, { headers: auth('management') })).body.workers as Array<{ pid: number; status: string }>;
    const worker = await eventually(async () => (await describeOnce()).find((w) => w.status === 'READY'));
    const pending = predict('once', 'sleep:60000');
    // Kill it once the request is in the worker: the front counts it admitted in the same step it
    // writes it to the worker's socket (a kill before that would leave it for the replacement).
    await eventually(async () => (await onceDepth()) === 1);
    process.kill(worker.pid, 'SIGKILL');
    const died = await pending;
    expectCode(died, 'WORKER_DIED');
    // The cause follows when the controller knows it already (test/e2e/crash-causes.test.ts checks it).
    assert.match(died.body.message, /^Worker died while serving the request for model: once(: worker process exited \(signal SIGKILL\))?\.$/);
  });
});
