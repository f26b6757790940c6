// A pipeline in the GPU-sharing mode (docs/gpu.md, "The GPU-sharing mode"; here on the CPU, which shares
// the same way): each stage's workers are the sessions of one process of that stage, and requests run
// through them as through workers of their own.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { postJson, request, startTestServer, v2Request, type TestServer } from '../helpers/server.js';
import { writeChain } from '../helpers/pipelines.js';

describe('a pipeline in the sharing mode', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
    writeChain(path.join(server.store, 'chain'));
  });
  after(() => server?.close());

  it("shares one process among each stage's workers and answers through them", { timeout: 60_000 }, async () => {
    const r = await request(`${server.managementUrl}/models?url=chain&initial_workers=2&preload_model=true&preload_sessions=2&synchronous=true`, { method: 'POST' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const stages = (await request(`${server.managementUrl}/models/chain`)).body.stages as Array<{ workers: Array<{ pid: number; sharedProcess?: string }> }>;
    for (const s of stages) {
      assert.equal(s.workers.length, 2);
      assert.equal(new Set(s.workers.map((w) => w.pid)).size, 1, 'one process a stage');
      assert.ok(s.workers.every((w) => w.sharedProcess), 'describe names the shared process');
    }
    assert.notEqual(stages[0].workers[0].pid, stages[1].workers[0].pid, 'stages do not share a process');
    const answers = await Promise.all([1, 2, 3, 4].map((k) => postJson(`${server.inferenceUrl}/predictions/chain`, v2Request('x', [1, 4], [k, k, k, k]))));
    assert.deepEqual(answers.map((a) => a.body.outputs[0].data), [1, 2, 3, 4].map((k) => [6 * k, 6 * k, 6 * k, 6 * k]));
  });
});
