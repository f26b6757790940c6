// `model-archiver --stages`: every stage's files packed and checked, the archive registered and served
// as a pipeline (docs/pipelines.md's worked example: JS pre-processing, then an ONNX model).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import os from 'node:os';
import path from 'node:path';
import { archiver, zipListing } from '../helpers/archiver.js';
import { writeScaleModel } from '../helpers/onnx-models.js';
import { request, startTestServer, type TestServer } from '../helpers/server.js';

/** docs/pipelines.md's `// pre.mjs`: comma-separated numbers → the scale model's v2 request (input x, [1, n]). */
function docsPre(): string {
  const docs = readFileSync(fileURLToPath(new URL('../../../docs/pipelines.md', import.meta.url)), 'utf8');
  const block = /```js\n(\/\/ pre\.mjs\n[\s\S]*?)```/.exec(docs);
  assert.ok(block, 'docs/pipelines.md has a // pre.mjs example');
  return block[1];
}

describe('model-archiver --stages', () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'mms-stages-'));
  const src = path.join(root, 'src');
  let server: TestServer;
  before(async () => {
    mkdirSync(src);
    writeFileSync(path.join(src, 'pre.mjs'), docsPre());
    writeScaleModel(src, 'scale.onnx');
    writeFileSync(path.join(root, 'stages.json'), JSON.stringify([
      { name: 'pre', handler: 'pre.mjs' },
      { name: 'scale', modelFile: 'scale.onnx', batchSize: 8 },
    ]));
    server = await startTestServer();
  });
  after(async () => {
    await server.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('packs every stage and the stage list; the archive serves as a pipeline', { timeout: 60_000 }, async () => {
    const r = await archiver(['--model-name', 'numbers', '--model-path', src, '--export-path', server.store, '--stages', path.join(root, 'stages.json')]);
    assert.equal(r.code, 0, r.stderr);
    const { names, manifest } = await zipListing(path.join(server.store, 'numbers.mar'));
    assert.ok(names.includes('pre.mjs') && names.includes('scale.onnx'), names.join(', '));
    assert.deepEqual(manifest.model.stages.map((s: { name: string }) => s.name), ['pre', 'scale']);
    const reg = await request(`${server.managementUrl}/models?url=numbers.mar&initial_workers=1&synchronous=true`, { method: 'POST' });
    assert.equal(reg.status, 200, JSON.stringify(reg.body));
    const out = await request(`${server.inferenceUrl}/predictions/numbers`, { method: 'POST', body: '1,2,3,4', headers: { 'content-type': 'text/plain' } });
    assert.equal(out.status, 200, JSON.stringify(out.body));
    assert.deepEqual(out.body.outputs[0].data, [2, 4, 6, 8]);
  });

  it('refuses a stage whose file is not in the model path', { timeout: 30_000 }, async () => {
    writeFileSync(path.join(root, 'bad.json'), JSON.stringify([{ name: 'pre', handler: 'missing.mjs' }, { name: 'scale', modelFile: 'scale.onnx' }]));
    const r = await archiver(['--model-name', 'bad', '--model-path', src, '--export-path', root, '--stages', path.join(root, 'bad.json')]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Handler file of stage pre missing\.mjs is not in the model path/);
    const dup = path.join(root, 'dup.json');
    writeFileSync(dup, JSON.stringify([{ name: 'a' }, { name: 'a' }]));
    const d = await archiver(['--model-name', 'dup', '--model-path', src, '--export-path', root, '--model-file', 'scale.onnx', '--stages', dup]);
    assert.notEqual(d.code, 0);
    assert.match(d.stderr, /stage "a" is named twice/);
  });
});
