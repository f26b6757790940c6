// The Open Inference Protocol over gRPC (docs/api.md, "Open Inference Protocol: gRPC"), with a stock
// grpc-js client built from the server's grpc_predict_v2.proto: every RPC, raw and typed tensor
// contents for FP32, INT64 and BYTES, outputs selection, parameters, the id echoed, and each failure's
// status: INVALID_ARGUMENT with the reason, NOT_FOUND, FAILED_PRECONDITION, RESOURCE_EXHAUSTED,
// UNAVAILABLE (full queue), UNAUTHENTICATED. Real server, fronts and worker processes, real ONNX models.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { writeHandlerModelDir } from '../helpers/fixtures.js';
import { InferenceClient } from '../helpers/grpc-client.js';
import { metricValue } from '../helpers/metrics.js';
import { writeAddModel, writeModelDir, writeStringIdentityModel } from '../helpers/onnx-models.js';
import { eventually, request, sharedAddress, startTestServer, type TestServer } from '../helpers/server.js';

const MAX_REQUEST_SIZE = 65536;
const f32 = (...v: number[]) => Buffer.from(new Float32Array(v).buffer);
const readF32 = (b: Buffer) => Array.from(new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)));
const readI64 = (b: Buffer) => Array.from(new BigInt64Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)));
/** BYTES elements as raw contents lay them out: a 4-byte little-endian length, then the bytes. */
const bytesRaw = (...items: string[]) => Buffer.concat(items.flatMap((s) => {
  const len = Buffer.alloc(4);
  len.writeUInt32LE(Buffer.byteLength(s));
  return [len, Buffer.from(s)];
}));
function readBytes(b: Buffer): string[] {
  const out: string[] = [];
  for (let at = 0; at < b.length; ) {
    const n = b.readUInt32LE(at);
    out.push(b.toString('utf8', at + 4, at + 4 + n));
    at += 4 + n;
  }
  return out;
}
const scaleInput = (shape = ['1', '4'], datatype = 'FP32') => ({ name: 'x', datatype, shape });

