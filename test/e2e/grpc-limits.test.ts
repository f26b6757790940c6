// What a gRPC client sends that the server must not take at face value (docs/api.md, "Open Inference
// Protocol: gRPC"): a deadline beyond the longest timer (about 24.8 days) is no deadline, not an
// instant DEADLINE_EXCEEDED; bytes that are not a protobuf message are INVALID_ARGUMENT with the
// catalogue's BAD_REQUEST; a huge name echoed in an error comes back truncated, so its status fits
// HTTP/2's header limits. A stock grpc-js client, a real server, fronts and an ONNX worker.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { InferenceClient } from '../helpers/grpc-client.js';
import { writeModelDir } from '../helpers/onnx-models.js';
import { request, startTestServer, type TestServer } from '../helpers/server.js';

const DAY_MS = 24 * 3600 * 1000;
const infer = { model_name: 'scale', inputs: [{ name: 'x', datatype: 'FP32', shape: ['1', '4'] }], raw_input_contents: [Buffer.from(new Float32Array([1, 2, 3, 4]).buffer)] };

/** A unary call whose request bytes are sent as they are, not serialized from a message. */
function rawCall(target: string, method: string, bytes: Buffer): Promise<grpc.ServiceError | null> {
  const client = new grpc.Client(target, grpc.credentials.createInsecure());
  return new Promise((resolve) => {
    client.makeUnaryRequest(`/inference.GRPCInferenceService/${method}`, (b: Buffer) => b, (b: Buffer) => b, bytes, { deadline: Date.now() + 10_000 }, (err) => {
      client.close();
      resolve(err);
    });
  });
}

describe('gRPC limits', { timeout: 120_000 }, () => {
  let server: TestServer;
  let client: InferenceClient;

  before(async () => {
    server = await startTestServer();
    writeModelDir(path.join(server.store, 'scale'), { name: 'scale' });
    const r = await request(`${server.managementUrl}/models?url=scale&initial_workers=1`, { method: 'POST' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    client = new InferenceClient(server.grpcUrl);
  });
  after(async () => {
    client?.close();
    await server?.close();
  });

  it('a deadline 30 days out is no deadline: the call succeeds', async () => {
    for (const days of [30, 25, 1000]) {
      const r = await client.call('ModelInfer', infer, { deadline: Date.now() + days * DAY_MS });
      assert.ok(r.ok, `${days} days: ${JSON.stringify(!r.ok && r.error)}`);
    }
    // A deadline within the timer's range still counts (the call ends in time or with the answer).
    const near = await client.call('ModelReady', { name: 'scale' }, { deadline: Date.now() + 20 * DAY_MS });
    assert.ok(near.ok);
  });

  it('bytes that are not a protobuf message: INVALID_ARGUMENT with BAD_REQUEST, on every RPC', async () => {
    // A tag whose varint runs past the end; a field with wire type 7, which does not exist.
    for (const bytes of [Buffer.from([0xff, 0xff, 0xff]), Buffer.from([0x9f, 0x06, 0x01])]) {
      for (const method of ['ModelInfer', 'ModelReady', 'ModelMetadata', 'ServerLive']) {
        const err = await rawCall(server.grpcUrl, method, bytes);
        assert.ok(err, `${method} answered malformed bytes`);
        assert.equal(err.code, grpc.status.INVALID_ARGUMENT, `${method}: ${err.code} ${err.details}`);
        assert.match(err.details, /Malformed protobuf message/);
        assert.equal(err.metadata.get('mms-error-code')[0]?.toString(), 'BAD_REQUEST');
      }
    }
    assert.ok((await client.call('ModelInfer', infer)).ok, 'the service serves on');
  });

  it('a 100 KB model name echoed in an error comes back truncated to 1 KiB, not a hung call', async () => {
    const name = 'm'.repeat(100_000);
    for (const [method, req] of [['ModelReady', { name }], ['ModelMetadata', { name }], ['ModelInfer', { ...infer, model_name: name }]] as const) {
      // A deadline so that the old hang fails the test instead of stalling it.
      const r = await client.call(method, req, { deadline: Date.now() + 10_000 });
      assert.equal(r.ok, false);
      assert.ok(!r.ok);
      assert.equal(r.error.code, grpc.status.NOT_FOUND, `${method}: ${r.error.code} ${r.error.details.slice(0, 200)}`);
      assert.equal(r.error.errorCode, 'MODEL_NOT_FOUND');
      assert.ok(Buffer.byteLength(r.error.details) <= 1024, `${Buffer.byteLength(r.error.details)} bytes`);
      assert.match(r.error.details, /mmmm…$/);
    }
    // Multi-byte text is cut at a character, never inside one.
    const r = await client.call('ModelReady', { name: 'é'.repeat(5000) }, { deadline: Date.now() + 10_000 });
    assert.ok(!r.ok);
    assert.ok(Buffer.byteLength(r.error.details) <= 1024);
    assert.doesNotMatch(r.error.details, /\uFFFD/);
    assert.match(r.error.details, /éé…$/);
  });
});
