// The limit: onnxruntime-node called in a loop in one process on the same tensor, nothing else.
// Prints one JSON line with items/s. Several of these run side by side for the aggregate figure.
// `ort-loop.js SECONDS [--model cls|det] [--batch N] [--cuda DEVICE]`: by default cls, batch 1, on
// the CPU with one thread; --cuda runs it on that GPU (the GPU benchmark's in-process limit).
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { MODEL_INPUT, tensorData, type TensorModel } from '../lib/model-inputs.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { model: { type: 'string', default: 'cls' }, batch: { type: 'string', default: '1' }, cuda: { type: 'string' } },
});
const seconds = Number(positionals[0] ?? 5);
const batch = Number(values.batch);
const { file, shape, input } = MODEL_INPUT[values.model as TensorModel];
const session = await ort.InferenceSession.create(file, {
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  ...(values.cuda !== undefined ? { executionProviders: [{ name: 'cuda', deviceId: Number(values.cuda) }] } : {}),
});
const batched = [batch, ...shape.slice(1)];
const feeds = { [input]: new ort.Tensor('float32', tensorData(batched), batched) };
for (let i = 0; i < 20; i++) await session.run(feeds);
let n = 0;
const start = performance.now();
const end = start + seconds * 1000;
while (performance.now() < end) {
  await session.run(feeds);
  n++;
}
process.stdout.write(`${JSON.stringify({ itemsPerSecond: (n * batch * 1000) / (performance.now() - start), runs: n, pid: process.pid })}\n`);
