// Lazy loading (docs/api.md, Register a model; docs/configuration.md, Autoscaling, crash loops and
// lazy loading): a load_on_first_request model starts with no worker and loads on its first request,
// which waits for it; under a small model_memory_budget the least recently used idle model is
// unloaded (scaled to 0, still registered) to make room, and loads again on its next request; a
// model's idle timeout scales it to 0.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WORKER_BASE_BYTES } from '../../frontend/control/registry/memory-budget.js';
import { writeHandlerModelDir } from '../helpers/fixtures.js';
import { metricValue } from '../helpers/metrics.js';
import { childPids, eventually, request, startTestServer, type TestServer } from '../helpers/server.js';

describe('lazy loading', () => {
  let server: TestServer;
  const describeModel = async (name: string) => (await request(`${server.managementUrl}/models/${name}`)).body;
  const predict = (name: string, body = 'hi') =>
    request(`${server.inferenceUrl}/predictions/${name}`, { method: 'POST', body, headers: { 'content-type': 'text/plain' } });

  before(async () => {
    // Room for one echo worker's first estimate (WORKER_BASE_BYTES and its files), not for two workers.
    server = await startTestServer({
      model_memory_budget: String(WORKER_BASE_BYTES + 16 * 2 ** 20), load_on_first_request: 'true', autoscale_interval_ms: '100',
      autoscale_idle_ms: '1500', autoscale_cooldown_ms: '100',
    });
    for (const name of ['first', 'second', 'brief']) writeHandlerModelDir(path.join(server.store, name), name);
    for (const name of ['first', 'second']) {
      const r = await request(`${server.managementUrl}/models?url=${name}&initial_workers=1`, { method: 'POST' });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.match(r.body.status, /loads on its first request/);
    }
  });
  after(() => server.close());

  it('a registered model has no worker until its first request, which waits for the load', async () => {
    const d = await describeModel('first');
    assert.equal(d.workers.length, 0);
    assert.equal(d.loadOnFirstRequest, true);
    assert.equal(d.targetWorkers, 0);
    assert.equal((await request(`${server.inferenceUrl}/ping`)).body.status, 'Healthy');
    const r = await predict('first');
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const loaded = await describeModel('first');
    assert.equal(loaded.workers.length, 1);
    assert.equal(loaded.workers[0].pid, r.body.pid);
    assert.ok(childPids().includes(r.body.pid));
  });

  it('under the budget, loading another evicts the least recently used idle one; it loads again on demand', async () => {
    const firstPid = (await describeModel('first')).workers[0].pid;
    const r = await predict('second');
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const first = await describeModel('first');
    assert.equal(first.workers.length, 0, 'first was unloaded for second');
    assert.equal(first.targetWorkers, 0);
    await eventually(() => !childPids().includes(firstPid));
    assert.ok((await metricValue(server.metricsUrl, 'mms_model_evictions_total', { model: 'first' })) >= 1);
    // Still registered: its next request loads it again, evicting second.
    const again = await predict('first');
    assert.equal(again.status, 200, JSON.stringify(again.body));
    assert.notEqual(again.body.pid, firstPid);
    assert.equal((await describeModel('second')).workers.length, 0);
  });

  it('a model idle past its idle timeout is scaled to 0 and loads again on its next request', async () => {
    const r = await request(`${server.managementUrl}/models?url=brief&initial_workers=1&load_on_first_request=false&idle_timeout_ms=1000&synchronous=true`, { method: 'POST' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const d = await describeModel('brief');
    assert.equal(d.idleTimeoutMs, 1000);
    await eventually(async () => (await describeModel('brief')).workers.length === 0);
    assert.equal((await predict('brief')).status, 200);
  });

  it('a model autoscaled to min_worker 0 when idle loads one worker again on its next request', async () => {
    const r = await request(`${server.managementUrl}/models?url=brief&model_name=zero&initial_workers=1&load_on_first_request=false&synchronous=true`, { method: 'POST' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal((await request(`${server.managementUrl}/models/zero?min_worker=0&max_worker=1`, { method: 'PUT' })).status, 202);
    // autoscale_idle_ms is 1500 here: the idle model goes to 0, then a request brings one back.
    await eventually(async () => (await describeModel('zero')).workers.length === 0);
    const again = await predict('zero');
    assert.equal(again.status, 200, JSON.stringify(again.body));
    assert.equal((await describeModel('zero')).workers.length, 1);
  });

  it('refuses a bad idle timeout with 400', async () => {
    const r = await request(`${server.managementUrl}/models?url=brief&model_name=bad&idle_timeout_ms=-1`, { method: 'POST' });
    assert.equal(r.status, 400);
    assert.match(r.body.message, /idle_timeout_ms/);
  });
});
