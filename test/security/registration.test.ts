// Registration under hostile or careless input: parallel registrations of one name, over-long names,
// unsupported or malformed URLs, and error bodies that must not name the server's own paths.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { scaleModelBytes, writeZip, writeZipNoManifest, writeZipTruncated } from '../helpers/hostile-archives.js';
import { writeBadModel, writeModelDir } from '../helpers/onnx-models.js';
import { childPids, postJson, request, serverWithOwnDirs } from '../helpers/server.js';

/** A .mar whose manifest names a warm-up file: registration awaits between its checks and insertion. */
function writeWarmupZip(file: string, name: string): string {
  const manifest = { runtime: 'onnx', model: { modelName: name, handler: 'onnx', modelVersion: '1.0', warmup: { file: 'warmup.json', contentType: 'application/json' } } };
  const warmup = { inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }] };
  return writeZip(file, [
    { name: 'MAR-INF/MANIFEST.json', data: JSON.stringify(manifest) },
    { name: 'model.onnx', data: scaleModelBytes(), deflate: true },
    { name: 'warmup.json', data: JSON.stringify(warmup) },
  ]);
}

describe('registration hardening', () => {
  const dirs = serverWithOwnDirs('mms-reg-');
  const { root, store, workDir, workDirEntries } = dirs;
  const post = (query: string) => request(`${dirs.server.managementUrl}/models?${query}`, { method: 'POST' });

  for (const named of [true, false]) {
    it(`10 parallel registrations of one name (${named ? 'model_name given' : 'name from the manifest'}): one 200, nine 409, one worker, nothing left after DELETE`, async () => {
      writeWarmupZip(path.join(store, 'clsw.mar'), 'racew');
      const query = `url=clsw.mar${named ? '&model_name=racew' : ''}&initial_workers=1&synchronous=true`;
      const replies = await Promise.all(Array.from({ length: 10 }, () => post(query)));
      const codes = replies.map((r) => r.status).sort();
      assert.deepEqual(codes, [200, ...Array(9).fill(409)], JSON.stringify(replies.map((r) => r.body)));
      for (const r of replies.filter((x) => x.status === 409)) assert.equal(r.body.message, 'Model racew is already registered.');
      const d = await request(`${dirs.server.managementUrl}/models/racew`);
      assert.equal(d.body.workers.length, 1);
      assert.equal(childPids().length, 1, 'one worker process');
      assert.equal(workDirEntries().length, 1, 'one extracted dir');
      assert.equal((await request(`${dirs.server.managementUrl}/models/racew`, { method: 'DELETE' })).status, 200);
      assert.deepEqual(childPids(), [], 'no worker process outlives DELETE');
      assert.deepEqual(workDirEntries(), [], 'no extracted dir outlives DELETE');
    });
  }

  it('a failed registration releases its name', async () => {
    writeZipTruncated(path.join(store, 'broken.mar'));
    assert.equal((await post('url=broken.mar&model_name=again&initial_workers=0')).status, 400);
    writeWarmupZip(path.join(store, 'again.mar'), 'again');
    assert.equal((await post('url=again.mar&model_name=again&initial_workers=0')).status, 200);
    assert.equal((await request(`${dirs.server.managementUrl}/models/again`, { method: 'DELETE' })).status, 200);
  });

  it('model names longer than 64 characters are refused before anything is done', async () => {
    // In a JSON body, so that a 100,000-character name reaches the server (a query that long would not).
    for (const name of ['a'.repeat(65), 'b'.repeat(100_000)]) {
      const r = await postJson(`${dirs.server.managementUrl}/models`, { url: 'does-not-exist.mar', model_name: name });
      assert.equal(r.status, 400, JSON.stringify(r.body).slice(0, 300));
      assert.equal(r.body.type, 'BadRequestException');
      assert.match(r.body.message, /at most 64 characters/);
      assert.ok(r.body.message.length < 300, 'the message does not repeat the whole name');
    }
    // From the manifest too; 64 is fine.
    writeModelDir(path.join(store, 'longname'), { name: 'c'.repeat(65) });
    const r = await post('url=longname&initial_workers=0');
    assert.equal(r.status, 400, JSON.stringify(r.body));
    assert.match(r.body.message, /at most 64 characters/);
    const ok = await post(`url=longname&model_name=${'d'.repeat(64)}&initial_workers=0`);
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal((await request(`${dirs.server.managementUrl}/models/${'d'.repeat(64)}`, { method: 'DELETE' })).status, 200);
    assert.deepEqual(workDirEntries(), []);
  });

  it('unsupported schemes and malformed URLs are refused with 400', async () => {
    for (const url of ['file://host/x.mar', 'file://remote.example/etc/passwd', 'ftp://example.com/x.mar', 's3://bucket/x.mar', 'http://[::1/x.mar', 'https://exa mple.com:99999/x.mar', 'file:///a%2fb.mar']) {
      const r = await post(`url=${encodeURIComponent(url)}&model_name=u`);
      assert.equal(r.status, 400, `${url}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.type, 'BadRequestException', url);
      assert.match(r.body.message, /url/i, url);
    }
  });

  it('error bodies name no absolute path of the server (model store, work_dir, extracted dirs)', async () => {
    writeZipTruncated(path.join(store, 'p-trunc.mar'));
    writeZipNoManifest(path.join(store, 'p-nomanifest.mar'));
    writeFileSync(path.join(store, 'p-text.mar'), 'not an archive');
    writeModelDir(path.join(store, 'p-badmodel'), { name: 'pbad', build: (d) => writeBadModel(d) });
    writeModelDir(path.join(store, 'p-nohandler'), { name: 'pnh', runtime: 'node', handler: 'missing.mjs' });
    mkdirSync(path.join(store, 'p-dir-badjson', 'MAR-INF'), { recursive: true });
    writeFileSync(path.join(store, 'p-dir-badjson', 'MAR-INF', 'MANIFEST.json'), '{');
    const urls = ['p-trunc.mar', 'p-nomanifest.mar', 'p-text.mar', 'p-badmodel', 'p-nohandler', 'p-dir-badjson', 'missing.mar', path.join(store, 'missing.mar'), path.join(store, 'p-badmodel')];
    for (const url of urls) {
      const r = await post(`url=${encodeURIComponent(url)}&model_name=p${urls.indexOf(url)}&initial_workers=1&synchronous=true`);
      const text = JSON.stringify(r.body);
      assert.ok(r.status >= 400, `${url}: ${text}`);
      const allowed = path.isAbsolute(url) ? text.split(JSON.stringify(url).slice(1, -1)).join('') : text;
      for (const p of [root, workDir, store]) assert.ok(!allowed.includes(p), `${url}: body names ${p}: ${text}`);
    }
    assert.deepEqual(workDirEntries(), []);
  });
});
