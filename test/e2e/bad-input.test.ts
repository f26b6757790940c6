// Every bad input gets a clear JSON error with the right status, and a healthy model next to it
// keeps serving throughout.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { CATALOGUE, type ErrorCode } from '../../frontend/errors.js';
import { writeBadModel, writeModelDir } from '../helpers/onnx-models.js';
import { childPids, postJson, request, startTestServer, v2Request, type TestServer } from '../helpers/server.js';

describe('bad input', () => {
  let server: TestServer;
  const good = () => postJson(`${server.inferenceUrl}/predictions/good`, v2Request('x', [1, 4], [1, 1, 1, 1]));

  before(async () => {
    server = await startTestServer({ max_request_size: '100000' });
    writeModelDir(path.join(server.store, 'scale'), { name: 'scale' });
    writeModelDir(path.join(server.store, 'broken'), { name: 'broken', build: (d) => writeBadModel(d) });
    const r = await request(`${server.managementUrl}/models?url=scale&model_name=good&initial_workers=1`, { method: 'POST' });
    assert.equal(r.status, 200);
  });
  after(async () => {
    // The healthy model served every request in between.
    const r = await good();
    assert.equal(r.status, 200);
    await server.close();
  });

  const expectError = (r: { status: number; body: any; headers: Headers }, status: number, type: string, message: RegExp, errorCode?: ErrorCode) => {
    assert.equal(r.status, status, JSON.stringify(r.body));
    assert.match(r.headers.get('content-type') ?? '', /application\/json/);
    assert.equal(r.body.code, status);
    assert.equal(r.body.type, type);
    assert.match(r.body.message, message);
    // Every error names its catalogue entry; only a handler's error picks its own status and type.
    const entry = CATALOGUE[r.body.errorCode as ErrorCode];
    assert.ok(entry, `errorCode ${r.body.errorCode}`);
    if (r.body.errorCode !== 'HANDLER_ERROR') assert.deepEqual([entry.status, entry.type], [status, type]);
    if (errorCode) assert.equal(r.body.errorCode, errorCode);
  };

  it('unknown model: 404', async () => {
    expectError(await postJson(`${server.inferenceUrl}/predictions/nope`, {}), 404, 'ModelNotFoundException', /Model not found: nope/, 'MODEL_NOT_FOUND');
    expectError(await request(`${server.managementUrl}/models/nope`), 404, 'ModelNotFoundException', /Model not found: nope/);
    expectError(await request(`${server.managementUrl}/models/nope?min_worker=1`, { method: 'PUT' }), 404, 'ModelNotFoundException', /nope/);
    expectError(await request(`${server.managementUrl}/models/nope`, { method: 'DELETE' }), 404, 'ModelNotFoundException', /nope/);
  });

  it('unknown path: 404; wrong method: 405', async () => {
    expectError(await request(`${server.inferenceUrl}/nothing/here`), 404, 'ResourceNotFoundException', /not found/, 'RESOURCE_NOT_FOUND');
    // /models/{name}/{version} is the version API's (a version of an unknown model: ModelNotFound); deeper paths are unknown.
    expectError(await request(`${server.managementUrl}/models/a/b/c`), 404, 'ResourceNotFoundException', /not found/);
    expectError(await request(`${server.managementUrl}/models/a/b`), 404, 'ModelNotFoundException', /Model not found: a/);
    expectError(await request(`${server.managementUrl}/models`, { method: 'PATCH' }), 405, 'MethodNotAllowedException', /not allowed/, 'METHOD_NOT_ALLOWED');
    expectError(await request(`${server.managementUrl}/models/good`, { method: 'POST' }), 405, 'MethodNotAllowedException', /not allowed/);
    expectError(await request(`${server.inferenceUrl}/`), 405, 'MethodNotAllowedException', /not allowed/);
  });

  it('duplicate registration: 409', async () => {
    const r = await request(`${server.managementUrl}/models?url=scale&model_name=good`, { method: 'POST' });
    expectError(r, 409, 'ConflictStatusException', /Model good is already registered/, 'CONFLICT');
  });

  it('missing or bad url: 400/404', async () => {
    expectError(await request(`${server.managementUrl}/models`, { method: 'POST' }), 400, 'BadRequestException', /Parameter url is required/);
    expectError(await request(`${server.managementUrl}/models?url=missing`, { method: 'POST' }), 404, 'ModelNotFoundException', /Model not found in model store: missing/);
    expectError(await request(`${server.managementUrl}/models?url=../etc`, { method: 'POST' }), 404, 'ModelNotFoundException', /Relative path is not allowed/);
    expectError(await request(`${server.managementUrl}/models?url=scale&runtime=python`, { method: 'POST' }), 400, 'BadRequestException', /Invalid RuntimeType value: python/);
  });

  it('malformed JSON: 400', async () => {
    const reg = await request(`${server.managementUrl}/models`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"url": ' });
    expectError(reg, 400, 'BadRequestException', /Malformed JSON/);
    const pred = await request(`${server.inferenceUrl}/predictions/good`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"inputs": [' });
    expectError(pred, 400, 'BadRequestException', /Malformed JSON/, 'INVALID_INPUT');
  });

  it('bad tensors: 400 naming the problem', async () => {
    const url = `${server.inferenceUrl}/predictions/good`;
    expectError(await postJson(url, v2Request('z', [1, 4], [1, 2, 3, 4])), 400, 'BadRequestException', /Unknown input "z".*inputs are: x/);
    expectError(await postJson(url, v2Request('x', [1, 5], [1, 2, 3, 4, 5])), 400, 'BadRequestException', /dimension 1 must be 4/);
    expectError(await postJson(url, v2Request('x', [4], [1, 2, 3, 4])), 400, 'BadRequestException', /rank 2/);
    expectError(await postJson(url, v2Request('x', [1, 4], [1, 2, 3])), 400, 'BadRequestException', /3 elements but shape \[1,4\] needs 4/);
    expectError(await postJson(url, { inputs: [{ name: 'x', shape: [1, 4], datatype: 'INT32', data: [1, 2, 3, 4] }] }), 400, 'BadRequestException', /expects FP32/);
    expectError(await postJson(url, { inputs: [] }), 400, 'BadRequestException', /non-empty "inputs"/);
    const header = Buffer.from(JSON.stringify({ inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', parameters: { binary_data_size: 12 } }] }));
    const r = await request(url, {
      method: 'POST',
      headers: { 'inference-header-content-length': String(header.length) },
      body: Buffer.concat([header, Buffer.alloc(12)]),
    });
    expectError(r, 400, 'BadRequestException', /12 bytes but shape \[1,4\] of FP32 needs 16/);
    expectError(await request(url, { method: 'POST' }), 400, 'BadRequestException', /body is empty/);
  });

  it('data nested far deeper than the shape: 400, not a stack overflow', async () => {
    const depth = 40_000; // overflows a recursive flatten, and fits max_request_size
    const body = `{"inputs":[{"name":"x","shape":[1,4],"datatype":"FP32","data":${'['.repeat(depth)}1${']'.repeat(depth)}}]}`;
    const r = await request(`${server.inferenceUrl}/predictions/good`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    expectError(r, 400, 'BadRequestException', /Input "x" has "data" nested deeper than its shape \[1,4\] \(rank 2\)/);
    // Nesting that follows the shape is still accepted.
    assert.equal((await postJson(`${server.inferenceUrl}/predictions/good`, v2Request('x', [1, 4], [[1, 2, 3, 4]] as never))).status, 200);
  });

  it('a zero dimension: 400 (JSON and binary)', async () => {
    const url = `${server.inferenceUrl}/predictions/good`;
    expectError(await postJson(url, v2Request('x', [0, 4], [])), 400, 'BadRequestException', /Input "x" has shape \[0,4\] with a zero dimension/);
    const header = Buffer.from(JSON.stringify({ inputs: [{ name: 'x', shape: [0, 4], datatype: 'FP32', parameters: { binary_data_size: 0 } }] }));
    const r = await request(url, { method: 'POST', headers: { 'inference-header-content-length': String(header.length) }, body: header });
    expectError(r, 400, 'BadRequestException', /zero dimension/);
  });

  it('a truncated multipart upload: 400, and no uncaught error in the server', async () => {
    const uncaught: Error[] = [];
    const monitor = (err: Error) => uncaught.push(err);
    process.on('uncaughtExceptionMonitor', monitor);
    try {
      const body = '--xyz\r\nContent-Disposition: form-data; name="a"; filename="a.json"\r\nContent-Type: application/json\r\n\r\n{"inputs":[';
      const r = await request(`${server.inferenceUrl}/predictions/good`, { method: 'POST', headers: { 'content-type': 'multipart/form-data; boundary=xyz' }, body });
      expectError(r, 400, 'BadRequestException', /Invalid multipart request: Unexpected end of form/);
      await good(); // one more round trip through the server's event loop
      assert.deepEqual(uncaught.map((e) => e.message), []);
    } finally {
      process.off('uncaughtExceptionMonitor', monitor);
    }
  });

  it('request over max_request_size: 413 before buffering', async () => {
    const r = await request(`${server.inferenceUrl}/predictions/good`, { method: 'POST', body: Buffer.alloc(200_000) });
    expectError(r, 413, 'RequestEntityTooLargeException', /max_request_size/, 'PAYLOAD_TOO_LARGE');
  });

  it('negative, absurd or non-integer worker counts: 400', async () => {
    for (const q of ['min_worker=-1', 'min_worker=100000', 'min_worker=two', 'min_worker=2&max_worker=1']) {
      const r = await request(`${server.managementUrl}/models/good?${q}`, { method: 'PUT' });
      assert.equal(r.status, 400, q);
      assert.equal(r.body.type, 'BadRequestException');
    }
    const r = await request(`${server.managementUrl}/models?url=scale&model_name=x&initial_workers=-3`, { method: 'POST' });
    expectError(r, 400, 'BadRequestException', /initial_workers must be an integer between 0 and/);
    assert.equal((await request(`${server.managementUrl}/models/x`)).status, 404, 'nothing was registered');
  });

  it('a worker that crashes while loading fails the registration and leaves no process', async () => {
    const before = childPids();
    const r = await request(`${server.managementUrl}/models?url=broken&initial_workers=2`, { method: 'POST' });
    expectError(r, 500, 'InternalServerException', /Failed to start workers: Failed to load model: .*(protobuf|model|ONNX)/i);
    assert.equal((await request(`${server.managementUrl}/models/broken`)).status, 404, 'the model is unregistered again');
    assert.deepEqual(childPids(), before, 'no worker process left behind');
  });
});
