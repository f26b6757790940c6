// The response cache (docs/api.md, "Response cache"), through the real server: with response_cache=true
// a repeated input is answered by the front without reaching the handler (the ledger handler records
// every item it gets), any difference in body, content type or query reaches it, hits and misses are
// in /metrics, the size bound holds, a model registered again with another version starts empty, and
// bad cache parameters are 400s. Off by default.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { writeHandlerModelDir } from '../helpers/fixtures.js';
import { metricValue } from '../helpers/metrics.js';
import { request, startTestServer, type TestServer } from '../helpers/server.js';

describe('response cache', () => {
  let server: TestServer;

  const register = async (query: string, status = 200) => {
    const r = await request(`${server.managementUrl}/models?${query}`, { method: 'POST' });
    assert.equal(r.status, status, JSON.stringify(r.body));
    return r;
  };
  const post = (model: string, text: string, o: { query?: string; type?: string } = {}) =>
    request(`${server.inferenceUrl}/predictions/${model}${o.query ? `?${o.query}` : ''}`, {
      method: 'POST',
      body: text,
      headers: { 'content-type': o.type ?? 'text/plain' },
    });
  /** How many times the model's handler was called with `text`. */
  const calls = (dir: string, text: string) => {
    const file = path.join(server.store, dir, 'seen.log');
    return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter((t) => t === text).length : 0;
  };
  const metric = (name: string, model: string) => metricValue(server.metricsUrl, name, { model });

  before(async () => {
    server = await startTestServer({ response_cache_size: '1048576', response_cache_ttl: '3600' });
    for (const name of ['cached', 'plain', 'small', 'tiny']) writeHandlerModelDir(path.join(server.store, name), name, 'ledger.mjs');
    await register('url=cached&initial_workers=1&response_cache=true');
    await register('url=plain&initial_workers=1');
  });
  after(() => server.close());

  it('answers a repeated input from the cache: the handler sees it once; hits and misses are counted', async () => {
    const first = await post('cached', 'same');
    const second = await post('cached', 'same');
    assert.equal(first.status, 200);
    assert.equal(second.status, 200);
    assert.deepEqual(second.body, first.body, 'the cached answer is the first one');
    assert.notEqual(second.headers.get('x-request-id'), first.headers.get('x-request-id'), 'each request keeps its own id');
    assert.equal(calls('cached', 'same'), 1);
    assert.equal(await metric('mms_cache_hits_total', 'cached'), 1);
    assert.equal(await metric('mms_cache_misses_total', 'cached'), 1);
  });

  it('a different body, content type or query is another input', async () => {
    await post('cached', 'other');
    await post('cached', 'other', { type: 'application/octet-stream' });
    await post('cached', 'other', { query: 'a=1' });
    await post('cached', 'other', { query: 'a=2' });
    assert.equal(calls('cached', 'other'), 4);
    await post('cached', 'other', { query: 'a=2' });
    assert.equal(calls('cached', 'other'), 4, 'the same query again is a hit');
  });

  it('is off by default', async () => {
    await post('plain', 'same');
    await post('plain', 'same');
    assert.equal(calls('plain', 'same'), 2);
    assert.equal(await metric('mms_cache_misses_total', 'plain'), 0, 'a model without a cache counts no lookups');
  });

  it('holds at most response_cache_size bytes per model, least recently used out first', async () => {
    // One answer (about 250 bytes with its key) fits 400 bytes, two do not.
    await register('url=small&initial_workers=1&response_cache=true&response_cache_size=400');
    for (const text of ['a', 'a', 'b', 'b', 'a']) await post('small', text);
    assert.equal(calls('small', 'a'), 2, "b's answer pushed a's out");
    assert.equal(calls('small', 'b'), 1);
    // An answer larger than the whole cache is never kept.
    await register('url=tiny&initial_workers=1&response_cache=true&response_cache_size=10');
    for (let i = 0; i < 3; i++) await post('tiny', 'x');
    assert.equal(calls('tiny', 'x'), 3);
  });

  it('a model registered again with a new version never sees the old version’s entries', async () => {
    const v1 = await post('cached', 'versioned');
    assert.equal(v1.body.version, '1.0');
    assert.equal((await request(`${server.managementUrl}/models/cached`, { method: 'DELETE' })).status, 200);
    const manifest = path.join(server.store, 'cached', 'MAR-INF', 'MANIFEST.json');
    const m = JSON.parse(readFileSync(manifest, 'utf8'));
    m.model.modelVersion = '2.0';
    writeFileSync(manifest, JSON.stringify(m));
    await register('url=cached&initial_workers=1&response_cache=true');
    const v2 = await post('cached', 'versioned');
    assert.equal(v2.status, 200);
    assert.equal(v2.body.version, '2.0', 'answered by the new version, not from the old cache');
    assert.equal(calls('cached', 'versioned'), 2);
    assert.equal((await post('cached', 'versioned')).body.version, '2.0');
    assert.equal(calls('cached', 'versioned'), 2, "the new version's own answer is cached");
  });

  it('describe shows the cache; bad cache parameters are 400s', async () => {
    const d = await request(`${server.managementUrl}/models/small`);
    assert.deepEqual(d.body.responseCache, { sizeBytes: 400, ttlSeconds: 3600 });
    assert.equal((await request(`${server.managementUrl}/models/plain`)).body.responseCache, undefined);
    for (const [query, pattern] of [
      ['response_cache=maybe', /response_cache must be true or false/],
      ['response_cache=true&response_cache_size=0', /response_cache_size/],
      ['response_cache=true&response_cache_size=lots', /response_cache_size must be an integer/],
      ['response_cache=true&response_cache_ttl=0', /response_cache_ttl/],
      ['response_cache_ttl=5', /need response_cache=true/],
    ] as const) {
      const r = await register(`url=plain&model_name=bad&${query}`, 400);
      assert.equal(r.body.errorCode, 'BAD_REQUEST');
      assert.match(r.body.message, pattern, query);
    }
  });
});
