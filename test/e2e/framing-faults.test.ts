// A request that cannot be turned into a frame fails alone: a multipart part without a name (busboy
// gives it no name, and a frame field must be a string) once left the front's connection to the
// worker out of step, so every later request to the model failed and DELETE waited for the response
// timeout. Sent on every inference route that takes a body, through the fronts and through the
// SageMaker entrypoint (the controller serving inference itself).
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { writeHandlerModelDir } from '../helpers/fixtures.js';
import { writeModelDir } from '../helpers/onnx-models.js';
import { postJson, request, startTestServer, v2Request, type TestServer } from '../helpers/server.js';
import { serveEntrypoint, writeBareOnnx } from '../helpers/sagemaker-contract.js';

const NAMELESS_PART = {
  method: 'POST',
  headers: { 'content-type': 'multipart/form-data; boundary=XX' },
  body: '--XX\r\nContent-Disposition: form-data\r\n\r\nabc\r\n--XX--\r\n',
};
/** The same fault as a file part: a filename but no name. */
const NAMELESS_FILE = { ...NAMELESS_PART, body: '--XX\r\nContent-Disposition: form-data; filename="a.bin"\r\n\r\nabc\r\n--XX--\r\n' };

const TIMEOUT = { timeout: 120_000 };

/** The request refused alone: a JSON 400 naming the part, then 100 good requests all answered. */
async function expectFailsAlone(url: string, good: () => Promise<{ status: number; body: any }>): Promise<void> {
  for (const bad of [NAMELESS_PART, NAMELESS_FILE]) {
    const r = await request(url, bad);
    assert.equal(r.status, 400, `${url}: ${JSON.stringify(r.body)}`);
    // The Open Inference Protocol's routes answer its own error shape, `{"error"}`.
    if (url.includes('/v2/')) assert.match(r.body.error, /part without a name/);
    else {
      assert.equal(r.body.errorCode, 'BAD_REQUEST', JSON.stringify(r.body));
      assert.match(r.body.message, /part without a name/);
    }
  }
  const answers = await Promise.all(Array.from({ length: 100 }, good));
  assert.deepEqual(answers.map((a) => a.status), answers.map(() => 200), `${url}: ${JSON.stringify(answers.find((a) => a.status !== 200)?.body)}`);
}

/** DELETE answers within seconds (it waits for what the fronts hold for the model: nothing). */
async function expectQuickDelete(management: string, name: string): Promise<void> {
  const started = performance.now();
  const r = await request(`${management}/models/${name}`, { method: 'DELETE' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.ok(performance.now() - started < 10_000, `DELETE took ${Math.round(performance.now() - started)} ms`);
}

describe('a request that cannot be framed fails alone (fronts)', TIMEOUT, () => {
  let server: TestServer;
  before(async () => {
    // A long response timeout, as by default: a connection left out of step would hold DELETE that long.
    server = await startTestServer({ number_of_netty_threads: '1', default_response_timeout: '600' });
    writeModelDir(path.join(server.store, 'scale'), { name: 'scale' });
    const r = await request(`${server.managementUrl}/models?url=scale&model_name=m&initial_workers=1&synchronous=true`, { method: 'POST' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
  });
  after(() => server?.close());

  const good = (url: string) => () => postJson(url, v2Request('x', [1, 4], [1, 2, 3, 4]));

  for (const route of ['/predictions/m', '/v2/models/m/infer', '/models/m/invoke', '/invocations?model_name=m']) {
    it(`${route}: 400, then the next 100 requests succeed`, async () => {
      await expectFailsAlone(`${server.inferenceUrl}${route}`, good(`${server.inferenceUrl}${route.startsWith('/invocations') ? route : '/predictions/m'}`));
    });
  }

  it('a handler reply that cannot be framed fails only its request (worker side)', async () => {
    writeHandlerModelDir(path.join(server.store, 'bad'), 'bad', 'bad-reply.mjs');
    const r = await request(`${server.managementUrl}/models?url=bad&initial_workers=1&synchronous=true`, { method: 'POST' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const say = (text: string) => request(`${server.inferenceUrl}/predictions/bad`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: text });
    for (const text of ['status', 'status-float', 'content-type', 'reason', 'no-body']) {
      const bad = await say(text);
      assert.ok(bad.status >= 500 && bad.status < 600, `${text}: ${bad.status} ${JSON.stringify(bad.body)}`);
      assert.equal(typeof bad.body.errorCode, 'string', JSON.stringify(bad.body));
      const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => say(`ok-${i}`)));
      assert.deepEqual(answers.map((a) => a.body), answers.map((_, i) => `ok-${i}`), `after ${text}`);
    }
    await expectQuickDelete(server.managementUrl, 'bad');
  });

  it('the model unregisters within seconds afterwards', async () => {
    await request(`${server.inferenceUrl}/predictions/m`, NAMELESS_PART);
    await expectQuickDelete(server.managementUrl, 'm');
  });
});

describe('a request that cannot be framed fails alone (SageMaker entrypoint)', TIMEOUT, () => {
  let s: Awaited<ReturnType<typeof serveEntrypoint>>;
  before(async () => {
    s = await serveEntrypoint({});
    writeBareOnnx(s.target.hostDir('m'));
    const r = await postJson(`${s.target.management}/models`, { model_name: 'm', url: s.target.modelUrl('m') });
    assert.equal(r.status, 200, JSON.stringify(r.body));
  });
  after(async () => {
    await s?.proc.stop();
    if (s) rmSync(s.root, { recursive: true, force: true });
  });

  it('invoke: 400, the next 100 invokes succeed, DELETE is quick and SIGTERM ends the process', async () => {
    const url = s.target.inference;
    const invoke = () => postJson(`${url}/models/m/invoke`, v2Request('x', [1, 4], [1, 2, 3, 4]));
    await expectFailsAlone(`${url}/models/m/invoke`, invoke);
    await expectQuickDelete(url, 'm');
    s.proc.child.kill('SIGTERM');
    assert.deepEqual(await s.proc.exited, { code: 0, signal: null });
  });
});
