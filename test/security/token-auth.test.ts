// Token authorization (enable_token_auth=true): a key file with one key per API, written 0600 at
// start; Bearer keys checked on each API; /ping and the metrics listener stay open (docs/api.md, Security).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeHandlerModelDir } from '../helpers/fixtures.js';
import { request, startTestServer, type TestServer } from '../helpers/server.js';
import { captureLogs } from '../helpers/raw-http.js';

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

describe('token authorization', () => {
  let s: TestServer;
  let dir: string;
  let keys: { management: { key: string }; inference: { key: string } };
  const logs = captureLogs();

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'mms-keys-'));
    const keyFile = path.join(dir, 'key_file.json');
    writeFileSync(keyFile, 'stale', { mode: 0o644 }); // an old file must not keep its mode or content
    s = await startTestServer({ enable_token_auth: 'true', key_file: keyFile, management_address: 'http://127.0.0.2:0' }, undefined, logs.log);
    keys = JSON.parse(readFileSync(keyFile, 'utf8'));
    writeHandlerModelDir(path.join(s.store, 'echo'), 'echo');
  });
  after(async () => {
    await s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes two different keys to a file only the owner can read, and logs its path but not the keys', () => {
    assert.equal(statSync(path.join(dir, 'key_file.json')).mode & 0o777, 0o600);
    assert.match(keys.management.key, /^[A-Za-z0-9_-]{32,}$/);
    assert.match(keys.inference.key, /^[A-Za-z0-9_-]{32,}$/);
    assert.notEqual(keys.management.key, keys.inference.key);
    const line = logs.records.find((r) => r.keyFile === path.join(dir, 'key_file.json'));
    assert.ok(line, 'the key file path is logged');
    const all = JSON.stringify(logs.records);
    assert.ok(!all.includes(keys.management.key) && !all.includes(keys.inference.key));
  });

  it('management: 401 without a key, with a wrong key and with the inference key; 200 with its key', async () => {
    const url = `${s.managementUrl}/models`;
    const none = await request(url);
    assert.equal(none.status, 401);
    assert.deepEqual(Object.keys(none.body).sort(), ['code', 'errorCode', 'message', 'type']);
    assert.equal(none.body.type, 'UnauthorizedException');
    assert.equal(none.headers.get('www-authenticate'), 'Bearer');
    assert.equal((await request(url, { headers: bearer('wrong') })).status, 401);
    assert.equal((await request(url, { headers: bearer(keys.management.key + 'x') })).status, 401);
    assert.equal((await request(url, { headers: { authorization: keys.management.key } })).status, 401);
    assert.equal((await request(url, { headers: bearer(keys.inference.key) })).status, 401);
    assert.equal((await request(url, { headers: bearer(keys.management.key) })).status, 200);
  });

  it('inference: 401 without, wrong or with the management key; 200 with its key', async () => {
    const reg = await request(`${s.managementUrl}/models?url=echo&initial_workers=1`, { method: 'POST', headers: bearer(keys.management.key) });
    assert.equal(reg.status, 200, JSON.stringify(reg.body));
    const url = `${s.inferenceUrl}/predictions/echo`;
    const post = (headers: Record<string, string>) => request(url, { method: 'POST', headers: { 'content-type': 'text/plain', ...headers }, body: 'hi' });
    assert.equal((await post({})).status, 401);
    assert.equal((await post(bearer('wrong'))).status, 401);
    assert.equal((await post(bearer(keys.management.key))).status, 401);
    assert.equal((await request(`${s.inferenceUrl}/models/echo/invoke`, { method: 'POST', body: 'hi' })).status, 401);
    assert.equal((await request(`${s.inferenceUrl}/invocations?model_name=echo`, { method: 'POST', body: 'hi' })).status, 401);
    const ok = await post(bearer(keys.inference.key));
    assert.equal(ok.status, 200);
  });

  it('leaves /ping and the metrics listener open', async () => {
    assert.equal((await request(`${s.inferenceUrl}/ping`)).status, 200);
    assert.equal((await request(`${s.metricsUrl}/metrics`)).status, 200);
  });
});

describe('token authorization off (the default)', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer();
  });
  after(() => s.close());

  it('serves both APIs without a key', async () => {
    assert.equal((await request(`${s.managementUrl}/models`)).status, 200);
    assert.equal((await request(`${s.inferenceUrl}/predictions/none`, { method: 'POST', body: 'x' })).status, 404);
  });
});
