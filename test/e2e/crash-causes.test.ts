// Crash causes (docs/api.md, Describe model): describe names each worker's restarts, how its
// predecessor ended and its stderr; a request whose worker died names the model and the cause; a crash
// loop stops after crash_loop_max_restarts and marks the model failed (describe and ping show it).
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync, copyFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FIXTURES } from '../helpers/fixtures.js';
import { eventually, isAlive, request, startTestServer, type TestServer } from '../helpers/server.js';

/** A model directory for a JS handler fixture; `retry`: requests of a dead worker are sent again. */
function handlerDir(dir: string, name: string, file: string, retry: boolean): void {
  mkdirSync(path.join(dir, 'MAR-INF'), { recursive: true });
  copyFileSync(path.join(FIXTURES, 'handlers', file), path.join(dir, file));
  const manifest = { runtime: 'node', model: { modelName: name, handler: file, modelVersion: '1.0', retryOnWorkerDeath: retry } };
  writeFileSync(path.join(dir, 'MAR-INF', 'MANIFEST.json'), JSON.stringify(manifest));
}

describe('crash causes', () => {
  let server: TestServer;
  const describeModel = async (name: string) => (await request(`${server.managementUrl}/models/${name}`)).body;

  before(async () => {
    server = await startTestServer({ crash_loop_max_restarts: '2' });
    handlerDir(path.join(server.store, 'victim'), 'victim', 'echo.mjs', false);
    handlerDir(path.join(server.store, 'loop'), 'loop', 'crash-start.mjs', false);
    const r = await request(`${server.managementUrl}/models?url=victim&initial_workers=1&synchronous=true`, { method: 'POST' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
  });
  after(() => server.close());

  it('a SIGKILLed worker: its request names the model and the signal; describe shows the exit and a restart', async () => {
    const before = (await describeModel('victim')).workers[0];
    assert.equal(before.restarts, 0);
    const pending = request(`${server.inferenceUrl}/predictions/victim`, { method: 'POST', body: 'sleep:30000', headers: { 'content-type': 'text/plain' } });
    // Kill it once the request is in the worker (the front counts it in flight).
    await eventually(async () => (await request(`${server.metricsUrl}/metrics`)).body.match(/^mms_queue_depth\{model="victim"\} 1$/m));
    process.kill(before.pid, 'SIGKILL');
    const failed = await pending;
    assert.equal(failed.status, 503);
    assert.equal(failed.body.errorCode, 'WORKER_DIED');
    assert.match(failed.body.message, /model: victim: worker process exited \(signal SIGKILL/);
    const after = await eventually(async () => {
      const w = (await describeModel('victim')).workers[0];
      return w?.status === 'READY' && w.pid !== before.pid && w;
    });
    assert.equal(after.restarts, 1);
    assert.equal(after.lastExit.signal, 'SIGKILL');
    assert.equal(after.lastExit.code, null);
    assert.ok([false, 'unknown'].includes(after.lastExit.oomKilled), `oomKilled ${after.lastExit.oomKilled}`);
    assert.equal(after.lastExit.killedBy, undefined);
    assert.ok(Array.isArray(after.stderr));
    assert.ok(!isAlive(before.pid));
  });

  it('a crash loop stops after crash_loop_max_restarts and marks the model failed, with the cause and stderr', async () => {
    const r = await request(`${server.managementUrl}/models?url=loop&initial_workers=1&synchronous=false`, { method: 'POST' });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    const failed = await eventually(async () => {
      const d = await describeModel('loop');
      return d.status === 'Failed' && d;
    }, 30_000);
    assert.equal(failed.workers.length, 0);
    assert.equal(failed.lastExit.code, 4);
    // crash_loop_max_restarts=2: the first start and two restarts failed, then no more (docs/configuration.md).
    const metrics = await request(`${server.metricsUrl}/metrics`);
    assert.match(metrics.body, /^mms_worker_restarts_total\{model="loop"\} 2$/m);
    assert.ok(failed.lastExit.stderr.some((l: string) => l.includes('the model cannot load')), JSON.stringify(failed.lastExit));
    const ping = await request(`${server.inferenceUrl}/ping?detail=true`);
    assert.equal(ping.body.models.loop.status, 'Failed');
    const refused = await request(`${server.inferenceUrl}/predictions/loop`, { method: 'POST', body: 'x', headers: { 'content-type': 'text/plain' } });
    assert.equal(refused.status, 503);
    assert.equal(refused.body.errorCode, 'MODEL_UNAVAILABLE');
    assert.match(refused.body.message, /^Model loop cannot serve: .*crash_loop_max_restarts.*worker process exited \(code 4\)/);
    // No worker process is left trying.
    assert.equal((await describeModel('loop')).workers.length, 0);
    // Scaling it again is the operator's way to try once more: restarts begin again.
    const again = await request(`${server.managementUrl}/models/loop?min_worker=1&max_worker=1`, { method: 'PUT' });
    assert.equal(again.status, 202);
    assert.notEqual((await describeModel('loop')).status, 'Failed');
  });

  it('a model loaded on its first request that cannot load: the waiting request gets 503 with the reason', async () => {
    const r = await request(`${server.managementUrl}/models?url=loop&model_name=lazyloop&initial_workers=1&load_on_first_request=true`, { method: 'POST' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const refused = await request(`${server.inferenceUrl}/predictions/lazyloop`, { method: 'POST', body: 'x', headers: { 'content-type': 'text/plain' } });
    assert.equal(refused.status, 503);
    assert.equal(refused.body.errorCode, 'MODEL_UNAVAILABLE');
    assert.match(refused.body.message, /^Model lazyloop cannot serve: loading it on demand failed: /);
    const d = await describeModel('lazyloop');
    assert.equal(d.targetWorkers, 0);
    assert.equal(d.lastExit.code, 4);
  });
});
