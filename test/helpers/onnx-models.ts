// Tiny real ONNX models for tests, built with onnx-proto (protobufjs) so no Python is needed.
// Opset 13, IR version 8: onnxruntime-node 1.30 loads them.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

const IR_VERSION = 8;
const OPSET = 13;
const FLOAT = onnx.TensorProto.DataType.FLOAT;
const INT64 = onnx.TensorProto.DataType.INT64;
const STRING = onnx.TensorProto.DataType.STRING;

/** A dimension: a number is fixed, a string is a symbolic (dynamic) dimension. */
type Dim = number | string;

function valueInfo(name: string, elemType: number, shape: Dim[]): InstanceType<typeof onnx.ValueInfoProto> {
  return onnx.ValueInfoProto.create({
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  });
}

function writeModel(
  dir: string,
  file: string,
  graph: {
    name: string;
    nodes: InstanceType<typeof onnx.NodeProto>[];
    inputs: InstanceType<typeof onnx.ValueInfoProto>[];
    outputs: InstanceType<typeof onnx.ValueInfoProto>[];
    initializers?: InstanceType<typeof onnx.TensorProto>[];
  },
): string {
  const model = onnx.ModelProto.create({
    irVersion: IR_VERSION,
    producerName: 'mms-node-tests',
    producerVersion: '1',
    opsetImport: [{ domain: '', version: OPSET }],
    graph: {
      name: graph.name,
      node: graph.nodes,
      input: graph.inputs,
      output: graph.outputs,
      initializer: graph.initializers ?? [],
    },
  });
  const bytes = onnx.ModelProto.encode(model).finish();
  mkdirSync(dir, { recursive: true });
  const path = join(dir, file);
  writeFileSync(path, bytes);
  return path;
}

/**
 * `y = x * factor` (2 unless given): input `x` float32 [batch, 4], output `y` float32 [batch, 4] (or
 * the names given). Returns the file path.
 */
export function writeScaleModel(dir: string, file = 'model.onnx', factor = 2, names = { input: 'x', output: 'y' }): string {
  return writeModel(dir, file, {
    name: 'scale',
    nodes: [onnx.NodeProto.create({ name: 'mul', opType: 'Mul', input: [names.input, 'two'], output: [names.output] })],
    inputs: [valueInfo(names.input, FLOAT, ['batch', 4])],
    outputs: [valueInfo(names.output, FLOAT, ['batch', 4])],
    initializers: [onnx.TensorProto.create({ name: 'two', dataType: FLOAT, dims: [], floatData: [factor] })],
  });
}

/** `sum = a + b`: inputs `a`, `b` int64 [n], output `sum` int64 [n]. Returns the file path. */
export function writeAddModel(dir: string, file = 'model.onnx'): string {
  return writeModel(dir, file, {
    name: 'add',
    nodes: [onnx.NodeProto.create({ name: 'add', opType: 'Add', input: ['a', 'b'], output: ['sum'] })],
    inputs: [valueInfo('a', INT64, ['n']), valueInfo('b', INT64, ['n'])],
    outputs: [valueInfo('sum', INT64, ['n'])],
  });
}

/** `y = Identity(x)`: input `x` float32 [n], output `y` float32 [n]. Returns the file path. */
export function writeIdentityModel(dir: string, file = 'model.onnx'): string {
  return writeModel(dir, file, {
    name: 'identity',
    nodes: [onnx.NodeProto.create({ name: 'id', opType: 'Identity', input: ['x'], output: ['y'] })],
    inputs: [valueInfo('x', FLOAT, ['n'])],
    outputs: [valueInfo('y', FLOAT, ['n'])],
  });
}

/** `y = Identity(x)` on strings: input `x` string [n], output `y` string [n] (BYTES in v2). Returns the file path. */
export function writeStringIdentityModel(dir: string, file = 'model.onnx'): string {
  return writeModel(dir, file, {
    name: 'string_identity',
    nodes: [onnx.NodeProto.create({ name: 'id', opType: 'Identity', input: ['x'], output: ['y'] })],
    inputs: [valueInfo('x', STRING, ['n'])],
    outputs: [valueInfo('y', STRING, ['n'])],
  });
}

