// An ONNX chain over the Open Inference Protocol (docs/pipelines.md, "An ONNX chain without code"):
// REST v2 infer (JSON and binary tensors) and metadata, and gRPC ModelInfer with a stock grpc-js client,
// outputs selection included; a pipeline with code still refuses the protocol.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { InferenceClient } from '../helpers/grpc-client.js';
import { postJson, request, startTestServer, v2Request, type TestServer } from '../helpers/server.js';
import { writeScaleModel } from '../helpers/onnx-models.js';
import { writeChain, writePipeline } from '../helpers/pipelines.js';

const f32 = (...v: number[]) => Buffer.from(new Float32Array(v).buffer);
const readF32 = (b: Buffer) => Array.from(new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)));

describe('an ONNX chain over the Open Inference Protocol', () => {
  let server: TestServer;
  let client: InferenceClient;

  before(async () => {
    server = await startTestServer({ grpc_inference_address: 'http://127.0.0.1:0' });
    writeChain(path.join(server.store, 'chain'));
    // A chain whose last stage's output (`z`) the first stage's model does not have.
    const renamed = path.join(server.store, 'renamed');
    writeScaleModel(renamed, 'double.onnx', 2);
    writeScaleModel(renamed, 'triple.onnx', 3, { input: 'x', output: 'z' });
    writePipeline(renamed, { modelName: 'renamed', stages: [{ name: 'double', modelFile: 'double.onnx' }, { name: 'triple', modelFile: 'triple.onnx', map: { y: 'x' } }] });
    // A chain of one stage: the outputs a request names are that stage's own.
    const one = path.join(server.store, 'one');
    writeScaleModel(one, 'double.onnx', 2);
    writePipeline(one, { modelName: 'one', stages: [{ name: 'double', modelFile: 'double.onnx' }] });
    const coded = path.join(server.store, 'coded');
    mkdirSync(coded);
    writeScaleModel(coded, 'double.onnx', 2);
    writePipeline(coded, { modelName: 'coded', stages: [{ name: 'pre', handler: 'pre.mjs', runtime: 'node' }, { name: 'double', modelFile: 'double.onnx' }] }, {
      'pre.mjs': 'export function handle(batch) { return batch.map((i) => ({ body: i.params.body.value, contentType: "application/json" })); }',
    });
    for (const url of ['chain', 'coded', 'renamed', 'one']) {
      const r = await request(`${server.managementUrl}/models?url=${url}&initial_workers=1&synchronous=true`, { method: 'POST' });
      assert.equal(r.status, 200, JSON.stringify(r.body));
    }
    client = new InferenceClient(server.grpcUrl);
  });
  after(async () => {
    client?.close();
    await server?.close();
  });

  /** v2 infer of x = [1, 2, 3, 4] as a binary tensor, `extra` added to the request's header; the binary answer's values. */
  const binaryInfer = async (model: string, extra: Record<string, unknown>): Promise<number[]> => {
    const header = Buffer.from(JSON.stringify({ inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', parameters: { binary_data_size: 16 } }], ...extra }));
    const res = await fetch(`${server.inferenceUrl}/v2/models/${model}/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(header.length) },
      body: Buffer.concat([header, f32(1, 2, 3, 4)]),
    });
    assert.equal(res.status, 200, await res.clone().text());
    const n = Number(res.headers.get('inference-header-content-length'));
    assert.ok(n > 0, 'a binary answer');
    return readF32(Buffer.from(await res.arrayBuffer()).subarray(n));
  };

  it('answers v2 infer in JSON and in binary, and its metadata is the first stage\'s inputs and the last stage\'s outputs', { timeout: 60_000 }, async () => {
    const json = await postJson(`${server.inferenceUrl}/v2/models/chain/infer`, v2Request('x', [1, 4], [1, 2, 3, 4]));
    assert.equal(json.status, 200, JSON.stringify(json.body));
    assert.equal(json.body.model_name, 'chain');
    assert.deepEqual(json.body.outputs.map((o: { name: string; data: number[] }) => [o.name, o.data]), [['y', [6, 12, 18, 24]]]);

    assert.deepEqual(await binaryInfer('chain', { parameters: { binary_data_output: true } }), [6, 12, 18, 24]);

    // The outputs a request names are the last stage's (`z`, which stage 1 lacks), JSON or binary as each asks.
    const named = await postJson(`${server.inferenceUrl}/v2/models/renamed/infer`, { ...(v2Request('x', [1, 4], [1, 2, 3, 4]) as object), outputs: [{ name: 'z' }] });
    assert.equal(named.status, 200, JSON.stringify(named.body));
    assert.deepEqual(named.body.outputs.map((o: { name: string; data: number[] }) => [o.name, o.data]), [['z', [6, 12, 18, 24]]]);
    const unknown = await postJson(`${server.inferenceUrl}/v2/models/renamed/infer`, { ...(v2Request('x', [1, 4], [1, 2, 3, 4]) as object), outputs: [{ name: 'y' }] });
    assert.equal(unknown.status, 400, JSON.stringify(unknown.body));
    assert.match(unknown.body.error, /Unknown output\(s\): y/);
    assert.deepEqual(await binaryInfer('renamed', { outputs: [{ name: 'z', parameters: { binary_data: true } }] }), [6, 12, 18, 24]);

    const meta = await request(`${server.inferenceUrl}/v2/models/chain`);
    assert.equal(meta.status, 200, JSON.stringify(meta.body));
    assert.deepEqual([meta.body.inputs.map((t: { name: string }) => t.name), meta.body.outputs.map((t: { name: string }) => t.name)], [['x'], ['y']]);
    assert.equal((await request(`${server.inferenceUrl}/v2/models/chain/ready`)).status, 200);
  });

  it('takes the outputs a request to a chain of one stage names, as a model does', { timeout: 30_000 }, async () => {
    const unknown = await postJson(`${server.inferenceUrl}/v2/models/one/infer`, { ...(v2Request('x', [1, 4], [1, 2, 3, 4]) as object), outputs: [{ name: 'nope' }] });
    assert.equal(unknown.status, 400, JSON.stringify(unknown.body));
    assert.match(unknown.body.error, /Unknown output\(s\): nope/);
    assert.deepEqual(await binaryInfer('one', { outputs: [{ name: 'y', parameters: { binary_data: true } }] }), [2, 4, 6, 8]);
  });

  it('answers gRPC ModelInfer, the outputs asked for picked from the last stage', { timeout: 60_000 }, async () => {
    const req = { model_name: 'chain', inputs: [{ name: 'x', datatype: 'FP32', shape: ['1', '4'] }], raw_input_contents: [f32(1, 2, 3, 4)] };
    const r = await client.ok('ModelInfer', req);
    assert.equal(r.model_name, 'chain');
    assert.deepEqual(r.outputs.map((o: { name: string }) => o.name), ['y']);
    assert.deepEqual(readF32(r.raw_output_contents[0]), [6, 12, 18, 24]);
    assert.deepEqual(readF32((await client.ok('ModelInfer', { ...req, outputs: [{ name: 'y' }] })).raw_output_contents[0]), [6, 12, 18, 24]);
    const renamed = await client.ok('ModelInfer', { ...req, model_name: 'renamed', outputs: [{ name: 'z' }] });
    assert.deepEqual([renamed.outputs.map((o: { name: string }) => o.name), readF32(renamed.raw_output_contents[0])], [['z'], [6, 12, 18, 24]]);
    const unknown = await client.fails('ModelInfer', { ...req, outputs: [{ name: 'z' }] });
    assert.equal(unknown.code, grpc.status.INVALID_ARGUMENT);
    assert.match(unknown.details, /Unknown output\(s\): z/);
    assert.equal((await client.ok('ModelReady', { name: 'chain' })).ready, true);
    const meta = await client.ok('ModelMetadata', { name: 'chain' });
    assert.deepEqual([meta.inputs.map((t: { name: string }) => t.name), meta.outputs.map((t: { name: string }) => t.name)], [['x'], ['y']]);
  });

  it('refuses the protocol for a pipeline with code, over REST and gRPC', { timeout: 30_000 }, async () => {
    const r = await postJson(`${server.inferenceUrl}/v2/models/coded/infer`, v2Request('x', [1, 4], [1, 2, 3, 4]));
    assert.equal(r.status, 400);
    assert.match(r.body.error, /not served by the built-in tensor handler/);
    const e = await client.fails('ModelInfer', { model_name: 'coded', inputs: [{ name: 'x', datatype: 'FP32', shape: ['1', '4'] }], raw_input_contents: [f32(1, 2, 3, 4)] });
    assert.equal(e.code, grpc.status.FAILED_PRECONDITION);
  });
});
