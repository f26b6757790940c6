// A worker's stack trace (here: a handler that throws while loading) reaches the server log as one
// record holding every frame, not one record per frame (docs/configuration.md, Logs).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { request, startTestServer, type TestServer } from '../helpers/server.js';
import { captureLogs } from '../helpers/raw-http.js';

describe('worker stack traces in the log', () => {
  let s: TestServer;
  const logs = captureLogs();
  before(async () => {
    s = await startTestServer({}, undefined, logs.log);
    const dir = path.join(s.store, 'broken');
    mkdirSync(path.join(dir, 'MAR-INF'), { recursive: true });
    writeFileSync(path.join(dir, 'broken.mjs'), 'function nested() { throw new Error("broken on purpose"); }\nexport function initialize() { nested(); }\nexport function handle() { return []; }\n');
    writeFileSync(path.join(dir, 'MAR-INF', 'MANIFEST.json'), JSON.stringify({ runtime: 'node', model: { modelName: 'broken', handler: 'broken.mjs' } }));
  });
  after(() => s.close());

  it('keeps the frames of one stack in one record', async () => {
    const logged = logs.next((r) => r.stream === 'stderr' && /broken on purpose/.test(r.msg));
    const res = await request(`${s.managementUrl}/models?url=broken&initial_workers=1`, { method: 'POST' });
    assert.equal(res.status, 500);
    const record = await logged;
    assert.match(record.msg, /broken on purpose\n\s+at nested /);
    assert.match(record.msg, /\n\s+at (Module|Object)?\.?initialize|\n\s+at initialize/);
    const frameRecords = logs.records.filter((r) => r.stream === 'stderr' && /^\s+at /.test(r.msg));
    assert.deepEqual(frameRecords, []);
  });
});
