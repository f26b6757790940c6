// onnxruntime-node 1.30's Linux build carries Microsoft's 1DS telemetry SDK: unless told otherwise,
// every worker writes `mat-debug-<pid>.log` and `.ses` into TMPDIR, a SQLite event queue and a device
// id under XDG_CACHE_HOME, and uploads to Microsoft (docs/dependencies.md, "onnxruntime-node telemetry").
// Our workers must do none of it.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeModelDir } from '../helpers/onnx-models.js';
import { postJson, request, startTestServer, v2Request, type TestServer } from '../helpers/server.js';

// This file runs in its own process: point the workers' TMPDIR and cache at fresh folders, and drop
// the variables that would switch the SDK off by themselves (ORT also stays quiet under CI).
const root = mkdtempSync(path.join(os.tmpdir(), 'mms-ort-telemetry-'));
const tmp = path.join(root, 'tmp');
const cache = path.join(root, 'cache');
for (const dir of [tmp, cache]) mkdirSync(dir);
for (const name of ['ORT_DISABLE_TELEMETRY', 'CI', 'TF_BUILD', 'GITHUB_ACTIONS', 'GITLAB_CI', 'JENKINS_URL', 'BUILDKITE']) delete process.env[name];

describe('onnxruntime telemetry', () => {
  let server: TestServer;

  before(async () => {
    process.env.TMPDIR = tmp;
    process.env.XDG_CACHE_HOME = cache;
    server = await startTestServer();
    writeModelDir(path.join(server.store, 'scale'), { name: 'scale' });
  });
  after(async () => {
    await server.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('a worker leaves no mat-debug log, .ses file or event database behind', async () => {
    const reg = await request(`${server.managementUrl}/models?url=scale&model_name=t&initial_workers=1`, { method: 'POST' });
    assert.equal(reg.status, 200, JSON.stringify(reg.body));
    assert.equal((await postJson(`${server.inferenceUrl}/predictions/t`, v2Request('x', [1, 4], [1, 2, 3, 4]))).status, 200);
    assert.equal((await request(`${server.managementUrl}/models/t`, { method: 'DELETE' })).status, 200);

    const leftovers = readdirSync(tmp).filter((f) => /^mat-debug-\d+\.log$/.test(f) || f.endsWith('.ses'));
    assert.deepEqual(leftovers, [], 'nothing of the telemetry SDK in the workers\' TMPDIR');
    assert.deepEqual(readdirSync(cache), [], 'no device id or event queue under XDG_CACHE_HOME');
  });
});
