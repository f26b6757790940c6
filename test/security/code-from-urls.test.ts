// Archives that carry code (runtime node, or a handler file) are a trust decision: from an http(s)
// URL they are refused with 403 unless allow_code_from_urls is true; from the model store they load.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { manifestJson, scaleModelBytes, zipBytes } from '../helpers/hostile-archives.js';
import { request, startTestServer, type TestServer } from '../helpers/server.js';

describe('code from URLs', () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'mms-code-'));
  const store = path.join(root, 'store');
  const workDir = path.join(root, 'work');
  const marker = path.join(root, 'handler-ran');
  mkdirSync(store);
  // The handler leaves a marker when imported, so a refused archive provably never ran.
  const handlerJs = `import { writeFileSync } from 'node:fs';\nwriteFileSync(${JSON.stringify(marker)}, 'ran');\nexport function handle(batch) { return batch.map(() => 'ok'); }\n`;
  const nodeMar = zipBytes([
    { name: 'MAR-INF/MANIFEST.json', data: JSON.stringify({ runtime: 'node', model: { modelName: 'code', handler: 'handler.mjs', modelVersion: '1.0' } }) },
    { name: 'handler.mjs', data: handlerJs },
  ]);
  const onnxMar = zipBytes([
    { name: 'MAR-INF/MANIFEST.json', data: manifestJson('plain') },
    { name: 'model.onnx', data: scaleModelBytes() },
    { name: 'handler.mjs', data: handlerJs },
  ]);
  let origin: http.Server;
  let base: string;
  let server: TestServer;

  before(async () => {
    origin = http.createServer((req, res) => {
      const body = req.url === '/code.mar' ? nodeMar : req.url === '/plain.mar' ? onnxMar : undefined;
      if (!body) return void res.writeHead(404).end();
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length }).end(body);
    });
    await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
    const port = (origin.address() as AddressInfo).port;
    base = `http://127.0.0.1:${port}`;
    server = await startTestServer({ work_dir: workDir, allowed_urls: `http://127\\.0\\.0\\.1:${port}/.*` }, store);
  });
  after(async () => {
    await server?.close();
    await new Promise<void>((resolve) => origin.close(() => resolve()));
    rmSync(root, { recursive: true, force: true });
  });

  const workDirEntries = () => (existsSync(workDir) ? readdirSync(workDir) : []);
  const register = (s: TestServer, query: string) => request(`${s.managementUrl}/models?${query}&initial_workers=1&synchronous=true`, { method: 'POST' });

  it('a runtime-node archive from a URL is refused with 403 by default and never runs', async () => {
    const url = `${base}/code.mar`;
    const r = await register(server, `url=${encodeURIComponent(url)}`);
    assert.equal(r.status, 403, JSON.stringify(r.body));
    assert.deepEqual(Object.keys(r.body).sort(), ['code', 'errorCode', 'message', 'type']);
    assert.equal(r.body.type, 'ForbiddenException');
    assert.match(r.body.message, /allow_code_from_urls/);
    assert.ok(r.body.message.includes(url), 'names the url as given');
    assert.equal((await request(`${server.managementUrl}/models/code`)).status, 404);
    assert.equal(existsSync(marker), false, 'the handler was never imported');
    assert.deepEqual(workDirEntries(), []);
  });

  it('an onnx archive from a URL turned into code by runtime=node&handler=... is refused too', async () => {
    const r = await register(server, `url=${encodeURIComponent(`${base}/plain.mar`)}&runtime=node&handler=handler.mjs`);
    assert.equal(r.status, 403, JSON.stringify(r.body));
    assert.equal(r.body.type, 'ForbiddenException');
    assert.equal(existsSync(marker), false);
    assert.deepEqual(workDirEntries(), []);
  });

  it('an onnx archive with a built-in handler from a URL still loads', async () => {
    const r = await register(server, `url=${encodeURIComponent(`${base}/plain.mar`)}`);
    assert.deepEqual([r.status, r.body], [200, { status: 'Workers scaled' }]);
    assert.equal((await request(`${server.managementUrl}/models/plain`, { method: 'DELETE' })).status, 200);
  });

  it('the same code archive from the model store loads', async () => {
    writeFileSync(path.join(store, 'code.mar'), nodeMar);
    const r = await register(server, 'url=code.mar');
    assert.deepEqual([r.status, r.body], [200, { status: 'Workers scaled' }]);
    assert.equal(existsSync(marker), true);
    assert.equal((await request(`${server.managementUrl}/models/code`, { method: 'DELETE' })).status, 200);
    rmSync(marker);
  });

  it('with allow_code_from_urls=true a code archive from a URL loads', async () => {
    const port = (origin.address() as AddressInfo).port;
    const s = await startTestServer({ work_dir: workDir, allowed_urls: `http://127\\.0\\.0\\.1:${port}/.*`, allow_code_from_urls: 'true' }, store);
    try {
      const r = await register(s, `url=${encodeURIComponent(`${base}/code.mar`)}`);
      assert.deepEqual([r.status, r.body], [200, { status: 'Workers scaled' }]);
      assert.equal(existsSync(marker), true);
    } finally {
      await s.close();
    }
    assert.deepEqual(workDirEntries(), []);
  });
});
