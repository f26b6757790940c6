// Tensors the model cannot take are the client's mistake, answered 400 INVALID_INPUT from the worker
// to the client, on /predictions and on the Open Inference Protocol's /infer: values that do not fit
// their datatype, nested data that does not follow its shape, and shapes onnxruntime refuses at run
// time (shapes that do not broadcast, an image smaller than the kernel), with no onnxruntime source
// path in the message. A healthy model beside them keeps serving.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { writeBroadcastAddModel, writeConvModel, writeModelDir, writeAddModel } from '../helpers/onnx-models.js';
import { postJson, request, startTestServer, v2Request, type JsonResponse, type TestServer } from '../helpers/server.js';

/** A source location as onnxruntime's messages carry them (`/onnxruntime_src/...`, `file.h:563`). */
const SOURCE_PATH = /onnxruntime_src|\.(?:cc|h|cpp|cu):\d+/;

describe('tensor values and shapes the model cannot take', { timeout: 120_000 }, () => {
  let server: TestServer;
  const register = async (query: string) => {
    const r = await request(`${server.managementUrl}/models?${query}&initial_workers=1&synchronous=true`, { method: 'POST' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
  };

  before(async () => {
    server = await startTestServer();
    writeModelDir(path.join(server.store, 'scale'), { name: 'scale' });
    writeModelDir(path.join(server.store, 'add'), { name: 'add', build: (d) => writeAddModel(d) });
    writeModelDir(path.join(server.store, 'bcast'), { name: 'bcast', build: (d) => writeBroadcastAddModel(d) });
    writeModelDir(path.join(server.store, 'conv'), { name: 'conv', build: (d) => writeConvModel(d) });
    await register('url=scale');
    await register('url=add');
    await register('url=bcast');
    // Two sessions on threads of one process: the failure crosses the thread boundary too.
    await register('url=conv&preload_model=true&preload_sessions=2');
  });
  after(async () => {
    // The models answered every bad request and still serve good ones.
    assert.deepEqual((await postJson(`${server.inferenceUrl}/predictions/scale`, v2Request('x', [1, 4], [1, 2, 3, 4]))).body.outputs[0].data, [2, 4, 6, 8]);
    await server.close();
  });

  /** The same request on both routes: 400 with the catalogue code on /predictions, `{"error"}` on /v2. */
  const refused = async (model: string, body: unknown, message: RegExp) => {
    const pred = await postJson(`${server.inferenceUrl}/predictions/${model}`, body);
    expect400(pred, message);
    assert.deepEqual(Object.keys(pred.body), ['code', 'type', 'message', 'errorCode']);
    assert.deepEqual([pred.body.code, pred.body.type, pred.body.errorCode], [400, 'BadRequestException', 'INVALID_INPUT']);
    const v2 = await postJson(`${server.inferenceUrl}/v2/models/${model}/infer`, body);
    expect400(v2, message);
    assert.deepEqual(Object.keys(v2.body), ['error']);
    return pred.body.message as string;
  };
  const expect400 = (r: JsonResponse, message: RegExp) => {
    assert.equal(r.status, 400, JSON.stringify(r.body));
    assert.match(r.headers.get('content-type') ?? '', /application\/json/);
    const text = r.body.message ?? r.body.error;
    assert.match(text, message);
    assert.doesNotMatch(text, SOURCE_PATH);
  };
  const int64 = (data: unknown) => ({ inputs: [{ name: 'a', shape: [1], datatype: 'INT64', data }, { name: 'b', shape: [1], datatype: 'INT64', data: [1] }] });

  it('an INT64 value out of range or not an integer: 400, not a wrapped number', async () => {
    await refused('add', int64([1e30]), /Input "a" element 0 is 1e\+30, out of the range of INT64/);
    await refused('add', int64([2 ** 63]), /out of the range of INT64/);
    await refused('add', int64([1.5]), /Input "a" element 0 is 1.5, not an integer \(INT64\)/);
    // Large integers that fit are kept.
    const r = await postJson(`${server.inferenceUrl}/v2/models/add/infer`, int64([-(2 ** 53)]));
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(r.body.outputs[0].data, [-(2 ** 53) + 1]);
  });

  it('an FP32 value beyond float32: 400, not null', async () => {
    await refused('scale', v2Request('x', [1, 4], [1, 2, 1e39, 4]), /Input "x" element 2 is 1e\+39, out of the range of FP32/);
    await refused('scale', v2Request('x', [1, 4], [1, 2, 3, -3.5e38]), /element 3 is -3.5e\+38, out of the range of FP32/);
    const max = await postJson(`${server.inferenceUrl}/v2/models/scale/infer`, v2Request('x', [1, 4], [3.4e38, -3.4e38, 1e-45, 0]));
    assert.equal(max.status, 200, JSON.stringify(max.body));
  });

  it('ragged data: 400, though its total count matches', async () => {
    await refused('scale', v2Request('x', [2, 4], [[1, 2, 3], [4, 5, 6, 7, 8]] as never), /data\[0\] of 3 entries but dimension 1 of shape \[2,4\] is 4/);
    await refused('scale', v2Request('x', [2, 4], [[1, 2, 3, 4], 5, 6, 7, 8] as never), /"data" of 5 entries but dimension 0 of shape \[2,4\] is 2/);
    await refused('scale', v2Request('x', [2, 4], [[1, 2, 3, 4], [5, 6, [7], 8]] as never), /element 6 is \[7\], not a number/);
    // Flat data of the right count, and data nested exactly as the shape, are both accepted.
    for (const data of [[1, 2, 3, 4, 5, 6, 7, 8], [[1, 2, 3, 4], [5, 6, 7, 8]]]) {
      const r = await postJson(`${server.inferenceUrl}/v2/models/scale/infer`, v2Request('x', [2, 4], data as never));
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.deepEqual(r.body.outputs[0].data, [2, 4, 6, 8, 10, 12, 14, 16]);
    }
  });

  it('inputs that do not broadcast: 400 without onnxruntime source paths', async () => {
    const body = {
      inputs: [
        { name: 'a', shape: [2, 3], datatype: 'FP32', data: [1, 2, 3, 4, 5, 6] },
        { name: 'b', shape: [4, 5], datatype: 'FP32', data: new Array(20).fill(1) },
      ],
    };
    const message = await refused('bcast', body, /^The model cannot run on these inputs: Add node 'add': .*broadcast/);
    assert.doesNotMatch(message, /was false|onnxruntime::/);
    const ok = await postJson(`${server.inferenceUrl}/v2/models/bcast/infer`, { inputs: [body.inputs[0], { ...body.inputs[1], shape: [1, 3], data: [1, 1, 1] }] });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
  });

  it('an image smaller than the convolution kernel: 400', async () => {
    const image = (h: number, w: number) => ({ inputs: [{ name: 'x', shape: [1, 1, h, w], datatype: 'FP32', data: new Array(h * w).fill(1) }] });
    await refused('conv', image(2, 2), /^The model cannot run on these inputs: Conv node '[^']*': .*shape/);
    const ok = await postJson(`${server.inferenceUrl}/predictions/conv`, image(3, 3));
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.deepEqual(ok.body.outputs[0].data, [9]);
  });
});
