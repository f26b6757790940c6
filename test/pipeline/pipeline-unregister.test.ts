// A pipeline unregistered while a request is in one of its stages answers that request through every
// stage, as a model unregistered mid-request does (docs/pipelines.md, Guarantees): the fronts keep a
// removed pipeline's stages until its requests in flight are answered.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { metricValue } from '../helpers/metrics.js';
import { writeHeldPipeline } from '../helpers/pipelines.js';
import { eventually, request, startTestServer, type TestServer } from '../helpers/server.js';

const UPPER = `export function handle(batch) { return batch.map((i) => ({ body: i.params.body.value.toString().toUpperCase(), contentType: 'text/plain' })); }`;

describe('a pipeline unregistered mid-request', () => {
  let server: TestServer;
  let release: string;
  before(async () => {
    server = await startTestServer();
    release = writeHeldPipeline(server.store, 'held', { name: 'upper', source: UPPER });
    const r = await request(`${server.managementUrl}/models?url=held&initial_workers=1&synchronous=true`, { method: 'POST' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
  });
  after(() => server?.close());

  it('answers the request in its first stage through the last, then is gone', { timeout: 60_000 }, async () => {
    const call = request(`${server.inferenceUrl}/predictions/held`, { method: 'POST', body: 'hi', headers: { 'content-type': 'text/plain' } });
    await eventually(async () => (await metricValue(server.metricsUrl, 'mms_queue_depth', { model: 'held#hold' })) === 1);
    const unregister = request(`${server.managementUrl}/models/held`, { method: 'DELETE' });
    // Until the fronts serve the table without the pipeline a new request is held too (given up on
    // after a second: its client gone, it leaves every stage); then it is refused as unknown.
    const unknown = () =>
      fetch(`${server.inferenceUrl}/predictions/held`, { method: 'POST', body: 'late', headers: { 'content-type': 'text/plain' }, signal: AbortSignal.timeout(1000) }).then(
        (r) => r.status === 404,
        () => false,
      );
    await eventually(unknown);
    writeFileSync(release, '');
    const answer = await call;
    assert.deepEqual([answer.status, answer.body], [200, 'HI'], 'the request held in the first stage went on to the second');
    assert.equal((await unregister).status, 200);
    assert.equal((await request(`${server.managementUrl}/models/held`)).status, 404);
  });
});
