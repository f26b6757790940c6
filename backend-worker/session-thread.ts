// One session of a shared worker process (the GPU-sharing mode, docs/gpu.md): a worker thread that
// loads the handler once and runs the batches its process hands it. onnxruntime-node's run blocks the
// thread that calls it, so sessions on threads of their own run at once, on the process's one CUDA
// context, while the main thread keeps reading and answering the sockets.
import { parentPort, workerData } from 'node:worker_threads';
import type { Runtime } from '../protocol/manifest.js';
import type { LoadRequest, ReplyItem, RequestItem } from '../protocol/messages.js';
import { failureOf, type WorkerOptions } from './handler-api.js';
import { ModelHost } from './model-host.js';
import { providerInUse } from './provider-in-use.js';
import { asBuffer, type ThreadReply, type ThreadRequest } from './thread-messages.js';
import { UNPOOLED_MIN } from '../protocol/frame-reader.js';

const { req, runtime, options } = workerData as { req: LoadRequest; runtime: Runtime; options: WorkerOptions };
const port = parentPort!;

let host: ModelHost;
try {
  host = await ModelHost.load(req, runtime, options);
  port.postMessage({ type: 'ready', provider: providerInUse(), metadata: host.metadata() } satisfies ThreadReply);
} catch (err) {
  port.postMessage({ type: 'failed', message: (err as Error).message } satisfies ThreadReply);
  process.exit(0);
}

port.on('message', async ({ id, items }: ThreadRequest) => {
  const batch: RequestItem[] = items.map((i) => ({ ...i, parameters: i.parameters.map((p) => ({ ...p, value: asBuffer(p.value) })) }));
  try {
    const replies = await host.predict(batch);
    port.postMessage({ type: 'replies', id, replies } satisfies ThreadReply, runtime === 'onnx' ? ownedBodies(replies) : []);
  } catch (err) {
    port.postMessage({ type: 'failure', id, failure: failureOf(err) } satisfies ThreadReply);
  }
});

/**
 * Reply bodies moved to the main thread, not cloned: those that are the whole of an ArrayBuffer too big
 * for Buffer's pool (the tensor handler's concatenated answers), each only once. Built-in handlers only:
 * an archive's own code may hand back a buffer it keeps, which a transfer would empty.
 */
function ownedBodies(replies: ReplyItem[]): ArrayBuffer[] {
  const out: ArrayBuffer[] = [];
  for (const { body } of replies) {
    const whole = body.byteOffset === 0 && body.byteLength === body.buffer.byteLength && body.byteLength >= UNPOOLED_MIN;
    if (whole && body.buffer instanceof ArrayBuffer && !out.includes(body.buffer)) out.push(body.buffer);
  }
  return out;
}
