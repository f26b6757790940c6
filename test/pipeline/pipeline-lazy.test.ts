// A pipeline that loads on its first request and goes idle (docs/pipelines.md, Limits): no stage has a
// worker until a request comes; each stage then loads on its first item; past model_idle_timeout the
// stages go back to none, and the next request loads them again.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { eventually, postJson, request, startTestServer, v2Request, type TestServer } from '../helpers/server.js';
import { writeChain } from '../helpers/pipelines.js';

describe('a pipeline loaded on demand', () => {
  let server: TestServer;
  const stageWorkers = async (name: string) =>
    ((await request(`${server.managementUrl}/models/${name}`)).body.stages as Array<{ workers: unknown[] }>).map((s) => s.workers.length);
  const predict = (name: string) => postJson(`${server.inferenceUrl}/predictions/${name}`, v2Request('x', [1, 4], [1, 2, 3, 4]));

  before(async () => {
    server = await startTestServer({ autoscale_interval_ms: '100', autoscale_cooldown_ms: '100' });
    writeChain(path.join(server.store, 'chain'));
  });
  after(() => server?.close());

  it('starts no stage worker at registration; the first request loads every stage and is answered', { timeout: 60_000 }, async () => {
    const r = await request(`${server.managementUrl}/models?url=chain&model_name=lazy&initial_workers=1&load_on_first_request=true`, { method: 'POST' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.match(r.body.status, /loads on its first request/);
    assert.deepEqual(await stageWorkers('lazy'), [0, 0]);
    const answer = await predict('lazy');
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    assert.deepEqual(answer.body.outputs[0].data, [6, 12, 18, 24]);
    assert.deepEqual(await stageWorkers('lazy'), [1, 1]);
  });

  it('past its idle timeout every stage goes to no worker, and the next request loads them again', { timeout: 60_000 }, async () => {
    const r = await request(`${server.managementUrl}/models?url=chain&model_name=brief&initial_workers=1&idle_timeout_ms=1000&synchronous=true`, { method: 'POST' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(await stageWorkers('brief'), [1, 1]);
    await eventually(async () => (await stageWorkers('brief')).every((n) => n === 0), 20_000);
    const again = await predict('brief');
    assert.equal(again.status, 200, JSON.stringify(again.body));
    assert.deepEqual(again.body.outputs[0].data, [6, 12, 18, 24]);
  });
});
