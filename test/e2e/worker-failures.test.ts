// Workers that die, hang or throw: the affected request gets the spec's error, the worker is
// replaced, and other requests and models are unaffected.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { writeHandlerModelDir } from '../helpers/fixtures.js';
import { eventually, isAlive, request, startTestServer, type TestServer } from '../helpers/server.js';

describe('worker failures', () => {
  let server: TestServer;
  const echo = (model: string, body: string) => request(`${server.inferenceUrl}/predictions/${model}`, { method: 'POST', body, headers: { 'content-type': 'text/plain' } });
  const workers = async (model: string) => (await request(`${server.managementUrl}/models/${model}`)).body.workers as Array<{ id: string; pid: number; status: string }>;

  before(async () => {
    server = await startTestServer();
    writeHandlerModelDir(path.join(server.store, 'echo'), 'echo');
    // `slow`: 'hang' outlasts any response timeout; 5 s (not 1) so that a replacement's start, its
    // connection and its Load, on a loaded host, do not time out the request sent to it.
    for (const [name, extra] of [['echo', ''], ['slow', '&response_timeout=5']]) {
      const r = await request(`${server.managementUrl}/models?url=echo&model_name=${name}&initial_workers=1${extra}`, { method: 'POST' });
      assert.equal(r.status, 200, JSON.stringify(r.body));
    }
  });
  after(() => server.close());

  it('a custom JS handler answers, and a throwing one fails only that request', async () => {
    const ok = await echo('echo', 'hello');
    assert.equal(ok.status, 200);
    assert.equal(ok.body.echo, 'hello');
    const bad = await echo('echo', 'throw');
    assert.equal(bad.status, 500);
    assert.deepEqual(bad.body, { code: 500, type: 'InternalServerException', message: 'handler threw on purpose', errorCode: 'HANDLER_ERROR' });
    const again = await echo('echo', 'still fine');
    assert.equal(again.body.pid, ok.body.pid, 'the worker stayed up');
  });

  const ready = (model: string) => eventually(async () => (await workers(model)).find((w) => w.status === 'READY'));

  it('a request whose worker dies is retried once on another worker and answered', async () => {
    const before = await ready('echo');
    const marker = path.join(server.store, `crash-once-${Date.now()}`);
    const r = await echo('echo', `crash-once:${marker}`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.echo, `crash-once:${marker}`);
    assert.notEqual(r.body.pid, before.pid, 'answered by the replacement worker');
    await eventually(() => !isAlive(before.pid)); // gone once its parent has reaped it
  });

  it('a request that kills every worker it reaches gets 503 after one retry; the model recovers', async () => {
    const before = await ready('echo');
    const r = await echo('echo', 'crash');
    assert.equal(r.status, 503);
    assert.equal(r.body.type, 'ServiceUnavailableException');
    assert.match(r.body.message, /Worker died while serving the request/);
    // The front sees the retried request's worker die before the controller does: wait for a live one.
    const replacement = await eventually(async () => (await workers('echo')).find((w) => w.status === 'READY' && w.pid !== before.pid && isAlive(w.pid)));
    assert.ok(isAlive(replacement.pid));
    assert.equal((await echo('echo', 'back')).status, 200);
  });

  it('a worker killed from outside is restarted', async () => {
    const before = await ready('echo');
    process.kill(before.pid, 'SIGKILL');
    // The front sees the retried request's worker die before the controller does: wait for a live one.
    const replacement = await eventually(async () => (await workers('echo')).find((w) => w.status === 'READY' && w.pid !== before.pid && isAlive(w.pid)));
    assert.notEqual(replacement.id, before.id);
    assert.equal((await echo('echo', 'after kill')).body.echo, 'after kill');
  });

  it('a request past response_timeout gets 500 and the worker is replaced', async () => {
    const before = await ready('slow');
    const r = await echo('slow', 'hang');
    assert.equal(r.status, 500);
    assert.equal(r.body.message, 'Worker died.');
    await eventually(() => !isAlive(before.pid));
    await eventually(async () => (await workers('slow')).find((w) => w.status === 'READY' && w.pid !== before.pid));
    assert.equal((await echo('slow', 'quick')).status, 200);
    assert.equal((await echo('echo', 'other model')).status, 200);
  });
});
