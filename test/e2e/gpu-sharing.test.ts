// The GPU-sharing mode on the CPU (preload_model; docs/gpu.md, "The GPU-sharing mode"): a model's
// workers are slots of one worker process, batches form across them, a SIGKILL of that process loses
// no request, and scaling adds or removes slots, not processes. An execution provider that cannot
// start fails the registration with its own message and leaves no process.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import path from 'node:path';
import { writeHandlerModelDir } from '../helpers/fixtures.js';
import { metricValue } from '../helpers/metrics.js';
import { writeModelDir } from '../helpers/onnx-models.js';
import { childPids, eventually, request, startTestServer, type TestServer } from '../helpers/server.js';

interface Reply {
  status: number;
  body: any;
}

function post(url: string, text: string, agent?: http.Agent): Promise<Reply> {
  return new Promise((resolve) => {
    const req = http.request(url, { method: 'POST', agent: agent ?? false, headers: { 'content-type': 'text/plain' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const raw = Buffer.concat(chunks).toString();
        let body: any = raw;
        try {
          body = JSON.parse(raw);
        } catch {
          // not JSON
        }
        resolve({ status: res.statusCode ?? 0, body });
      });
      res.on('error', () => resolve({ status: 0, body: 'response error' }));
    });
    req.on('error', (err) => resolve({ status: 0, body: err.message }));
    req.end(text);
  });
}

describe('GPU-sharing mode on the CPU (preload_model=true)', () => {
  let server: TestServer;
  const mgmt = (p: string, method = 'GET') => request(`${server.managementUrl}${p}`, { method });
  const predict = (text: string, agent?: http.Agent) => post(`${server.inferenceUrl}/predictions/fe`, text, agent);
  const workers = async () => (await mgmt('/models/fe')).body.workers as Array<{ id: string; pid: number; status: string; sharedProcess?: string }>;

  before(async () => {
    server = await startTestServer();
    writeHandlerModelDir(path.join(server.store, 'fe'), 'fe', 'front-echo.mjs');
    writeModelDir(path.join(server.store, 'scale'), { name: 'scale' });
    const r = await mgmt('/models?url=fe&initial_workers=4&preload_model=true&batch_size=8&max_batch_delay=20&synchronous=true', 'POST');
    assert.equal(r.status, 200, JSON.stringify(r.body));
  });
  after(() => server.close());

  it('runs four workers as slots of one worker process', async () => {
    assert.equal(childPids().length, 1, `worker processes: ${childPids()}`);
    const d = (await mgmt('/models/fe')).body;
    assert.equal(d.preloadModel, true);
    assert.equal(d.workers.length, 4);
    assert.equal(new Set(d.workers.map((w: { id: string }) => w.id)).size, 4, 'each slot has its own id');
    assert.deepEqual(new Set(d.workers.map((w: { pid: number }) => w.pid)), new Set(childPids()));
    assert.equal(new Set(d.workers.map((w: { sharedProcess: string }) => w.sharedProcess)).size, 1);
    assert.ok(d.workers.every((w: { status: string; gpu: boolean }) => w.status === 'READY' && w.gpu === false));
  });

  it('forms batches across the slots\' requests', async () => {
    // The shared process is frozen (SIGSTOP) until the fronts have sent it all 24 requests (they are
    // in its sockets then), so they wait together: thawed, it runs the first one at once and the rest
    // queue behind it, whatever the timing of their arrival on a loaded host.
    const [pid] = childPids();
    const TOTAL = 24;
    process.kill(pid, 'SIGSTOP');
    let pending: Array<Promise<Reply>>;
    try {
      pending = Array.from({ length: TOTAL }, (_, i) => predict(`sleep:20 #${i}`));
      await eventually(async () => (await metricValue(server.metricsUrl, 'mms_queue_depth', { model: 'fe' })) === TOTAL);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    const replies = await Promise.all(pending);
    assert.deepEqual(replies.filter((r) => r.status !== 200), []);
    assert.equal(new Set(replies.map((r) => r.body.pid)).size, 1);
    const sizes = replies.map((r) => r.body.batch.size as number);
    assert.ok(Math.max(...sizes) > 1, `batch sizes ${sizes}`);
  });

  it('loses no request when the shared process is SIGKILLed under load', async () => {
    const [victim] = childPids();
    const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
    let stop = false;
    const failed: Reply[] = [];
    let answered = 0;
    const lanes = Array.from({ length: 8 }, async () => {
      while (!stop) {
        const r = await predict('sleep:5', agent);
        if (r.status === 200) answered++;
        else failed.push(r);
      }
    });
    try {
      await eventually(() => answered > 20);
      process.kill(victim, 'SIGKILL');
      const back = await eventually(async () => {
        const w = await workers();
        return w.length === 4 && w.every((s) => s.status === 'READY' && s.pid !== victim) ? w : undefined;
      }, 30_000);
      assert.equal(new Set(back.map((s) => s.pid)).size, 1, 'the four slots share the new process');
      const after = answered;
      await eventually(() => answered > after + 20);
    } finally {
      stop = true;
      await Promise.all(lanes);
      agent.destroy();
    }
    assert.deepEqual(failed, []);
    assert.deepEqual(childPids().length, 1);
  });

  it('scales slots, not processes; the process stops with its last slot', async () => {
    const [pid] = childPids();
    assert.equal((await mgmt('/models/fe?min_worker=2&synchronous=true', 'PUT')).status, 200);
    assert.deepEqual((await workers()).map((w) => w.pid), [pid, pid]);
    assert.equal((await predict('x')).status, 200);
    assert.equal((await mgmt('/models/fe?min_worker=0&synchronous=true', 'PUT')).status, 200);
    await eventually(() => childPids().length === 0);
    assert.equal((await mgmt('/models/fe?min_worker=3&synchronous=true', 'PUT')).status, 200);
    const now = await workers();
    assert.equal(now.length, 3);
    assert.deepEqual(childPids(), [now[0].pid]);
    assert.equal((await predict('x')).status, 200);
  });

  it('loads the model once per session (preload_sessions) and serves an ONNX model', async () => {
    const r = await mgmt('/models?url=scale&initial_workers=2&preload_model=true&preload_sessions=2&synchronous=true', 'POST');
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const d = (await mgmt('/models/scale')).body;
    assert.deepEqual([d.preloadSessions, d.workers.length, new Set(d.workers.map((w: { pid: number }) => w.pid)).size], [2, 2, 1]);
    assert.equal(d.workers[0].executionProvider, 'cpu');
    const body = JSON.stringify({ inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }] });
    const replies = await Promise.all(Array.from({ length: 8 }, () =>
      request(`${server.inferenceUrl}/predictions/scale`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })));
    for (const reply of replies) assert.deepEqual(reply.body.outputs[0].data, [2, 4, 6, 8]);
    assert.equal((await mgmt('/models/scale', 'DELETE')).status, 200);
  });

  it('moves large tensors to and from the session threads intact, batched', async () => {
    // 1 MB a tensor: the body spans many socket chunks, so the worker's copy of it owns its memory and
    // is transferred to the thread; each answer (1 MB) is transferred back.
    const r = await mgmt('/models?url=scale&model_name=big&initial_workers=2&preload_model=true&batch_size=8&max_batch_delay=50&synchronous=true', 'POST');
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const rows = 65536;
    const send = (k: number) => {
      const data = Float32Array.from({ length: rows * 4 }, (_, i) => (i % 1000) + k);
      const header = Buffer.from(JSON.stringify({ inputs: [{ name: 'x', shape: [rows, 4], datatype: 'FP32', parameters: { binary_data_size: data.byteLength } }], parameters: { binary_data_output: true } }));
      return new Promise<{ status: number; header: number; body: Buffer }>((resolve, reject) => {
        const req = http.request(`${server.inferenceUrl}/predictions/big`, { method: 'POST', agent: false, headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': header.length } }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, header: Number(res.headers['inference-header-content-length']), body: Buffer.concat(chunks) }));
        });
        req.on('error', reject);
        req.end(Buffer.concat([header, Buffer.from(data.buffer)]));
      });
    };
    const replies = await Promise.all(Array.from({ length: 12 }, (_, k) => send(k)));
    replies.forEach((reply, k) => {
      assert.equal(reply.status, 200, reply.body.subarray(0, 200).toString());
      const raw = reply.body.subarray(reply.header);
      const y = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
      assert.equal(y.length, rows * 4);
      for (const i of [0, 1, 999, 1000, 123457, rows * 4 - 1]) assert.equal(y[i], 2 * ((i % 1000) + k), `reply ${k}, value ${i}`);
    });
    assert.equal((await mgmt('/models/big', 'DELETE')).status, 200);
  });
});