describe('Open Inference Protocol over gRPC', () => {
  let server: TestServer;
  let client: InferenceClient;
  const register = async (query: string) => {
    const r = await request(`${server.managementUrl}/models?${query}`, { method: 'POST' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
  };

  before(async () => {
    // One waiting request per model (job_queue_size=1): a held worker fills its queue at 1 + 1 × 2 × 1 = 3.
    server = await startTestServer({ job_queue_size: '1', max_request_size: String(MAX_REQUEST_SIZE), worker_ping_interval_ms: '600000' });
    writeModelDir(path.join(server.store, 'scale'), { name: 'scale' });
    writeModelDir(path.join(server.store, 'add'), { name: 'add', build: (d) => writeAddModel(d) });
    writeModelDir(path.join(server.store, 'strings'), { name: 'strings', build: (d) => writeStringIdentityModel(d) });
    writeHandlerModelDir(path.join(server.store, 'echo'), 'echo');
    for (const q of ['url=scale', 'url=add', 'url=strings', 'url=echo', 'url=scale&model_name=held']) await register(`${q}&initial_workers=1`);
    client = new InferenceClient(server.grpcUrl);
  });
  after(async () => {
    client?.close();
    await server?.close();
  });

  it('listens on its own loopback address', () => {
    assert.match(server.grpcUrl, /^127\.0\.0\.1:\d+$/);
    assert.notEqual(server.grpcUrl, new URL(server.inferenceUrl).host);
  });

  it('ServerLive, ServerReady and ServerMetadata', async () => {
    assert.deepEqual(await client.ok('ServerLive', {}), { live: true });
    assert.deepEqual(await client.ok('ServerReady', {}), { ready: true });
    const meta = await client.ok('ServerMetadata', {});
    assert.equal(meta.name, 'multi-model-server');
    assert.equal(meta.version, JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')).version);
    assert.deepEqual(meta.extensions, ['binary_tensor_data']);
  });

  it('ModelReady: a loaded model by name and version; an unknown model or version is NOT_FOUND', async () => {
    assert.deepEqual(await client.ok('ModelReady', { name: 'scale' }), { ready: true });
    assert.deepEqual(await client.ok('ModelReady', { name: 'scale', version: '1.0' }), { ready: true });
    for (const req of [{ name: 'nope' }, { name: 'scale', version: '9' }]) {
      const e = await client.fails('ModelReady', req);
      assert.equal(e.code, grpc.status.NOT_FOUND, e.details);
      assert.equal(e.errorCode, 'MODEL_NOT_FOUND');
    }
  });

  it('ModelMetadata comes from the loaded model: names, datatypes, -1 for dynamic dimensions', async () => {
    assert.deepEqual(await client.ok('ModelMetadata', { name: 'scale' }), {
      name: 'scale', versions: ['1.0'], platform: 'onnxruntime_onnx',
      inputs: [{ name: 'x', datatype: 'FP32', shape: ['-1', '4'] }],
      outputs: [{ name: 'y', datatype: 'FP32', shape: ['-1', '4'] }],
    });
    const add = await client.ok('ModelMetadata', { name: 'add', version: '1.0' });
    assert.deepEqual(add.inputs, [{ name: 'a', datatype: 'INT64', shape: ['-1'] }, { name: 'b', datatype: 'INT64', shape: ['-1'] }]);
    const strings = await client.ok('ModelMetadata', { name: 'strings' });
    assert.deepEqual(strings.outputs, [{ name: 'y', datatype: 'BYTES', shape: ['-1'] }]);
    assert.equal((await client.fails('ModelMetadata', { name: 'nope' })).code, grpc.status.NOT_FOUND);
  });

  it('ModelInfer FP32 with raw_input_contents: raw_output_contents back, id and version echoed', async () => {
    const r = await client.ok('ModelInfer', { model_name: 'scale', id: 'req-1', inputs: [scaleInput()], raw_input_contents: [f32(1, 2, 3, 4)] });
    assert.equal(r.model_name, 'scale');
    assert.equal(r.model_version, '1.0');
    assert.equal(r.id, 'req-1');
    assert.deepEqual(r.outputs, [{ name: 'y', datatype: 'FP32', shape: ['1', '4'] }]);
    assert.deepEqual(readF32(r.raw_output_contents[0]), [2, 4, 6, 8]);
  });

  it('ModelInfer FP32 with typed contents, parameters accepted, outputs selected by name', async () => {
    const r = await client.ok('ModelInfer', {
      model_name: 'scale', model_version: '1.0',
      parameters: { note: { string_param: 'any' }, count: { int64_param: 3 } },
      inputs: [{ ...scaleInput(['2', '4']), contents: { fp32_contents: [1, 2, 3, 4, 5, 6, 7, 8] } }],
      outputs: [{ name: 'y' }],
    });
    assert.deepEqual(r.outputs, [{ name: 'y', datatype: 'FP32', shape: ['2', '4'] }]);
    assert.deepEqual(readF32(r.raw_output_contents[0]), [2, 4, 6, 8, 10, 12, 14, 16]);
    const e = await client.fails('ModelInfer', { model_name: 'scale', inputs: [{ ...scaleInput(), contents: { fp32_contents: [1, 2, 3, 4] } }], outputs: [{ name: 'z' }] });
    assert.equal(e.code, grpc.status.INVALID_ARGUMENT);
    assert.match(e.details, /Unknown output\(s\): z/);
  });

  it('ModelInfer INT64, raw and typed (exact beyond 2^53)', async () => {
    const big = 2n ** 60n;
    const raw = await client.ok('ModelInfer', {
      model_name: 'add',
      inputs: [{ name: 'a', datatype: 'INT64', shape: ['2'] }, { name: 'b', datatype: 'INT64', shape: ['2'] }],
      raw_input_contents: [Buffer.from(new BigInt64Array([big, 5n]).buffer), Buffer.from(new BigInt64Array([1n, -7n]).buffer)],
    });
    assert.deepEqual(raw.outputs, [{ name: 'sum', datatype: 'INT64', shape: ['2'] }]);
    assert.deepEqual(readI64(raw.raw_output_contents[0]), [big + 1n, -2n]);
    const typed = await client.ok('ModelInfer', {
      model_name: 'add',
      inputs: [
        { name: 'a', datatype: 'INT64', shape: ['2'], contents: { int64_contents: [String(big), '5'] } },
        { name: 'b', datatype: 'INT64', shape: ['2'], contents: { int64_contents: ['1', '-7'] } },
      ],
    });
    assert.deepEqual(readI64(typed.raw_output_contents[0]), [big + 1n, -2n]);
  });

  it('ModelInfer BYTES, raw and typed; BYTES outputs come back as raw contents', async () => {
    const raw = await client.ok('ModelInfer', { model_name: 'strings', inputs: [{ name: 'x', datatype: 'BYTES', shape: ['2'] }], raw_input_contents: [bytesRaw('héllo', '')] });
    assert.deepEqual(raw.outputs, [{ name: 'y', datatype: 'BYTES', shape: ['2'] }]);
    assert.deepEqual(readBytes(raw.raw_output_contents[0]), ['héllo', '']);
    const typed = await client.ok('ModelInfer', {
      model_name: 'strings', inputs: [{ name: 'x', datatype: 'BYTES', shape: ['3'], contents: { bytes_contents: [Buffer.from('a'), Buffer.from('bc'), Buffer.from('def')] } }],
    });
    assert.deepEqual(readBytes(typed.raw_output_contents[0]), ['a', 'bc', 'def']);
  });

  it('a wrong shape, datatype or contents is INVALID_ARGUMENT with the reason', async () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ model_name: 'scale', inputs: [scaleInput(['1', '5'])], raw_input_contents: [f32(1, 2, 3, 4, 5)] }, /shape \[1,5\] but dimension 1 must be 4/],
      [{ model_name: 'scale', inputs: [scaleInput(['1', '4'], 'FP64')], raw_input_contents: [Buffer.alloc(32)] }, /datatype FP64 but the model expects FP32/],
      [{ model_name: 'scale', inputs: [scaleInput()], raw_input_contents: [f32(1, 2, 3)] }, /has 12 bytes but shape \[1,4\] of FP32 needs 16/],
      [{ model_name: 'scale', inputs: [{ ...scaleInput(), contents: { int_contents: [1, 2, 3, 4] } }] }, /FP32 takes its values in contents.fp32_contents, not contents.int_contents/],
      [{ model_name: 'scale', inputs: [scaleInput()], raw_input_contents: [f32(1, 2, 3, 4), f32(1)] }, /raw_input_contents has 2 entries but the request has 1 inputs/],
      [{ model_name: 'scale', inputs: [{ ...scaleInput(['1', '4'], 'FP17'), contents: { fp32_contents: [1, 2, 3, 4] } }] }, /unknown datatype "FP17"/],
      [{ model_name: 'scale', inputs: [{ name: 'q', datatype: 'FP32', shape: ['1', '4'] }], raw_input_contents: [f32(1, 2, 3, 4)] }, /Unknown input "q"/],
      [{ model_name: 'scale', inputs: [] }, /non-empty "inputs"/],
    ];
    for (const [req, reason] of cases) {
      const e = await client.fails('ModelInfer', req);
      assert.equal(e.code, grpc.status.INVALID_ARGUMENT, e.details);
      assert.match(e.details, reason);
    }
  });

  it('an unknown model or version is NOT_FOUND; a model without the tensor handler is FAILED_PRECONDITION', async () => {
    const unknown = await client.fails('ModelInfer', { model_name: 'nope', inputs: [scaleInput()], raw_input_contents: [f32(1, 2, 3, 4)] });
    assert.equal(unknown.code, grpc.status.NOT_FOUND);
    assert.equal(unknown.details, 'Model not found: nope');
    const version = await client.fails('ModelInfer', { model_name: 'scale', model_version: '2', inputs: [scaleInput()], raw_input_contents: [f32(1, 2, 3, 4)] });
    assert.equal(version.code, grpc.status.NOT_FOUND);
    const echo = await client.fails('ModelInfer', { model_name: 'echo', inputs: [scaleInput()], raw_input_contents: [f32(1, 2, 3, 4)] });
    assert.equal(echo.code, grpc.status.FAILED_PRECONDITION);
    assert.equal(echo.errorCode, 'NOT_TENSOR_MODEL');
  });

  it('a message over max_request_size is RESOURCE_EXHAUSTED', async () => {
    const n = MAX_REQUEST_SIZE / 4 + 16;
    const e = await client.fails('ModelInfer', { model_name: 'scale', inputs: [scaleInput([String(n / 4), '4'])], raw_input_contents: [Buffer.alloc(n * 4)] });
    assert.equal(e.code, grpc.status.RESOURCE_EXHAUSTED, e.details);
    // The server goes on serving.
    assert.deepEqual(await client.ok('ServerLive', {}), { live: true });
  });

  it('a full queue is UNAVAILABLE at once; the admitted calls are answered once the worker goes on', async () => {
    const described = await request(`${server.managementUrl}/models/held`);
    const pid = described.body.workers[0].pid as number;
    const call = () => client.call('ModelInfer', { model_name: 'held', inputs: [scaleInput()], raw_input_contents: [f32(1, 2, 3, 4)] });
    process.kill(pid, 'SIGSTOP');
    try {
      const held = [call(), call(), call()];
      await eventually(async () => (await metricValue(server.metricsUrl, 'mms_queue_depth', { model: 'held' })) === 3);
      const e = await client.fails('ModelInfer', { model_name: 'held', inputs: [scaleInput()], raw_input_contents: [f32(1, 2, 3, 4)] });
      assert.equal(e.code, grpc.status.UNAVAILABLE);
      assert.equal(e.errorCode, 'QUEUE_FULL');
      assert.match(e.details, /No worker is available to serve request for model: held/);
      process.kill(pid, 'SIGCONT');
      for (const r of await Promise.all(held)) assert.ok(r.ok, JSON.stringify(r));
    } finally {
      process.kill(pid, 'SIGCONT');
    }
  });
});

