// A batch that hangs past the response timeout fails its live request with WORKER_TIMEOUT, even when
// the oldest request of that batch was cancelled (its client gone) while the batch ran: the timeout
// is not pinned on the cancelled one, so the hanging request is not sent to a second worker to hang it too.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { metricValue } from '../helpers/metrics.js';
import { writePipeline } from '../helpers/pipelines.js';
import { eventually, request, startTestServer, type TestServer } from '../helpers/server.js';

// Logs each batch's words; holds "wait" until the file `go` exists; never answers a batch holding "hang".
const STALL = `import { appendFileSync, existsSync } from 'node:fs';
let ext;
export function initialize(ctx) { ext = ctx.manifest.model.extensions; }
export async function handle(batch) {
  const words = batch.map((i) => i.params.body.value.toString());
  while (words.includes('wait') && !existsSync(ext.go)) await new Promise((r) => setTimeout(r, 20));
  appendFileSync(ext.log, words.join(',') + '\\n');
  if (words.includes('hang')) return new Promise(() => undefined);
  return words;
}`;

describe('a stuck batch whose oldest request was cancelled', () => {
  let server: TestServer;
  let log: string;
  let go: string;
  before(async () => {
    server = await startTestServer();
    [log, go] = [path.join(server.store, 'batches.log'), path.join(server.store, 'go')];
    writePipeline(path.join(server.store, 'stall'), { modelName: 'stall', handler: 'stall.mjs', extensions: { log, go } }, { 'stall.mjs': STALL }, 'node');
    const r = await request(`${server.managementUrl}/models?url=stall&initial_workers=1&batch_size=2&max_batch_delay=10000&response_timeout=2&synchronous=true`, { method: 'POST' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
  });
  after(() => server?.close());

  it('times out the hanging request on its first worker, not on a second', { timeout: 60_000 }, async () => {
    const post = (body: string, signal?: AbortSignal) => request(`${server.inferenceUrl}/predictions/stall`, { method: 'POST', body, headers: { 'content-type': 'text/plain' }, signal });
    const depth = (n: number) => eventually(async () => (await metricValue(server.metricsUrl, 'mms_queue_depth', { model: 'stall' })) === n);
    const held = post('wait');
    await depth(1);
    // Behind the held batch, "a" then "hang" form the next batch, "a" its oldest request.
    const gone = new AbortController();
    const first = post('a', gone.signal).catch(() => undefined);
    await depth(2);
    const hung = post('hang');
    await depth(3);
    writeFileSync(go, '');
    assert.equal((await held).status, 200);
    const batches = () => readFileSync(log, 'utf8').trim().split('\n');
    await eventually(() => batches().includes('a,hang'));
    gone.abort(); // "a" is answered (its client gone) and stays with the stuck worker
    await first;
    const r = await hung;
    assert.deepEqual([r.status, r.body.errorCode], [500, 'WORKER_TIMEOUT'], JSON.stringify(r.body));
    assert.deepEqual(batches(), ['wait', 'a,hang'], 'the hanging request was not sent to another worker');
  });
});
