// What a model directory holds (frontend/control/archive/model-dir.ts) and registration from such
// directories (docs/api.md, Register): one .onnx file, one archive, a folder inside; a store path
// whose links lead outside the store is refused.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { inspectModelDir } from '../../frontend/control/archive/model-dir.js';
import { writeModelDir, writeScaleModel } from '../helpers/onnx-models.js';
import { writeArchiveDir, writeBareOnnx } from '../helpers/sagemaker-contract.js';
import { postJson, request, startTestServer, type TestServer } from '../helpers/server.js';

describe('model directories', () => {
  let root: string;
  before(() => {
    root = mkdtempSync(path.join(os.tmpdir(), 'mms-dir-'));
  });
  after(() => rmSync(root, { recursive: true, force: true }));
  const dir = (name: string) => path.join(root, name);

  it('tells a manifest, one .onnx file, one archive and a folder inside apart', async () => {
    writeModelDir(dir('manifest'), { name: 'm' });
    assert.deepEqual(await inspectModelDir(dir('manifest')), { kind: 'manifest', dir: dir('manifest') });
    writeBareOnnx(dir('bare'));
    assert.deepEqual(await inspectModelDir(dir('bare')), { kind: 'onnx', dir: dir('bare'), modelFile: 'weights.onnx' });
    await writeArchiveDir(dir('packed'), 'p');
    assert.deepEqual(await inspectModelDir(dir('packed')), { kind: 'archive', file: path.join(dir('packed'), 'model.tar.gz') });
    writeModelDir(path.join(dir('nested'), 'inner'), { name: 'n' });
    assert.deepEqual(await inspectModelDir(dir('nested')), { kind: 'manifest', dir: path.join(dir('nested'), 'inner') });
  });

  it('falls back to the defaults when the choice is not clear', async () => {
    mkdirSync(dir('two'));
    writeScaleModel(dir('two'), 'a.onnx');
    writeScaleModel(dir('two'), 'b.onnx');
    assert.equal((await inspectModelDir(dir('two'))).kind, 'plain');
    mkdirSync(dir('default'));
    writeScaleModel(dir('default'), 'model.onnx');
    writeScaleModel(dir('default'), 'other.onnx');
    assert.equal((await inspectModelDir(dir('default'))).kind, 'plain', 'model.onnx wins');
    mkdirSync(dir('mixed'));
    writeScaleModel(dir('mixed'), 'x.onnx');
    writeFileSync(path.join(dir('mixed'), 'model.tar.gz'), 'not read');
    assert.equal((await inspectModelDir(dir('mixed'))).kind, 'onnx', 'a model file beside an archive is the model');
  });
});

describe('registering model directories', () => {
  let server: TestServer;
  let outside: string;
  before(async () => {
    server = await startTestServer({ default_workers_per_model: '1' });
    outside = mkdtempSync(path.join(os.tmpdir(), 'mms-outside-'));
  });
  after(async () => {
    await server?.close();
    rmSync(outside, { recursive: true, force: true });
  });

  it('serves a directory with one .onnx file and one holding an archive', async () => {
    writeBareOnnx(path.join(server.store, 'bare'));
    await writeArchiveDir(path.join(server.store, 'packed'), 'packed');
    for (const url of ['bare', 'packed']) {
      const r = await postJson(`${server.managementUrl}/models`, { url, model_name: url });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const out = await postJson(`${server.inferenceUrl}/predictions/${url}`, { inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }] });
      assert.deepEqual(out.body.outputs[0].data, [2, 4, 6, 8]);
    }
  });

  it('refuses a store path whose link leads outside the store (403), naming no server path', async () => {
    writeBareOnnx(path.join(outside, 'model'));
    symlinkSync(path.join(outside, 'model'), path.join(server.store, 'escape'));
    const r = await request(`${server.managementUrl}/models?url=escape`, { method: 'POST' });
    assert.equal(r.status, 403);
    assert.equal(r.body.errorCode, 'FORBIDDEN');
    assert.equal(r.body.message, 'Model url escape resolves outside the model store.');
  });
});
