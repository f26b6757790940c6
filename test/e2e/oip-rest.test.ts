// The Open Inference Protocol's REST routes (docs/api.md, "Open Inference Protocol: REST"): health,
// server and model metadata, readiness (not while a slow model loads, not after its load failed),
// inference in JSON and the binary-data extension with outputs, parameters and the id echoed, errors
// as `{"error": "..."}`; Triton's repository extension on the management listener; the API page's
// files. Real server, fronts and worker processes, real ONNX models.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { writeHandlerModelDir } from '../helpers/fixtures.js';
import { metricValue } from '../helpers/metrics.js';
import { writeBadModel, writeModelDir } from '../helpers/onnx-models.js';
import { eventually, postJson, request, startTestServer, type TestServer } from '../helpers/server.js';

const MAX_REQUEST_SIZE = 65536;

describe('Open Inference Protocol over REST', () => {
  let server: TestServer;
  const inf = (p: string, init?: RequestInit) => request(`${server.inferenceUrl}${p}`, init);
  const mgmt = (p: string, body?: unknown) =>
    request(`${server.managementUrl}${p}`, { method: 'POST', ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }) });
  const register = async (query: string, expected = 200) => {
    const r = await request(`${server.managementUrl}/models?${query}`, { method: 'POST' });
    assert.equal(r.status, expected, JSON.stringify(r.body));
  };
  /** A v2 error: the status, and the protocol's body with only `error`. */
  const isV2Error = (r: { status: number; body: any }, status: number, message?: RegExp) => {
    assert.equal(r.status, status, JSON.stringify(r.body));
    assert.deepEqual(Object.keys(r.body), ['error'], JSON.stringify(r.body));
    if (message) assert.match(r.body.error, message);
  };

  before(async () => {
    server = await startTestServer({ max_request_size: String(MAX_REQUEST_SIZE) });
    writeModelDir(path.join(server.store, 'scale'), { name: 'scale' });
    writeModelDir(path.join(server.store, 'spare'), { name: 'spare' });
    writeModelDir(path.join(server.store, 'broken'), { name: 'broken', build: (d) => writeBadModel(d) });
    writeHandlerModelDir(path.join(server.store, 'echo'), 'echo');
    mkdirSync(path.join(server.store, 'gate'));
    writeHandlerModelDir(path.join(server.store, 'gate'), 'gate', 'gate.mjs');
    await register('url=scale&initial_workers=1');
    await register('url=echo&initial_workers=1');
  });
  after(async () => {
    writeFileSync(path.join(server.store, 'gate', 'release'), '');
    await server?.close();
  });

  it('health, server metadata, model metadata and readiness of a loaded model', async () => {
    assert.deepEqual((await inf('/v2/health/live')).body, { live: true });
    assert.deepEqual((await inf('/v2/health/ready')).body, { ready: true });
    const meta = await inf('/v2');
    assert.equal(meta.status, 200);
    assert.equal(meta.body.name, 'multi-model-server');
    assert.deepEqual(meta.body.extensions, ['binary_tensor_data']);
    const expected = {
      name: 'scale', versions: ['1.0'], platform: 'onnxruntime_onnx',
      inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 4] }], outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 4] }],
    };
    for (const p of ['/v2/models/scale', '/v2/models/scale/versions/1.0']) assert.deepEqual((await inf(p)).body, expected, p);
    for (const p of ['/v2/models/scale/ready', '/v2/models/scale/versions/1.0/ready']) {
      const r = await inf(p);
      assert.equal(r.status, 200, p);
      assert.deepEqual(r.body, { name: 'scale', ready: true });
    }
    isV2Error(await inf('/v2/models/nope'), 404, /Model not found: nope/);
    isV2Error(await inf('/v2/models/nope/ready'), 404);
    isV2Error(await inf('/v2/models/scale/versions/2'), 404, /Model version not found: scale\/2/);
    isV2Error(await inf('/v2/models/echo'), 400, /no metadata/);
  });

  it('infer, JSON: the id echoed, parameters accepted, outputs as JSON', async () => {
    const r = await postJson(`${server.inferenceUrl}/v2/models/scale/infer`, {
      id: 'r-1', parameters: { custom: 'yes' }, inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }],
    });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(r.body, { model_name: 'scale', model_version: '1.0', id: 'r-1', outputs: [{ name: 'y', datatype: 'FP32', shape: [1, 4], data: [2, 4, 6, 8] }] });
    const v = await postJson(`${server.inferenceUrl}/v2/models/scale/versions/1.0/infer`, { inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', data: [[0, 1, 2, 3]] }] });
    assert.deepEqual(v.body.outputs[0].data, [0, 2, 4, 6]);
  });

  it('infer, binary-data extension: raw input bytes in, the selected output as raw bytes out', async () => {
    const x = Buffer.from(new Float32Array([1, 2, 3, 4]).buffer);
    const header = Buffer.from(JSON.stringify({
      inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', parameters: { binary_data_size: x.length } }],
      outputs: [{ name: 'y', parameters: { binary_data: true } }],
    }));
    const res = await fetch(`${server.inferenceUrl}/v2/models/scale/infer`, {
      method: 'POST', body: Buffer.concat([header, x]),
      headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(header.length) },
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/octet-stream');
    const body = Buffer.from(await res.arrayBuffer());
    const n = Number(res.headers.get('inference-header-content-length'));
    const head = JSON.parse(body.subarray(0, n).toString());
    assert.deepEqual(head.outputs, [{ name: 'y', datatype: 'FP32', shape: [1, 4], parameters: { binary_data_size: 16 } }]);
    const y = body.subarray(n);
    assert.deepEqual(Array.from(new Float32Array(y.buffer.slice(y.byteOffset, y.byteOffset + 16))), [2, 4, 6, 8]);
  });

  it('infer, binary-data extension sent as curl --data-binary sends it (a form content type): the header says what the body is', async () => {
    const x = Buffer.from(new Float32Array([1, 2, 3, 4]).buffer);
    const header = Buffer.from(JSON.stringify({ inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', parameters: { binary_data_size: x.length } }] }));
    for (const path of ['/v2/models/scale/infer', '/predictions/scale']) {
      const r = await inf(path, {
        method: 'POST', body: Buffer.concat([header, x]),
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'inference-header-content-length': String(header.length) },
      });
      assert.equal(r.status, 200, `${path}: ${JSON.stringify(r.body)}`);
      assert.deepEqual(r.body.outputs[0].data, [2, 4, 6, 8]);
    }
  });

  it('a tensor request sent as a form (curl -d, no binary header): a 400 that says what was received and what is expected', async () => {
    const r = await inf('/v2/models/scale/infer', {
      method: 'POST', body: JSON.stringify({ inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }] }),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    isV2Error(r, 400, /read as form fields \(Content-Type: application\/x-www-form-urlencoded\).*expected .*application\/json.*Inference-Header-Content-Length/);
  });

  it('infer errors are {"error": ...}: bad tensor, unknown model, not a tensor model, wrong method, too large, unknown path', async () => {
    const url = `${server.inferenceUrl}/v2/models/scale/infer`;
    isV2Error(await postJson(url, { inputs: [{ name: 'x', shape: [1, 5], datatype: 'FP32', data: [1, 2, 3, 4, 5] }] }), 400, /dimension 1 must be 4/);
    isV2Error(await postJson(url, { inputs: [{ name: 'x', shape: [1, 4], datatype: 'INT64', data: [1, 2, 3, 4] }] }), 400, /datatype INT64 but the model expects FP32/);
    isV2Error(await postJson(url, { inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }], outputs: [{ name: 'z' }] }), 400, /Unknown output/);
    isV2Error(await request(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"inputs": [' }), 400, /Malformed JSON/);
    isV2Error(await postJson(`${server.inferenceUrl}/v2/models/nope/infer`, {}), 404, /Model not found: nope/);
    isV2Error(await postJson(`${server.inferenceUrl}/v2/models/scale/versions/9/infer`, {}), 404);
    isV2Error(await postJson(`${server.inferenceUrl}/v2/models/echo/infer`, {}), 400, /not served by the built-in tensor handler/);
    isV2Error(await inf('/v2/models/scale/infer'), 405);
    isV2Error(await inf('/v2/health/live', { method: 'POST' }), 405);
    isV2Error(await request(url, { method: 'POST', body: Buffer.alloc(MAX_REQUEST_SIZE + 1) }), 413, /max_request_size/);
    isV2Error(await inf('/v2/nothing/here'), 404);
  });

  it('readiness: not while a slow model loads, then ready once it has a live worker', async () => {
    writeFileSync(path.join(server.store, 'gate', 'hold'), '');
    await register('url=gate&initial_workers=1&synchronous=false', 202);
    // The worker holds in initialize until `release` exists: the model is registered, not loaded.
    await eventually(async () => (await request(`${server.managementUrl}/models/gate`)).body.workers?.[0]?.status === 'STARTING');
    isV2Error(await inf('/v2/models/gate/ready'), 400, /not ready/);
    isV2Error(await inf('/v2/health/ready'), 400, /Not every model/);
    writeFileSync(path.join(server.store, 'gate', 'release'), '');
    await eventually(async () => (await inf('/v2/models/gate/ready')).status === 200);
    assert.deepEqual((await inf('/v2/health/ready')).body, { ready: true });
  });

  it('readiness: not after a model\'s load failed; the server is ready again once it is unloaded', async () => {
    await register('url=broken&initial_workers=1&synchronous=false', 202);
    await eventually(async () => (await metricValue(server.metricsUrl, 'mms_worker_restarts_total', { model: 'broken' })) >= 1);
    isV2Error(await inf('/v2/models/broken/ready'), 400, /not ready/);
    isV2Error(await inf('/v2/models/broken'), 400, /not been loaded/);
    isV2Error(await inf('/v2/health/ready'), 400);
    const index = (await mgmt('/v2/repository/index')).body as Array<{ name: string; state: string }>;
    assert.notEqual(index.find((e) => e.name === 'broken')?.state, 'READY');
    assert.deepEqual((await mgmt('/v2/repository/models/broken/unload')).body, { name: 'broken', unload: true });
    assert.equal((await inf('/v2/health/ready')).status, 200);
  });

  it('repository extension: index, load from model_store, unload; errors as {"error": ...}', async () => {
    const index = await mgmt('/v2/repository/index', {});
    assert.equal(index.status, 200);
    const byName = Object.fromEntries((index.body as Array<{ name: string }>).map((e) => [e.name, e]));
    assert.deepEqual(byName.scale, { name: 'scale', version: '1.0', state: 'READY', reason: '' });
    assert.deepEqual(byName.spare, { name: 'spare', state: 'UNAVAILABLE', reason: 'unloaded' });
    const ready = (await mgmt('/v2/repository/index', { ready: true })).body as Array<{ state: string }>;
    assert.ok(ready.length > 0 && ready.every((e) => e.state === 'READY'));

    isV2Error(await inf('/v2/models/spare/ready'), 404);
    // Any register parameter but the name, version and synchronous (model-params.ts).
    const load = await mgmt('/v2/repository/models/spare/load', { parameters: { batch_size: 2, execution_provider: 'cpu', idle_timeout_ms: 600000 } });
    assert.equal(load.status, 200, JSON.stringify(load.body));
    assert.deepEqual(load.body, { name: 'spare', load: true });
    assert.equal((await inf('/v2/models/spare/ready')).status, 200);
    const described = (await request(`${server.managementUrl}/models/spare`)).body;
    assert.deepEqual([described.batchSize, described.executionProvider, described.idleTimeoutMs], [2, 'cpu', 600000]);
    // Loading a model scaled to zero makes it run a worker again.
    assert.equal((await request(`${server.managementUrl}/models/spare?min_worker=0&synchronous=true`, { method: 'PUT' })).status, 200);
    isV2Error(await inf('/v2/models/spare/ready'), 400);
    assert.equal((await mgmt('/v2/repository/models/spare/load')).status, 200);
    assert.equal((await inf('/v2/models/spare/ready')).status, 200);
    assert.deepEqual((await mgmt('/v2/repository/models/spare/unload')).body, { name: 'spare', unload: true });
    isV2Error(await inf('/v2/models/spare/ready'), 404);

    isV2Error(await mgmt('/v2/repository/models/nothing/load'), 404, /not found in model store: nothing/);
    isV2Error(await mgmt('/v2/repository/models/nothing/unload'), 404, /Model not found: nothing/);
    isV2Error(await mgmt('/v2/repository/models/spare/load', { parameters: { config: '{}' } }), 400, /Unsupported load parameter\(s\): config/);
    isV2Error(await mgmt('/v2/repository/models/spare/load', { parameters: { model_name: 'other' } }), 400, /Unsupported load parameter\(s\): model_name/);
    isV2Error(await mgmt('/v2/repository/models/spare/load', { parameters: { batch_size: 'many' } }), 400, /batch_size must be an integer/);
    isV2Error(await request(`${server.managementUrl}/v2/repository/index`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '[' }), 400, /Malformed JSON/);
    isV2Error(await request(`${server.managementUrl}/v2/repository/index`), 405);
    // Repository routes are the management listener's only.
    isV2Error(await inf('/v2/repository/index', { method: 'POST' }), 404);
  });

  it('the API page and its files are served locally on both listeners; nothing else of the package', async () => {
    for (const base of [server.inferenceUrl, server.managementUrl]) {
      const page = await fetch(`${base}/docs`);
      assert.equal(page.status, 200);
      assert.match(page.headers.get('content-type') ?? '', /text\/html/);
      assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'self'/);
      const html = await page.text();
      assert.ok(!/https?:\/\//.test(html), 'the page loads nothing from another origin');
      for (const file of ['swagger-ui-bundle.js', 'swagger-ui.css', 'init.js']) {
        const r = await fetch(`${base}/docs/${file}`);
        assert.equal(r.status, 200, file);
        assert.ok((await r.arrayBuffer()).byteLength > 0, file);
      }
      for (const file of ['package.json', 'index.html', '..%2Fpackage.json']) assert.equal((await fetch(`${base}/docs/${file}`)).status, 404, file);
    }
  });
});
