// The peer a user would write themselves: one process, Koa, onnxruntime-node in the event loop,
// the same KServe v2 binary request and response. With --noop it is a bare Koa no-op server; with
// --threads N its session has N intra-op threads, else ORT's default (one per core).
import Koa from 'koa';
import * as ort from 'onnxruntime-node';
import { CLS_FILE } from '../lib/model-inputs.js';

const noop = process.argv.includes('--noop');
const threadsAt = process.argv.indexOf('--threads');
const threads = threadsAt > 0 ? Number(process.argv[threadsAt + 1]) : undefined;
// ORT's default threading, as a user's own server would have it, unless --threads names a count.
const session = noop ? undefined : await ort.InferenceSession.create(CLS_FILE, threads ? { intraOpNumThreads: threads, interOpNumThreads: 1 } : {});
const OK = Buffer.from('ok');

const app = new Koa();
app.use(async (ctx) => {
  const chunks: Buffer[] = [];
  for await (const c of ctx.req) chunks.push(c as Buffer);
  if (!session) {
    ctx.body = OK;
    return;
  }
  const body = Buffer.concat(chunks);
  const n = Number(ctx.get('inference-header-content-length'));
  const head = JSON.parse(body.toString('utf8', 0, n));
  const input = head.inputs[0];
  const data = new Float32Array(body.buffer.slice(body.byteOffset + n, body.byteOffset + body.length));
  const out = await session.run({ [input.name]: new ort.Tensor('float32', data, input.shape) });
  const t = out[session.outputNames[0]];
  const bytes = Buffer.from((t.data as Float32Array).buffer, (t.data as Float32Array).byteOffset, (t.data as Float32Array).byteLength);
  const json = Buffer.from(JSON.stringify({ outputs: [{ name: session.outputNames[0], datatype: 'FP32', shape: t.dims, parameters: { binary_data_size: bytes.length } }] }));
  ctx.set('inference-header-content-length', String(json.length));
  ctx.type = 'application/octet-stream';
  ctx.body = Buffer.concat([json, bytes]);
});
const server = app.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`listening ${typeof address === 'object' && address ? address.port : 0}\n`);
});
