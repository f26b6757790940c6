// The limit: onnxruntime-node called in a loop in one process, single-threaded, on the same tensor.
// Prints one JSON line with items/s. Several of these run side by side for the aggregate figure.
import * as ort from 'onnxruntime-node';
import { CLS_FILE, CLS_SHAPE, clsTensor } from '../lib/cls-input.js';

const seconds = Number(process.argv[2] ?? 5);
const session = await ort.InferenceSession.create(CLS_FILE, { intraOpNumThreads: 1, interOpNumThreads: 1 });
const feeds = { x: new ort.Tensor('float32', clsTensor(), CLS_SHAPE) };
for (let i = 0; i < 20; i++) await session.run(feeds);
let n = 0;
const start = performance.now();
const end = start + seconds * 1000;
while (performance.now() < end) {
  await session.run(feeds);
  n++;
}
process.stdout.write(`${JSON.stringify({ itemsPerSecond: (n * 1000) / (performance.now() - start), runs: n })}\n`);
