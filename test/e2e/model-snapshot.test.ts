// Model snapshots (docs/configuration.md, Model snapshot): a restarted server (a second one on the
// same model store and snapshot_dir, started after the first closed) serves the models, versions,
// settings and worker counts the first one had; a model that cannot be restored is skipped; start-up
// models are not registered twice; model_snapshot=false neither restores nor writes.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeModelDir, writeScaleModel } from '../helpers/onnx-models.js';
import { writeHandlerModelDir } from '../helpers/fixtures.js';
import { postJson, request, startTestServer, v2Request, type TestServer } from '../helpers/server.js';
import { archiver } from '../helpers/archiver.js';
import { Writable } from 'node:stream';
import pino from 'pino';

describe('model snapshot', () => {
  let root: string;
  let store: string;
  let snapshots: string;
  let server: TestServer | undefined;
  const stop = async () => {
    await server?.close();
    server = undefined;
  };
  const start = async (overrides: Record<string, string> = {}) => (await stop(), server = await startTestServer({ snapshot_dir: snapshots, ...overrides }, store));
  const mgmt = (p: string, method = 'GET') => request(`${server!.managementUrl}${p}`, { method });
  const factor = async (p: string): Promise<number> => {
    const r = await postJson(`${server!.inferenceUrl}${p}`, v2Request('x', [1, 4], [1, 2, 3, 4]));
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.body.outputs[0].data[0];
  };
  const snapshotFile = () => path.join(snapshots, 'model-snapshot.json');

  before(() => {
    root = mkdtempSync(path.join(os.tmpdir(), 'mms-snapshot-'));
    store = path.join(root, 'store');
    snapshots = path.join(root, 'snapshots');
    writeModelDir(path.join(store, 'double'), { name: 'm' });
    writeModelDir(path.join(store, 'triple'), { name: 'm', build: (d) => writeScaleModel(d, 'model.onnx', 3) });
    writeHandlerModelDir(path.join(store, 'echo'), 'echo');
    writeModelDir(path.join(store, 'gone'), { name: 'gone' });
  });
  after(async () => {
    await stop();
    rmSync(root, { recursive: true, force: true });
  });

  it('a restart restores the registered models, their versions, default and settings', async () => {
    await start();
    assert.equal((await mgmt('/models?url=double&initial_workers=1&execution_provider=cpu&preload_sessions=2', 'POST')).status, 200);
    assert.equal((await mgmt('/models?url=triple&model_version=2.0&initial_workers=1', 'POST')).status, 200);
    assert.equal((await mgmt('/models/m/2.0/set-default', 'PUT')).status, 200);
    const echo = await mgmt('/models?url=echo&initial_workers=0&batch_size=4&max_batch_delay=7&response_timeout=30&idle_timeout_ms=600000&response_cache=true&response_cache_size=4096&response_cache_ttl=60', 'POST');
    assert.equal(echo.status, 200, JSON.stringify(echo.body));
    assert.equal((await mgmt('/models/echo?min_worker=1&max_worker=2&synchronous=true', 'PUT')).status, 200);
    assert.equal((await mgmt('/models?url=gone&initial_workers=0', 'POST')).status, 200);
    assert.equal((await mgmt('/models/gone', 'DELETE')).status, 200, 'unregistered: not restored');
    await stop();

    // Written atomically: the file and no temp file beside it.
    assert.deepEqual(readdirSync(snapshots), ['model-snapshot.json']);
    await start();
    const list = await mgmt('/models');
    assert.deepEqual(list.body.models.map((e: { modelName: string; modelVersion?: string }) => `${e.modelName}/${e.modelVersion}`), ['echo/1.0', 'm/1.0', 'm/2.0']);
    assert.equal(await factor('/predictions/m'), 3, 'the default is still version 2.0');
    assert.equal(await factor('/predictions/m/1.0'), 2);
    const v1 = (await mgmt('/models/m/1.0')).body;
    assert.deepEqual([v1.executionProvider, v1.preloadSessions, v1.handler], ['cpu', 2, 'onnx']);
    const d = (await mgmt('/models/echo')).body;
    assert.deepEqual(
      [d.batchSize, d.maxBatchDelay, d.minWorkers, d.maxWorkers, d.workers.length, d.modelUrl],
      [4, 7, 1, 2, 1, 'echo'],
    );
    assert.deepEqual([d.idleTimeoutMs, d.responseCache, d.loadOnFirstRequest], [600_000, { sizeBytes: 4096, ttlSeconds: 60 }, false]);
    const r = await request(`${server!.inferenceUrl}/predictions/echo`, { method: 'POST', body: 'hello' });
    assert.deepEqual([r.status, r.body.echo], [200, 'hello']);
    await stop();
  });

  it('a model that cannot be restored is logged and skipped; the others are restored', async () => {
    const snap = JSON.parse(readFileSync(snapshotFile(), 'utf8'));
    snap.models.push({ ...snap.models[0], name: 'broken', url: 'no-such-model' }, { bogus: true });
    writeFileSync(snapshotFile(), JSON.stringify(snap));
    await start();
    const names = (await mgmt('/models')).body.models.map((e: { modelName: string }) => e.modelName);
    assert.deepEqual(names, ['echo', 'm', 'm']);
    await stop();
    // The next write leaves only what is registered.
    const written = JSON.parse(readFileSync(snapshotFile(), 'utf8'));
    assert.equal(written.models.some((e: { name: string }) => e.name === 'broken'), false);
  });

  it('start-up models restored from the snapshot are not registered twice', async () => {
    rmSync(snapshotFile());
    await start({ load_models: 'echo', default_workers_per_model: '1' });
    assert.equal((await mgmt('/models/echo?min_worker=2&max_worker=2&synchronous=true', 'PUT')).status, 200);
    await stop();
    await start({ load_models: 'echo', default_workers_per_model: '1' });
    assert.equal(server!.startupFailures.length, 0, JSON.stringify(server!.startupFailures));
    const d = (await mgmt('/models/echo')).body;
    assert.equal(Array.isArray(d), false, 'one registration');
    assert.deepEqual([d.loadedAtStartup, d.minWorkers, d.workers.length], [true, 2, 2], 'as the snapshot has it');
    const r = await request(`${server!.inferenceUrl}/invocations`, { method: 'POST', body: 'hi' });
    assert.deepEqual([r.status, r.body.echo], [200, 'hi'], 'still the start-up model');
    await stop();
  });

  it('a start-up archive the snapshot restored is not extracted a second time', async () => {
    rmSync(snapshotFile(), { force: true });
    const src = writeModelDir(path.join(root, 'arc-src'), { name: 'arc' });
    const packed = await archiver(['--model-name', 'arc', '--model-path', src, '--export-path', store]);
    assert.equal(packed.code, 0, packed.stderr);
    await start({ load_models: 'arc.mar', default_workers_per_model: '1' });
    await stop();
    const messages: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const line of chunk.toString().split('\n').filter(Boolean)) messages.push((JSON.parse(line) as { msg: string }).msg);
        done();
      },
    });
    server = await startTestServer({ snapshot_dir: snapshots, load_models: 'arc.mar', default_workers_per_model: '1' }, store, pino({ level: 'info' }, sink));
    assert.equal(messages.filter((m) => m === 'extracting model').length, 1, `extractions: ${messages.join(' | ')}`);
    assert.ok(messages.includes('model restored from the snapshot'));
    assert.equal(server.startupFailures.length, 0, JSON.stringify(server.startupFailures));
    assert.equal(await factor('/predictions/arc'), 2);
    await stop();
  });

  it('model_snapshot=false neither restores nor writes', async () => {
    const before = readFileSync(snapshotFile(), 'utf8');
    await start({ model_snapshot: 'false' });
    assert.deepEqual((await mgmt('/models')).body.models, []);
    assert.equal((await mgmt('/models?url=gone&initial_workers=0', 'POST')).status, 200);
    await stop();
    assert.equal(readFileSync(snapshotFile(), 'utf8'), before);
    assert.ok(existsSync(snapshotFile()));
  });
});
