// The gRPC counterpart of load-worker.ts: ModelInfer calls of the cls tensor (raw_input_contents) from
// its own process, printing the same one-line LoadResult. The request is encoded once, with the same
// .proto and loader as the server, and sent as is (autocannon sends one prebuilt body too); replies
// are counted, a non-OK status as non-2xx. Concurrency 1 is one call at a time on one channel; above
// that, `connections` calls in flight spread over up to 16 channels (HTTP/2 connections).
import * as grpc from '@grpc/grpc-js';
import { loadInferenceService } from '../../protocol/grpc-proto.js';
import { CLS_SHAPE, clsTensor } from './cls-input.js';
import type { LoadResult, LoadSpec } from './load-worker.js';

const spec = JSON.parse(process.argv[2]) as LoadSpec;
const url = new URL(spec.url); // grpc://host:port/<model>
const model = url.pathname.slice(1);
const { definition } = loadInferenceService();
const method = definition.ModelInfer;
const request = method.requestSerialize({
  model_name: model,
  inputs: [{ name: 'x', datatype: 'FP32', shape: CLS_SHAPE }],
  raw_input_contents: [Buffer.from(clsTensor().buffer)],
});
const same = (b: Buffer) => b;
const channels = Array.from({ length: Math.min(16, spec.connections) }, () =>
  // A pool of its own per client: clients to one target would otherwise share one connection.
  new grpc.Client(url.host, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1, 'grpc.max_receive_message_length': -1 }),
);

function call(client: grpc.Client): Promise<number> {
  return new Promise((resolve) => {
    client.makeUnaryRequest(method.path, same, same, request, (err) => resolve(err ? err.code : grpc.status.OK));
  });
}

const cpu0 = process.cpuUsage();
const t0 = performance.now();
const end = t0 + spec.duration * 1000;
const times: number[] = [];
const errors = 0; // a gRPC failure is a status (counted as non-2xx), never a transport error of its own
let non2xx = 0;
await Promise.all(channels.map((c) => new Promise<void>((resolve, reject) => c.waitForReady(Date.now() + 10_000, (e) => (e ? reject(e) : resolve())))));
await Promise.all(Array.from({ length: spec.connections }, async (_, i) => {
  const client = channels[i % channels.length];
  while (performance.now() < end) {
    const start = performance.now();
    if ((await call(client)) !== grpc.status.OK) non2xx++;
    times.push(performance.now() - start);
  }
}));
const elapsed = (performance.now() - t0) / 1000;
for (const c of channels) c.close();
times.sort((a, b) => a - b);
const at = (q: number) => Math.round((times[Math.min(times.length - 1, Math.floor(q * times.length))] ?? 0) * 1000) / 1000;
const cpu = process.cpuUsage(cpu0);
const result: LoadResult = {
  rps: times.length / elapsed, p50: at(0.5), p99: at(0.99), errors, non2xx,
  loadCores: (cpu.user + cpu.system) / 1000 / (performance.now() - t0),
};
process.stdout.write(`${JSON.stringify(result)}\n`);