describe('an execution provider that cannot start', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
    writeModelDir(path.join(server.store, 'scale'), { name: 'scale' });
  });
  after(() => server.close());

  for (const provider of ['cuda', 'webgpu']) {
    it(`${provider}: the registration fails with the provider's message and leaves no process`, async () => {
      const r = await request(`${server.managementUrl}/models?url=scale&model_name=${provider}&initial_workers=1&execution_provider=${provider}&synchronous=true`, { method: 'POST' });
      if (r.status === 200) {
        // This machine has the provider: nothing to refuse here.
        await request(`${server.managementUrl}/models/${provider}`, { method: 'DELETE' });
        return;
      }
      assert.equal(r.status, 500, JSON.stringify(r.body));
      const name = provider === 'cuda' ? 'the CUDA execution provider on GPU 0' : 'the webgpu execution provider';
      assert.match(r.body.message, new RegExp(`Failed to start workers: .*${name} cannot start: \\S`));
      assert.equal((await request(`${server.managementUrl}/models/${provider}`)).status, 404);
      await eventually(() => childPids().length === 0);
    });
  }

  it('with auto and no GPU, the worker runs on the CPU', async () => {
    const r = await request(`${server.managementUrl}/models?url=scale&initial_workers=1&synchronous=true`, { method: 'POST' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const d = (await request(`${server.managementUrl}/models/scale`)).body;
    assert.deepEqual([d.executionProvider, d.workers[0].executionProvider, d.workers[0].gpu], ['auto', 'cpu', false]);
  });
});
