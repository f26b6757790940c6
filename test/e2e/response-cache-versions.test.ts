// The response cache (docs/api.md, "Response cache") with two versions of one model (docs/api.md, "Model
// versions"): each version keeps its own answers, and a routing-table change that concerns neither
// (another model registered, scaled) leaves both caches in place. The ledger handler records every item
// it gets, so a hit is a request the handler never saw.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { writeHandlerModelDir } from '../helpers/fixtures.js';
import { metricValue } from '../helpers/metrics.js';
import { request, startTestServer, type TestServer } from '../helpers/server.js';

describe('response cache with model versions', { timeout: 120_000 }, () => {
  let server: TestServer;

  const manage = async (p: string, method: string) => {
    const r = await request(`${server.managementUrl}${p}`, { method });
    assert.equal(r.status, 200, JSON.stringify(r.body));
  };
  const post = (target: string, text: string) =>
    request(`${server.inferenceUrl}/predictions/${target}`, { method: 'POST', body: text, headers: { 'content-type': 'text/plain' } });
  /** How many times the handler in `dir` was called with `text`. */
  const calls = (dir: string, text: string) => {
    const file = path.join(server.store, dir, 'seen.log');
    return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter((t) => t === text).length : 0;
  };
  const hits = () => metricValue(server.metricsUrl, 'mms_cache_hits_total', { model: 'cached' });
  /** Both versions answered `text` once each: every further request of it must be a hit. */
  const bothFromCache = async (text: string, round: string) => {
    const before = await hits();
    for (const [target, dir, version] of [['cached/1.0', 'v1', '1.0'], ['cached/2.0', 'v2', '2.0']]) {
      const r = await post(target, text);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.version, version, `${round}: ${target} answered by its own version`);
      assert.equal(calls(dir, text), 1, `${round}: ${target} reached the handler again (no cache hit)`);
    }
    assert.equal((await hits()) - before, 2, `${round}: both versions answered from the cache`);
  };

  before(async () => {
    server = await startTestServer({ response_cache_size: '1048576', response_cache_ttl: '3600' });
    for (const [dir, version] of [['v1', '1.0'], ['v2', '2.0']]) {
      writeHandlerModelDir(path.join(server.store, dir), 'cached', 'ledger.mjs');
      const manifest = path.join(server.store, dir, 'MAR-INF', 'MANIFEST.json');
      const m = JSON.parse(readFileSync(manifest, 'utf8'));
      m.model.modelVersion = version;
      writeFileSync(manifest, JSON.stringify(m));
    }
    writeHandlerModelDir(path.join(server.store, 'other'), 'other', 'ledger.mjs');
    await manage('/models?url=v1&model_name=cached&initial_workers=1&response_cache=true&synchronous=true', 'POST');
    await manage('/models?url=v2&model_name=cached&initial_workers=1&response_cache=true&synchronous=true', 'POST');
  });
  after(() => server?.close());

  it('keeps both versions cached, and through routing-table changes of other models', async () => {
    for (const [target, dir] of [['cached/1.0', 'v1'], ['cached/2.0', 'v2']]) {
      assert.equal((await post(target, 'same')).status, 200);
      assert.equal(calls(dir, 'same'), 1);
    }
    await bothFromCache('same', 'before any table change');
    await manage('/models?url=other&model_name=other&initial_workers=1&synchronous=true', 'POST');
    await bothFromCache('same', 'after another model was registered');
    await manage('/models/other?min_worker=2&synchronous=true', 'PUT');
    await bothFromCache('same', 'after another model was scaled');
  });
});
