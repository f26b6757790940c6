// A pipeline's ONNX Runtime intra-op threads through the real server (docs/pipelines.md, The stage
// list): a stage's own intraOpThreads, its range, and the share every stage's workers take at
// registration. Each worker's count is read off its command line (--intra-op-threads).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { postJson, request, startTestServer, v2Request, type TestServer } from '../helpers/server.js';
import { writeScaleModel } from '../helpers/onnx-models.js';
import { writeChain, writePipeline } from '../helpers/pipelines.js';
import { frontCount } from '../../frontend/config/server-config.js';
import { hostCpuCount } from '../../frontend/config/host-cpus.js';

type Stage = { intraOpThreads?: number; workers: Array<{ pid: number }> };

/** The --intra-op-threads a worker process was started with. */
function threadsOf(w: { pid: number }): string {
  const args = readFileSync(`/proc/${w.pid}/cmdline`, 'utf8').split('\0');
  assert.ok(args.includes('--intra-op-threads'), args.join(' '));
  return args[args.indexOf('--intra-op-threads') + 1];
}

/** The chain `name` (×2 then ×3) whose second stage asks for `threads`. */
function writeThreads(store: string, name: string, threads: unknown): void {
  const dir = path.join(store, name);
  mkdirSync(dir);
  writeScaleModel(dir, 'double.onnx', 2);
  writeScaleModel(dir, 'triple.onnx', 3);
  writePipeline(dir, { modelName: name, stages: [{ name: 'double', modelFile: 'double.onnx' }, { name: 'triple', modelFile: 'triple.onnx', map: { y: 'x' }, intraOpThreads: threads }] });
}

describe("a pipeline's intra-op threads", () => {
  let server: TestServer;
  const register = (s: TestServer, query: string) => request(`${s.managementUrl}/models?synchronous=true&${query}`, { method: 'POST' });
  const stages = async (s: TestServer, name: string) => (await request(`${s.managementUrl}/models/${name}`)).body.stages as Stage[];

  before(async () => {
    server = await startTestServer();
  });
  after(() => server.close());

  it("starts a stage's workers with its own intraOpThreads, over the server-wide count", { timeout: 60_000 }, async () => {
    // The server-wide count is 3: the stage that asks for 1 gets 1, the other 3, on any host.
    const own = await startTestServer({ onnx_intra_op_threads: '3' });
    try {
      writeThreads(own.store, 'threads', 1);
      const r = await register(own, 'url=threads&initial_workers=1');
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const [double, triple] = await stages(own, 'threads');
      assert.deepEqual([double.intraOpThreads, triple.intraOpThreads], [undefined, 1]);
      assert.deepEqual([threadsOf(double.workers[0]), threadsOf(triple.workers[0])], ['3', '1']);
      assert.deepEqual((await postJson(`${own.inferenceUrl}/predictions/threads`, v2Request('x', [1, 4], [1, 2, 3, 4]))).body.outputs[0].data, [6, 12, 18, 24]);
    } finally {
      await own.close();
    }
  });

  it('refuses an intraOpThreads that is no integer from 1 to 256', { timeout: 30_000 }, async () => {
    for (const [i, threads] of [0, 1.5, 257, '2'].entries()) {
      writeThreads(server.store, `bad${i}`, threads);
      const r = await register(server, `url=bad${i}&initial_workers=1`);
      assert.equal(r.status, 400, JSON.stringify(r.body));
      assert.match(r.body.message, /model\.stages\[1\]\.intraOpThreads must be an integer from 1 to 256/);
    }
  });

  it("sizes every stage's threads by all the pipeline's workers at registration", { timeout: 60_000 }, async (t) => {
    const free = hostCpuCount() - frontCount(0);
    // The first stage once counted the second as 1 worker while it started: 3 in all instead of 4.
    if (Math.floor(free / 3) === Math.floor(free / 4)) return t.skip(`needs a host where 3 and 4 workers get different shares of its ${free} free cores`);
    writeChain(path.join(server.store, 'chain'));
    const r = await register(server, 'url=chain&initial_workers=2');
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const threads = (await stages(server, 'chain')).flatMap((s) => s.workers.map(threadsOf));
    assert.deepEqual(threads, Array(4).fill(String(Math.max(1, Math.floor(free / 4)))));
  });
});
