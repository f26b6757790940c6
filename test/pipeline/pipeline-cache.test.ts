// A pipeline with the response cache (docs/pipelines.md, Limits): a repeated request is answered from
// the cache as a whole, no stage runs it; another input runs the stages.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { metricValue } from '../helpers/metrics.js';
import { postJson, request, startTestServer, v2Request, type TestServer } from '../helpers/server.js';
import { writeChain } from '../helpers/pipelines.js';

describe('a pipeline with the response cache', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
    writeChain(path.join(server.store, 'chain'));
    const r = await request(`${server.managementUrl}/models?url=chain&initial_workers=1&synchronous=true&response_cache=true`, { method: 'POST' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
  });
  after(() => server?.close());

  it('answers a repeated request from the cache without running a stage', { timeout: 60_000 }, async () => {
    const batches = () => metricValue(server.metricsUrl, 'mms_batch_size_count', { model: 'chain#double' });
    const predict = (data: number[]) => postJson(`${server.inferenceUrl}/predictions/chain`, v2Request('x', [1, 4], data));
    const first = await predict([1, 2, 3, 4]);
    assert.equal(first.status, 200, JSON.stringify(first.body));
    const ran = await batches();
    const again = await predict([1, 2, 3, 4]);
    assert.deepEqual(again.body.outputs, first.body.outputs);
    assert.equal(await metricValue(server.metricsUrl, 'mms_cache_hits_total', { model: 'chain' }), 1);
    assert.equal(await batches(), ran, 'no stage ran the repeated request');
    const other = await predict([2, 2, 2, 2]);
    assert.deepEqual(other.body.outputs[0].data, [12, 12, 12, 12]);
    assert.equal(await batches(), ran + 1);
  });
});
