// The gRPC transport the fronts serve (frontend/oip/grpc-transport.ts) against a stock grpc-js client
// and raw HTTP/2: gzip and deflate requests, a tensor over many DATA frames, a foreign content type
// (415), an unknown method (UNIMPLEMENTED), a call the client cancels, and TLS. Real server, fronts and
// an ONNX worker.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http2 from 'node:http2';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { loadInferenceService } from '../../protocol/grpc-proto.js';
import { InferenceClient } from '../helpers/grpc-client.js';
import { metricValue } from '../helpers/metrics.js';
import { writeModelDir } from '../helpers/onnx-models.js';
import { eventually, request, startTestServer, type TestServer } from '../helpers/server.js';

const f32 = (values: number[]) => Buffer.from(new Float32Array(values).buffer);
const infer = (rows: number) => ({
  model_name: 'scale', inputs: [{ name: 'x', datatype: 'FP32', shape: [String(rows), '4'] }],
  raw_input_contents: [f32(Array.from({ length: rows * 4 }, (_, i) => i % 1000))],
});
const doubled = (rows: number) => f32(Array.from({ length: rows * 4 }, (_, i) => 2 * (i % 1000)));

async function withScale(overrides: Record<string, string>, run: (server: TestServer) => Promise<void>): Promise<void> {
  const server = await startTestServer(overrides);
  try {
    writeModelDir(path.join(server.store, 'scale'), { name: 'scale' });
    const r = await request(`${server.managementUrl}/models?url=scale&initial_workers=1&synchronous=true`, { method: 'POST' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    await run(server);
  } finally {
    await server.close();
  }
}

describe('gRPC transport', { timeout: 120_000 }, () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
    writeModelDir(path.join(server.store, 'scale'), { name: 'scale' });
    const r = await request(`${server.managementUrl}/models?url=scale&initial_workers=1&synchronous=true`, { method: 'POST' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
  });
  after(async () => {
    await server?.close();
  });

  it('gzip and deflate requests are answered as plain ones; a 1 MB tensor over many frames arrives whole', async () => {
    for (const [label, algorithm] of [['identity', 0], ['deflate', 1], ['gzip', 2]] as const) {
      const client = new InferenceClient(server.grpcUrl, {}, { channel: { 'grpc.default_compression_algorithm': algorithm } });
      try {
        for (const rows of [1, 65_536]) {
          const reply = await client.ok('ModelInfer', infer(rows));
          assert.deepEqual(reply.raw_output_contents[0], doubled(rows), `${label}, ${rows} rows`);
        }
      } finally {
        client.close();
      }
    }
  });

  it('a foreign content type is 415; an unknown method is UNIMPLEMENTED; the service serves on', async () => {
    const session = http2.connect(`http://${server.grpcUrl}`);
    try {
      const status = await new Promise<number>((resolve, reject) => {
        const s = session.request({ ':method': 'POST', ':path': '/inference.GRPCInferenceService/ServerLive', 'content-type': 'application/json' });
        s.on('response', (h) => resolve(Number(h[':status'])));
        s.on('error', reject);
        s.end('{}');
      });
      assert.equal(status, 415);
    } finally {
      session.close();
    }
    const client = new grpc.Client(server.grpcUrl, grpc.credentials.createInsecure());
    const err = await new Promise<grpc.ServiceError | null>((resolve) =>
      client.makeUnaryRequest('/inference.GRPCInferenceService/Nothing', (b: Buffer) => b, (b: Buffer) => b, Buffer.alloc(0), (e) => resolve(e)));
    client.close();
    assert.equal(err?.code, grpc.status.UNIMPLEMENTED);
    assert.match(err!.details, /does not implement the method \/inference\.GRPCInferenceService\/Nothing/);
    const live = new InferenceClient(server.grpcUrl);
    assert.deepEqual(await live.ok('ServerLive', {}), { live: true });
    live.close();
  });

  it('a call the client cancels while its worker is stopped never runs', async () => {
    const client = new InferenceClient(server.grpcUrl);
    const stub = new grpc.Client(server.grpcUrl, grpc.credentials.createInsecure());
    const { ModelInfer } = loadInferenceService().definition;
    const pid = (await request(`${server.managementUrl}/models/scale`)).body.workers[0].pid as number;
    const batches = () => metricValue(server.metricsUrl, 'mms_batch_size_count', { model: 'scale' });
    const depth = () => metricValue(server.metricsUrl, 'mms_queue_depth', { model: 'scale' });
    const gone = () => metricValue(server.metricsUrl, 'mms_requests_total', { model: 'scale', status: '499' });
    try {
      await client.ok('ModelInfer', infer(1));
      const before = await batches();
      const goneBefore = await gone();
      process.kill(pid, 'SIGSTOP');
      try {
        let call: grpc.ClientUnaryCall | undefined;
        const ended = new Promise<grpc.ServiceError | null>((resolve) => {
          call = stub.makeUnaryRequest(ModelInfer.path, ModelInfer.requestSerialize, ModelInfer.responseDeserialize, infer(1), (e) => resolve(e));
        });
        await eventually(async () => (await depth()) === 1); // the front holds it for the stopped worker
        call!.cancel();
        assert.equal((await ended)?.code, grpc.status.CANCELLED);
        await eventually(async () => (await gone()) === goneBefore + 1 && (await depth()) === 0);
      } finally {
        process.kill(pid, 'SIGCONT');
      }
      await client.ok('ModelInfer', infer(1));
      assert.equal(await batches(), before + 1, 'only the call after it ran');
    } finally {
      stub.close();
      client.close();
    }
  });
});

function openssl(): string | undefined {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return 'openssl is not installed: the TLS case needs it to make a certificate';
  }
}

describe('gRPC over TLS', { timeout: 120_000, skip: openssl() }, () => {
  it('serves ModelInfer to a client that trusts the certificate', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mms-grpc-tls-'));
    try {
      const key = path.join(dir, 'key.pem');
      const cert = path.join(dir, 'cert.pem');
      execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], { stdio: 'ignore' });
      await withScale({ grpc_inference_address: 'https://127.0.0.1:0', private_key_file: key, certificate_file: cert }, async (server) => {
        const client = new InferenceClient(server.grpcUrl, {}, {
          credentials: grpc.credentials.createSsl(readFileSync(cert)),
          channel: { 'grpc.ssl_target_name_override': 'localhost' }, // a name, not the IP, for SNI
        });
        try {
          const reply = await client.ok('ModelInfer', infer(2));
          assert.deepEqual(reply.raw_output_contents[0], doubled(2));
        } finally {
          client.close();
        }
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
