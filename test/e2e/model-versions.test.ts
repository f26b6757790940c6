// Versions side by side (docs/api.md, Model versions): two versions of one name answer on their own
// paths, set-default switches which one unversioned requests reach, describe and list show both, and
// the default cannot be unregistered while another version remains.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { writeModelDir, writeScaleModel } from '../helpers/onnx-models.js';
import { postJson, request, startTestServer, v2Request, type TestServer } from '../helpers/server.js';
import { InferenceClient } from '../helpers/grpc-client.js';

describe('model versions', () => {
  let server: TestServer;
  const x = [1, 2, 3, 4];
  before(async () => {
    server = await startTestServer();
    // Manifest version 1.0 doubles; the second directory triples and is registered as 2.0.
    writeModelDir(path.join(server.store, 'double'), { name: 'm' });
    writeModelDir(path.join(server.store, 'triple'), { name: 'm', build: (d) => writeScaleModel(d, 'model.onnx', 3) });
  });
  after(() => server.close());

  const mgmt = (p: string, method = 'GET') => request(`${server.managementUrl}${p}`, { method });
  /** The factor the answering version applied (2: version 1.0, 3: version 2.0). */
  const factor = async (p: string): Promise<number> => {
    const r = await postJson(`${server.inferenceUrl}${p}`, v2Request('x', [1, 4], x));
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.body.outputs[0].data[0];
  };

  it('registers two versions of one name; each answers on its own path', async () => {
    const v1 = await mgmt('/models?url=double&initial_workers=1', 'POST');
    assert.equal(v1.status, 200, JSON.stringify(v1.body));
    const v2 = await mgmt('/models?url=triple&model_version=2.0&initial_workers=1', 'POST');
    assert.equal(v2.status, 200, JSON.stringify(v2.body));

    assert.equal(await factor('/predictions/m/1.0'), 2);
    assert.equal(await factor('/predictions/m/2.0'), 3);
    assert.equal(await factor('/v2/models/m/versions/1.0/infer'), 2);
    assert.equal(await factor('/v2/models/m/versions/2.0/infer'), 3);
    const named = await postJson(`${server.inferenceUrl}/v2/models/m/versions/2.0/infer`, v2Request('x', [1, 4], x));
    assert.equal(named.body.model_version, '2.0', 'the registered version, not the manifest\'s 1.0');
    // gRPC: model_version reaches a version, none the default.
    const client = new InferenceClient(server.grpcUrl);
    try {
      const input = { name: 'x', datatype: 'FP32', shape: ['1', '4'], contents: { fp32_contents: x } };
      const v2 = await client.ok('ModelInfer', { model_name: 'm', model_version: '2.0', inputs: [input] });
      const first = (r: { raw_output_contents: Buffer[] }) => new Float32Array(Uint8Array.from(r.raw_output_contents[0]).buffer)[0];
      assert.deepEqual([v2.model_version, first(v2)], ['2.0', 3]);
      const dflt = await client.ok('ModelInfer', { model_name: 'm', inputs: [input] });
      assert.deepEqual([dflt.model_version, first(dflt)], ['1.0', 2]);
    } finally {
      client.close();
    }
    // The first version registered is the default.
    assert.equal(await factor('/predictions/m'), 2);
    assert.equal(await factor('/v2/models/m/infer'), 2);
  });

  it('describe lists every version (an array), one version describes as an object; list shows both', async () => {
    const all = await mgmt('/models/m');
    assert.equal(all.status, 200);
    assert.ok(Array.isArray(all.body));
    assert.deepEqual(all.body.map((d: { modelVersion: string; isDefault: boolean }) => [d.modelVersion, d.isDefault]), [['1.0', true], ['2.0', false]]);
    const one = await mgmt('/models/m/2.0');
    assert.deepEqual([one.status, one.body.modelName, one.body.modelVersion, one.body.modelUrl, one.body.workers.length], [200, 'm', '2.0', 'triple', 1]);
    const list = await mgmt('/models');
    assert.deepEqual(list.body.models.filter((e: { modelName: string }) => e.modelName === 'm'), [
      { modelName: 'm', modelUrl: 'double', modelVersion: '1.0', isDefault: true },
      { modelName: 'm', modelUrl: 'triple', modelVersion: '2.0', isDefault: false },
    ]);
    const meta = await request(`${server.inferenceUrl}/v2/models/m`);
    assert.deepEqual(meta.body.versions, ['1.0', '2.0']);
  });

  it('set-default switches which version unversioned requests reach', async () => {
    const set = await mgmt('/models/m/2.0/set-default', 'PUT');
    assert.deepEqual([set.status, set.body], [200, { status: 'Default version of model "m" set to 2.0' }]);
    assert.equal(await factor('/predictions/m'), 3);
    assert.equal(await factor('/v2/models/m/infer'), 3);
    assert.equal(await factor('/predictions/m/1.0'), 2, 'the other version still answers on its path');
    const back = await mgmt('/models/m/1.0/set-default', 'PUT');
    assert.equal(back.status, 200);
    assert.equal(await factor('/predictions/m'), 2);
  });

  it('refuses bad version input with clear 4xx answers', async () => {
    const again = await mgmt('/models?url=triple&model_version=2.0&initial_workers=0', 'POST');
    assert.deepEqual([again.status, again.body.errorCode, again.body.message], [409, 'CONFLICT', 'Model m is already registered.']);
    const bad = await mgmt(`/models?url=triple&model_version=${encodeURIComponent('../x')}`, 'POST');
    assert.deepEqual([bad.status, bad.body.errorCode], [400, 'BAD_REQUEST']);
    const unknown = await mgmt('/models/m/9.9/set-default', 'PUT');
    assert.deepEqual([unknown.status, unknown.body.message], [404, 'Model version not found: m/9.9']);
    assert.equal((await mgmt('/models/m/9.9')).status, 404);
    assert.equal((await mgmt('/models/nope/1.0/set-default', 'PUT')).status, 404);
    assert.equal((await mgmt('/models/m/2.0/set-default', 'POST')).status, 405);
    const pred = await postJson(`${server.inferenceUrl}/predictions/m/9.9`, v2Request('x', [1, 4], x));
    assert.deepEqual([pred.status, pred.body.message], [404, 'Model version not found: m/9.9']);
    assert.equal((await postJson(`${server.inferenceUrl}/v2/models/m/versions/9.9/infer`, v2Request('x', [1, 4], x))).status, 404);
  });

  it('model_name with the version from the manifest adds a version; an unversioned model stays its name\'s only one', async () => {
    const dir = writeModelDir(path.join(server.store, 'five'), { name: 'other' });
    const manifest = path.join(dir, 'MAR-INF', 'MANIFEST.json');
    writeFileSync(manifest, readFileSync(manifest, 'utf8').replace('"1.0"', '"5.0"'));
    const five = await mgmt('/models?url=five&model_name=m&initial_workers=0', 'POST');
    assert.deepEqual([five.status, five.body], [200, { status: 'Model "m" registered' }]);
    assert.equal((await mgmt('/models/m/5.0')).body.modelVersion, '5.0');
    assert.equal((await mgmt('/models/m/5.0', 'DELETE')).status, 200);
    // A directory without a manifest has no version: it may not join a versioned name, nor take one.
    writeScaleModel(path.join(server.store, 'plain'));
    assert.equal((await mgmt('/models?url=plain&model_name=m&initial_workers=0', 'POST')).status, 409);
    assert.equal((await mgmt('/models?url=plain&model_name=solo&initial_workers=0', 'POST')).status, 200);
    assert.equal((await mgmt('/models?url=triple&model_name=solo&model_version=2.0&initial_workers=0', 'POST')).status, 409);
    assert.equal((await mgmt('/models/solo', 'DELETE')).status, 200);
  });

  it('the default version is unregistered only as the last one; a non-default version goes on its own', async () => {
    const def = await mgmt('/models/m/1.0', 'DELETE');
    assert.deepEqual([def.status, def.body.errorCode], [409, 'CONFLICT']);
    assert.match(def.body.message, /default version of model m; set another default first/);
    assert.equal((await mgmt('/models/m', 'DELETE')).status, 409, 'unversioned DELETE names the default');
    const other = await mgmt('/models/m/2.0', 'DELETE');
    assert.deepEqual([other.status, other.body], [200, { status: 'Model "m" version 2.0 unregistered' }]);
    assert.equal((await postJson(`${server.inferenceUrl}/predictions/m/2.0`, v2Request('x', [1, 4], x))).status, 404);
    assert.equal(await factor('/predictions/m'), 2);
    const single = await mgmt('/models/m');
    assert.equal(Array.isArray(single.body), false, 'one version left: MMS\'s describe object');
    assert.equal(single.body.modelVersion, '1.0');
    assert.equal((await mgmt('/models/m', 'DELETE')).status, 200);
    assert.equal((await mgmt('/models/m')).status, 404);
  });
});
