// A request's stages hand on at most MAX_REQUEST_ITEMS items in all (docs/pipelines.md, Limits): a
// fan-out past it fails that request with 500 RESPONSE_TOO_LARGE before its items are read, and the
// front serves on (a fan-out of a million items used to exhaust the front's heap).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { MAX_REQUEST_ITEMS } from '../../protocol/pipeline-items.js';
import { writePipeline } from '../helpers/pipelines.js';
import { request, startTestServer, type TestServer } from '../helpers/server.js';

// Each input `n` (the body, then the part `n`) fans out to n items, each carrying n on.
const FAN = `export function handle(batch) {
  return batch.map((i) => { const n = Number((i.params.n ?? i.params.body).value.toString()); return { items: Array.from({ length: n }, () => ({ n: String(n) })) }; });
}`;
const SINK = `export function handle(batch) { return batch.map(() => 1); }`;

describe("a pipeline request's fan-out limit", () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
    writePipeline(
      path.join(server.store, 'fan'),
      { modelName: 'fan', stages: [{ name: 'one', handler: 'fan.mjs' }, { name: 'two', handler: 'fan.mjs', batchSize: 64 }, { name: 'sink', handler: 'sink.mjs', batchSize: 64 }] },
      { 'fan.mjs': FAN, 'sink.mjs': SINK },
      'node',
    );
    const r = await request(`${server.managementUrl}/models?url=fan&initial_workers=1&synchronous=true`, { method: 'POST' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
  });
  after(() => server?.close());

  const post = (n: number) => request(`${server.inferenceUrl}/predictions/fan`, { method: 'POST', body: String(n), headers: { 'content-type': 'text/plain' } });

  it('fails a request whose one stage fans out past it, or whose stages do together, and serves on', { timeout: 60_000 }, async () => {
    const one = await post(MAX_REQUEST_ITEMS + 1);
    assert.deepEqual([one.status, one.body.errorCode], [500, 'RESPONSE_TOO_LARGE'], JSON.stringify(one.body));
    assert.match(one.body.message, /at most 10000 items/);
    // 100 items, then 100 each: 10,100 in all.
    const together = await post(100);
    assert.deepEqual([together.status, together.body.errorCode], [500, 'RESPONSE_TOO_LARGE'], JSON.stringify(together.body));
    const within = await post(30); // 30 + 900 items
    assert.equal(within.status, 200, JSON.stringify(within.body));
    assert.equal(within.body.length, 900);
  });
});