/**
 * `c = a + b` with numpy broadcasting: inputs `a` float32 [r1, c1], `b` float32 [r2, c2] (every dimension
 * dynamic, so only the run finds shapes that do not broadcast), output `c`. Returns the file path.
 */
export function writeBroadcastAddModel(dir: string, file = 'model.onnx'): string {
  return writeModel(dir, file, {
    name: 'broadcast_add',
    nodes: [onnx.NodeProto.create({ name: 'add', opType: 'Add', input: ['a', 'b'], output: ['c'] })],
    inputs: [valueInfo('a', FLOAT, ['r1', 'c1']), valueInfo('b', FLOAT, ['r2', 'c2'])],
    outputs: [valueInfo('c', FLOAT, ['r', 'c'])],
  });
}

/** A 3x3 convolution of ones, no padding: input `x` float32 [1, 1, h, w], output `y` [1, 1, h-2, w-2]. Returns the file path. */
export function writeConvModel(dir: string, file = 'model.onnx'): string {
  return writeModel(dir, file, {
    name: 'conv3x3',
    nodes: [onnx.NodeProto.create({ name: 'conv', opType: 'Conv', input: ['x', 'w'], output: ['y'] })],
    inputs: [valueInfo('x', FLOAT, [1, 1, 'h', 'w'])],
    outputs: [valueInfo('y', FLOAT, [1, 1, 'oh', 'ow'])],
    initializers: [onnx.TensorProto.create({ name: 'w', dataType: FLOAT, dims: [1, 1, 3, 3], floatData: new Array(9).fill(1) })],
  });
}

/**
 * `y = table[idx]` (Gather) over the table [10, 20, 30]: input `idx` int64 [batch, 1], output `y` float32
 * [batch, 1]; an index outside -3..2 fails the run. Returns the file path.
 */
export function writeGatherModel(dir: string, file = 'model.onnx'): string {
  return writeModel(dir, file, {
    name: 'gather',
    nodes: [onnx.NodeProto.create({ name: 'gather', opType: 'Gather', input: ['table', 'idx'], output: ['y'] })],
    inputs: [valueInfo('idx', INT64, ['batch', 1])],
    outputs: [valueInfo('y', FLOAT, ['batch', 1])],
    initializers: [onnx.TensorProto.create({ name: 'table', dataType: FLOAT, dims: [3], floatData: [10, 20, 30] })],
  });
}

/** Garbage bytes that onnxruntime refuses to load. Returns the file path. */
export function writeBadModel(dir: string, file = 'model.onnx'): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, file);
  writeFileSync(path, Buffer.from('this is not an onnx model \xff\xfe\x00\x01 garbage', 'latin1'));
  return path;
}

export interface ModelDirOptions {
  /** Manifest `model.modelName`. */
  name: string;
  /** Manifest `model.handler`; default `onnx`. */
  handler?: string;
  /** Manifest `runtime`; default `onnx`. */
  runtime?: string;
  /** Writes the model file(s) into the directory; default writes the scale model as `model.onnx`. */
  build?: (dir: string) => unknown;
}

/**
 * Creates `dir` (recursively) as an extracted model directory: `MAR-INF/MANIFEST.json` plus whatever
 * `build` writes (by default `model.onnx` = the scale model). Returns `dir`.
 */
export function writeModelDir(dir: string, options: ModelDirOptions): string {
  mkdirSync(join(dir, 'MAR-INF'), { recursive: true });
  const manifest = {
    runtime: options.runtime ?? 'onnx',
    model: { modelName: options.name, handler: options.handler ?? 'onnx', modelVersion: '1.0' },
  };
  writeFileSync(join(dir, 'MAR-INF', 'MANIFEST.json'), JSON.stringify(manifest, null, 2));
  (options.build ?? ((d: string) => writeScaleModel(d, 'model.onnx')))(dir);
  return dir;
}
