// The gRPC counterpart of load-worker.ts: ModelInfer calls of the cls tensor (raw_input_contents) from
// its own process, printing the same one-line LoadResult. Like autocannon for REST, it is a lean load
// generator, not a client library: gRPC's HTTP/2 framing written with node:http2 (POST
// /inference.GRPCInferenceService/ModelInfer, one length-prefixed message encoded once with the
// server's own .proto), the reply read to its `grpc-status` trailer (non-zero counts as non-2xx).
// Concurrency 1 is one call at a time; above that, `connections` calls in flight spread over up to
// 16 HTTP/2 connections. (The tests use a stock grpc-js client.)
import http2 from 'node:http2';
import { loadInferenceService } from '../../protocol/grpc-proto.js';
import { CLS_SHAPE, clsTensor } from './model-inputs.js';
import type { LoadResult, LoadSpec } from './load-worker.js';

const spec = JSON.parse(process.argv[2]) as LoadSpec;
const url = new URL(spec.url); // grpc://host:port/<model>
const { definition } = loadInferenceService();
const method = definition.ModelInfer;
const message = method.requestSerialize({
  model_name: url.pathname.slice(1),
  inputs: [{ name: 'x', datatype: 'FP32', shape: CLS_SHAPE }],
  raw_input_contents: [Buffer.from(clsTensor().buffer)],
});
const prefix = Buffer.alloc(5); // uncompressed, then the message length
prefix.writeUInt32BE(message.length, 1);
const frame = Buffer.concat([prefix, message]);
const headers = { ':method': 'POST', ':path': method.path, 'content-type': 'application/grpc', te: 'trailers' };

const sessions = Array.from({ length: Math.min(16, spec.connections) }, () => http2.connect(`http://${url.host}`));
await Promise.all(sessions.map((s) => new Promise<void>((resolve, reject) => s.once('connect', () => resolve()).once('error', reject))));

/** One call: resolves with its grpc-status (-1 when the stream failed). */
function call(session: http2.ClientHttp2Session): Promise<number> {
  return new Promise((resolve) => {
    const stream = session.request(headers, { endStream: false });
    let status = -1;
    stream.on('response', (h) => {
      if (h['grpc-status'] !== undefined) status = Number(h['grpc-status']); // trailers-only answer
    });
    stream.on('trailers', (t) => (status = Number(t['grpc-status'])));
    stream.on('data', () => undefined);
    stream.on('close', () => resolve(status));
    stream.on('error', () => undefined);
    stream.end(frame);
  });
}

const cpu0 = process.cpuUsage();
const t0 = performance.now();
const end = t0 + spec.duration * 1000;
const times: number[] = [];
let errors = 0;
let non2xx = 0;
await Promise.all(Array.from({ length: spec.connections }, async (_, i) => {
  const session = sessions[i % sessions.length];
  while (performance.now() < end) {
    const start = performance.now();
    const status = await call(session);
    if (status === -1) errors++;
    else if (status !== 0) non2xx++;
    else times.push(performance.now() - start);
  }
}));
const elapsed = (performance.now() - t0) / 1000;
for (const s of sessions) s.close();
times.sort((a, b) => a - b);
const at = (q: number) => Math.round((times[Math.min(times.length - 1, Math.floor(q * times.length))] ?? 0) * 1000) / 1000;
const cpu = process.cpuUsage(cpu0);
const result: LoadResult = {
  rps: times.length / elapsed, p50: at(0.5), p99: at(0.99), errors, non2xx, requests: times.length + non2xx,
  loadCores: (cpu.user + cpu.system) / 1000 / (performance.now() - t0),
};
process.stdout.write(`${JSON.stringify(result)}\n`);
