// Writes the ONNX model of docs/archives.md's custom-handler example: `y = 2x`, input `x` float32
// [batch, 4], output `y` float32 [batch, 4] (opset 13), built with onnx-proto so no Python is needed.
// Usage: node dist/scripts/write-double-model.js <path/to/model.onnx>
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;
const FLOAT = onnx.TensorProto.DataType.FLOAT;
const out = process.argv[2];
if (!out) {
  console.error('usage: node dist/scripts/write-double-model.js <path/to/model.onnx>');
  process.exit(2);
}
const tensor = (name: string) => ({
  name,
  type: { tensorType: { elemType: FLOAT, shape: { dim: [{ dimParam: 'batch' }, { dimValue: 4 }] } } },
});
const model = onnx.ModelProto.create({
  irVersion: 8,
  producerName: 'mms-node-docs',
  opsetImport: [{ domain: '', version: 13 }],
  graph: {
    name: 'double',
    node: [{ name: 'mul', opType: 'Mul', input: ['x', 'two'], output: ['y'] }],
    input: [tensor('x')],
    output: [tensor('y')],
    initializer: [{ name: 'two', dataType: FLOAT, dims: [], floatData: [2] }],
  },
});
mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
writeFileSync(out, onnx.ModelProto.encode(model).finish());
console.log(`wrote ${out}: y = 2x, x float32 [batch, 4]`);
