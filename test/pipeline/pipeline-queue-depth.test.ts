// A pipeline's requests in flight show in mms_queue_depth under its own name (docs/pipelines.md,
// Metrics), beside each stage's items under `<name>#<stage>`.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { metricValue } from '../helpers/metrics.js';
import { writeHeldPipeline } from '../helpers/pipelines.js';
import { eventually, request, startTestServer, type TestServer } from '../helpers/server.js';

const ECHO = `export function handle(batch) { return batch.map((i) => ({ body: i.params.body.value, contentType: 'text/plain' })); }`;

describe('a pipeline in the queue-depth gauge', () => {
  let server: TestServer;
  let release: string;
  before(async () => {
    server = await startTestServer();
    release = writeHeldPipeline(server.store, 'held', { name: 'echo', source: ECHO }, { batchSize: 4, maxBatchDelay: 0 });
    const r = await request(`${server.managementUrl}/models?url=held&initial_workers=1&synchronous=true`, { method: 'POST' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
  });
  after(() => server?.close());

  it("counts the requests in flight under the pipeline's name, and none once they are answered", { timeout: 60_000 }, async () => {
    const depth = () => metricValue(server.metricsUrl, 'mms_queue_depth', { model: 'held' });
    const calls = [1, 2, 3].map((k) => request(`${server.inferenceUrl}/predictions/held`, { method: 'POST', body: `r${k}`, headers: { 'content-type': 'text/plain' } }));
    await eventually(async () => (await depth()) === 3);
    writeFileSync(release, '');
    const answers = await Promise.all(calls);
    assert.deepEqual(answers.map((a) => a.status), [200, 200, 200]);
    await eventually(async () => (await depth()) === 0);
  });
});
