// A manifest's warm-up request runs in every new worker before it takes traffic; a failing one
// fails the worker's start with the reason.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { writeHandlerModelDir } from '../helpers/fixtures.js';
import { request, startTestServer, type TestServer } from '../helpers/server.js';

describe('warm-up', () => {
  let server: TestServer;
  const withWarmup = (name: string, body: string) => {
    const dir = writeHandlerModelDir(path.join(server.store, name), name, 'counter.mjs');
    writeFileSync(path.join(dir, 'warmup.txt'), body);
    const manifestPath = path.join(dir, 'MAR-INF', 'MANIFEST.json');
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
    manifest.model.warmup = { file: 'warmup.txt', contentType: 'text/plain' };
    writeFileSync(manifestPath, JSON.stringify(manifest));
  };

  before(async () => {
    server = await startTestServer();
  });
  after(() => server.close());

  it('runs before the first request in each new worker', async () => {
    withWarmup('warm', 'hello');
    const reg = await request(`${server.managementUrl}/models?url=warm&initial_workers=2`, { method: 'POST' });
    assert.equal(reg.status, 200, JSON.stringify(reg.body));
    // Two requests at once reach both workers; each has already handled its warm-up batch.
    const answers = await Promise.all([1, 2].map(() => request(`${server.inferenceUrl}/predictions/warm`, { method: 'POST', body: 'x', headers: { 'content-type': 'text/plain' } })));
    for (const a of answers) {
      assert.equal(a.status, 200);
      assert.ok(a.body.calls >= 2, `worker saw its warm-up first (calls ${a.body.calls})`);
    }
  });

  it('a failing warm-up fails the registration with its reason', async () => {
    withWarmup('cold', 'throw');
    const reg = await request(`${server.managementUrl}/models?url=cold&initial_workers=1`, { method: 'POST' });
    assert.equal(reg.status, 500);
    assert.match(reg.body.message, /Failed to start workers: Warm-up request failed with status 400: .*refused on purpose/);
    assert.equal((await request(`${server.managementUrl}/models/cold`)).status, 404);
  });

  it('a warm-up file outside the model directory is refused at registration', async () => {
    withWarmup('escape', 'x');
    const manifestPath = path.join(server.store, 'escape', 'MAR-INF', 'MANIFEST.json');
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
    manifest.model.warmup = { file: '../warm/warmup.txt' };
    writeFileSync(manifestPath, JSON.stringify(manifest));
    const reg = await request(`${server.managementUrl}/models?url=escape&initial_workers=1`, { method: 'POST' });
    assert.equal(reg.status, 400);
    assert.match(reg.body.message, /Warm-up file not found in the model directory/);
  });
});
