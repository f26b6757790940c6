// Registration parameters that become timer delays: past what a Node timer holds, the request is a
// 400 naming the parameter, never a model whose every request then fails (docs/api.md).
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { writeModelDir } from '../helpers/onnx-models.js';
import { request, startTestServer, type TestServer } from '../helpers/server.js';

describe('registration timer limits', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
    writeModelDir(path.join(server.store, 'scale'), { name: 'scale' });
    const dir = writeModelDir(path.join(server.store, 'slowbatch'), { name: 'slowbatch' });
    const manifest = path.join(dir, 'MAR-INF', 'MANIFEST.json');
    const m = JSON.parse(readFileSync(manifest, 'utf8')) as { model: Record<string, unknown> };
    m.model.maxBatchDelay = 2 ** 31;
    writeFileSync(manifest, JSON.stringify(m));
  });
  after(() => server.close());

  const register = (query: string) => request(`${server.managementUrl}/models?url=scale&initial_workers=0&${query}`, { method: 'POST' });

  for (const [query, name] of [
    ['response_timeout=2147484', 'response_timeout'],
    // A batch waiting behind a running one gets the timeout twice.
    ['response_timeout=1073742', 'response_timeout'],
    ['max_batch_delay=2147483648', 'max_batch_delay'],
  ] as const) {
    it(`${query}: 400 naming ${name}`, async () => {
      const r = await register(query);
      assert.equal(r.status, 400, JSON.stringify(r.body));
      assert.match(r.body.message, new RegExp(name));
      assert.equal((await request(`${server.managementUrl}/models/scale`)).status, 404, 'the model must not be registered');
    });
  }

  it('a manifest maxBatchDelay past a timer: 400 naming it', async () => {
    const r = await request(`${server.managementUrl}/models?url=slowbatch&initial_workers=0`, { method: 'POST' });
    assert.equal(r.status, 400, JSON.stringify(r.body));
    assert.match(r.body.message, /maxBatchDelay/);
  });

  it('the largest values that fit are accepted', async () => {
    const r = await register('response_timeout=1073741&max_batch_delay=2147483647');
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const d = await request(`${server.managementUrl}/models/scale`);
    assert.equal(d.body.maxBatchDelay, 2147483647);
    await request(`${server.managementUrl}/models/scale`, { method: 'DELETE' });
  });
});
