// Register → list → describe → scale → predict → unregister over real HTTP with real workers.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { writeModelDir } from '../helpers/onnx-models.js';
import { eventually, isAlive, postJson, request, startTestServer, v2Request, type TestServer } from '../helpers/server.js';

describe('model lifecycle', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
    writeModelDir(path.join(server.store, 'scale'), { name: 'scale' });
  });
  after(() => server.close());

  const workerPids = async (name: string): Promise<number[]> =>
    (await request(`${server.managementUrl}/models/${name}`)).body.workers.map((w: { pid: number }) => w.pid);

  for (const synchronous of [true, false]) {
    it(`works end to end with synchronous=${synchronous}`, async () => {
      const name = `scale_${synchronous}`;
      const reg = await request(`${server.managementUrl}/models?url=scale&model_name=${name}&initial_workers=1&synchronous=${synchronous}`, { method: 'POST' });
      assert.equal(reg.status, synchronous ? 200 : 202);
      assert.deepEqual(reg.body, { status: synchronous ? 'Workers scaled' : 'Processing worker updates...' });

      const list = await request(`${server.managementUrl}/models`);
      assert.ok(list.body.models.some((m: { modelName: string; modelUrl: string }) => m.modelName === name && m.modelUrl === 'scale'));

      // Predictions queue behind a starting worker, so this works in both modes.
      const pred = await postJson(`${server.inferenceUrl}/predictions/${name}`, v2Request('x', [2, 4], [1, 2, 3, 4, 5, 6, 7, 8]));
      assert.equal(pred.status, 200, JSON.stringify(pred.body));
      assert.deepEqual(pred.body.outputs, [{ name: 'y', datatype: 'FP32', shape: [2, 4], data: [2, 4, 6, 8, 10, 12, 14, 16] }]);
      assert.match(pred.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);

      const described = await request(`${server.managementUrl}/models/${name}`);
      assert.equal(described.status, 200);
      assert.equal(described.body.modelName, name);
      assert.equal(described.body.modelVersion, '1.0');
      assert.equal(described.body.minWorkers, 1);
      assert.equal(described.body.workers.length, 1);
      assert.equal(described.body.workers[0].status, 'READY');

      const up = await request(`${server.managementUrl}/models/${name}?min_worker=3&synchronous=true`, { method: 'PUT' });
      assert.deepEqual([up.status, up.body], [200, { status: 'Workers scaled' }]);
      const pids = await workerPids(name);
      assert.equal(pids.length, 3);
      assert.equal(new Set(pids).size, 3);
      assert.ok(pids.every(isAlive), 'every described worker is a live process');

      const down = await request(`${server.managementUrl}/models/${name}?min_worker=1&max_worker=1&synchronous=true`, { method: 'PUT' });
      assert.equal(down.status, 200);
      const remaining = await workerPids(name);
      assert.deepEqual(remaining, [pids[0]], 'the newest workers are removed first');
      const removed = pids.slice(1);
      await eventually(() => removed.every((pid) => !isAlive(pid)));

      const asyncUp = await request(`${server.managementUrl}/models/${name}?min_worker=2`, { method: 'PUT' });
      assert.deepEqual([asyncUp.status, asyncUp.body], [202, { status: 'Processing worker updates...' }]);
      await eventually(async () => (await request(`${server.managementUrl}/models/${name}`)).body.workers.filter((w: { status: string }) => w.status === 'READY').length === 2);

      const all = await workerPids(name);
      const del = await request(`${server.managementUrl}/models/${name}`, { method: 'DELETE' });
      assert.deepEqual([del.status, del.body], [200, { status: `Model "${name}" unregistered` }]);
      assert.ok(all.every((pid) => !isAlive(pid)), 'unregister waits for its workers to exit');
      assert.equal((await request(`${server.managementUrl}/models/${name}`)).status, 404);
      assert.equal((await postJson(`${server.inferenceUrl}/predictions/${name}`, {})).status, 404);
    });
  }

  it('accepts registration parameters as a JSON body and pages the list', async () => {
    for (const n of ['b_model', 'a_model', 'c_model']) {
      const r = await postJson(`${server.managementUrl}/models`, { url: 'scale', model_name: n, initial_workers: '0' });
      assert.deepEqual([r.status, r.body], [200, { status: `Model "${n}" registered` }]);
    }
    const page1 = await request(`${server.managementUrl}/models?limit=2`);
    assert.deepEqual(page1.body.models.map((m: { modelName: string }) => m.modelName), ['a_model', 'b_model']);
    assert.equal(page1.body.nextPageToken, '2');
    const page2 = await request(`${server.managementUrl}/models?limit=2&next_page_token=2`);
    assert.deepEqual(page2.body.models.map((m: { modelName: string }) => m.modelName), ['c_model']);
    // A model with no workers answers 503, as MMS does.
    const noWorkers = await postJson(`${server.inferenceUrl}/predictions/a_model`, v2Request('x', [1, 4], [1, 2, 3, 4]));
    assert.equal(noWorkers.status, 503);
    assert.equal(noWorkers.body.type, 'ServiceUnavailableException');
    for (const n of ['a_model', 'b_model', 'c_model']) await request(`${server.managementUrl}/models/${n}`, { method: 'DELETE' });
  });

  it('answers /ping, the API description and the binary tensor format', async () => {
    const ping = await request(`${server.inferenceUrl}/ping`);
    assert.deepEqual([ping.status, ping.body], [200, { status: 'Healthy' }]);
    const desc = await request(`${server.inferenceUrl}/`, { method: 'OPTIONS' });
    assert.equal(desc.body.openapi, '3.0.1');
    assert.ok(desc.body.paths['/predictions/{model_name}']);
    const mdesc = await request(`${server.managementUrl}/api-description`);
    assert.ok(mdesc.body.paths['/models/{model_name}']);

    await request(`${server.managementUrl}/models?url=scale&model_name=bin&initial_workers=1`, { method: 'POST' });
    const header = Buffer.from(JSON.stringify({
      inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', parameters: { binary_data_size: 16 } }],
      outputs: [{ name: 'y', parameters: { binary_data: true } }],
    }));
    const tensor = Buffer.from(new Float32Array([1, -2, 3.5, 4]).buffer);
    const res = await fetch(`${server.inferenceUrl}/predictions/bin`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(header.length) },
      body: Buffer.concat([header, tensor]),
    });
    assert.equal(res.status, 200);
    const body = Buffer.from(await res.arrayBuffer());
    const jsonLength = Number(res.headers.get('inference-header-content-length'));
    const head = JSON.parse(body.subarray(0, jsonLength).toString());
    assert.deepEqual(head.outputs[0], { name: 'y', datatype: 'FP32', shape: [1, 4], parameters: { binary_data_size: 16 } });
    const out = new Float32Array(body.buffer.slice(body.byteOffset + jsonLength, body.byteOffset + body.length));
    assert.deepEqual([...out], [2, -4, 7, 8]);
    await request(`${server.managementUrl}/models/bin`, { method: 'DELETE' });
  });
});