describe('Open Inference Protocol over gRPC with token authorization', () => {
  let server: TestServer;
  let dir: string;
  let key: string;
  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'mms-grpc-auth-'));
    server = await startTestServer({ enable_token_auth: 'true', key_file: path.join(dir, 'keys.json') });
    key = JSON.parse(readFileSync(path.join(dir, 'keys.json'), 'utf8')).inference.key;
    writeModelDir(path.join(server.store, 'scale'), { name: 'scale' });
    const manage = JSON.parse(readFileSync(path.join(dir, 'keys.json'), 'utf8')).management.key;
    const r = await request(`${server.managementUrl}/models?url=scale&initial_workers=1`, { method: 'POST', headers: { authorization: `Bearer ${manage}` } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
  });
  after(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('health and readiness stay open; metadata and inference need the inference key (UNAUTHENTICATED)', async () => {
    const anonymous = new InferenceClient(server.grpcUrl);
    const wrong = new InferenceClient(server.grpcUrl, { authorization: 'Bearer nope' });
    const keyed = new InferenceClient(server.grpcUrl, { authorization: `Bearer ${key}` });
    try {
      assert.deepEqual(await anonymous.ok('ServerLive', {}), { live: true });
      assert.deepEqual(await anonymous.ok('ModelReady', { name: 'scale' }), { ready: true });
      const infer = { model_name: 'scale', inputs: [scaleInput()], raw_input_contents: [f32(1, 2, 3, 4)] };
      for (const c of [anonymous, wrong]) {
        for (const [method, req] of [['ModelInfer', infer], ['ModelMetadata', { name: 'scale' }]] as const) {
          const e = await c.fails(method, req);
          assert.equal(e.code, grpc.status.UNAUTHENTICATED, `${method}: ${e.details}`);
          assert.match(e.details, /Token authorization failed/);
        }
      }
      assert.deepEqual(readF32((await keyed.ok('ModelInfer', infer)).raw_output_contents[0]), [2, 4, 6, 8]);
      // REST /v2 follows the same rule, with the protocol's error body.
      const rest = await request(`${server.inferenceUrl}/v2/models/scale`);
      assert.equal(rest.status, 401);
      assert.deepEqual(Object.keys(rest.body), ['error']);
      assert.equal((await request(`${server.inferenceUrl}/v2/models/scale/ready`)).status, 200);
    } finally {
      for (const c of [anonymous, wrong, keyed]) c.close();
    }
  });
});

describe('gRPC where the controller serves inference itself, and turned off', () => {
  it('one address for both APIs: the controller serves gRPC; grpc_inference_address=off: none', async () => {
    const address = await sharedAddress();
    const shared = await startTestServer({ inference_address: address, management_address: address });
    const client = new InferenceClient(shared.grpcUrl);
    try {
      assert.deepEqual(shared.frontPids(), []);
      assert.deepEqual(await client.ok('ServerLive', {}), { live: true });
      assert.equal((await client.fails('ModelReady', { name: 'nope' })).code, grpc.status.NOT_FOUND);
    } finally {
      client.close();
      await shared.close();
    }
    const off = await startTestServer({ grpc_inference_address: 'off' });
    try {
      assert.equal(off.grpcUrl, '');
    } finally {
      await off.close();
    }
  });
});
