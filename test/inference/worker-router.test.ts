// WorkerRouter against real worker ends: the worker's own serve loop and batch former on real Unix
// sockets, with a JS run function in place of a model (no process, no ORT).
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { serveConnection } from '../../backend-worker/serve-loop.js';
import { BatchFormer } from '../../backend-worker/batch-former.js';
import { WorkerRouter } from '../../frontend/inference/worker-router.js';
import type { ModelRoute, WorkerRoute } from '../../protocol/routes.js';

const servers: net.Server[] = [];
after(() => {
  for (const s of servers) s.close();
});

let n = 0;
const socketPath = () => path.join(os.tmpdir(), `.mms-router-test.${process.pid}.${++n}`);

/** A worker end that answers each request with its name after `ms`; kill() cuts its connections, as the death of its process would. */
async function killableWorker(name: string, ms: number, at = socketPath()): Promise<{ path: string; kill: () => void }> {
  const sockets = new Set<net.Socket>();
  const former = new BatchFormer({
    batchSize: 1,
    maxBatchDelay: 0,
    run: async (items) => {
      await new Promise((r) => setTimeout(r, ms));
      return items.map((i) => ({ requestId: i.requestId, contentType: 'text/plain', status: 200, reason: '', headers: [], body: Buffer.from(name) }));
    },
  });
  const server = net.createServer((socket) => {
    sockets.add(socket);
    void serveConnection(socket, async () => ({ former }), () => undefined);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(at, resolve));
  return { path: at, kill: () => sockets.forEach((s) => s.destroy()) };
}

const listenWorker = async (name: string, ms: number, at?: string): Promise<string> => (await killableWorker(name, ms, at)).path;

const route = (workers: WorkerRoute[]): ModelRoute => ({
  name: 'm', version: '1', queueSize: 10, batchSize: 1, responseTimeoutMs: 5000, retryOnWorkerDeath: true,
  workers, minWorkers: 1, starting: false, healthy: true, platform: 'node', openInference: false,
});
const router = () => new WorkerRouter({ frontId: 'test', maxResponseSize: 1 << 20, log: pino({ level: 'silent' }) });
const item = (id: string) => ({ requestId: id, headers: [], parameters: [] });

describe('WorkerRouter', () => {
  it('one front of several admits the whole budget of a model when it alone holds its requests', { timeout: 30_000 }, async () => {
    // 1 worker, batch 1, queue 10: 10 + 1 × 2 × 1 = 12. With 4 fronts, a front that gets most of the
    // connections (the kernel deals them unevenly) must not refuse what the idle others could have taken.
    const slow = await listenWorker('slow', 300);
    const r = router();
    await r.apply({ version: 1, startupModels: [], models: [route([{ id: 'slow', pid: 1, socketPath: slow, slots: 1 }])] });
    const held = Array.from({ length: 12 }, (_, i) => r.submit('m', item(`r${i}`)));
    held.forEach((p) => p.catch(() => undefined)); // a refusal is asserted below, not left unhandled
    await assert.rejects(r.submit('m', item('over')), (e: { code?: string }) => e.code === 'QUEUE_FULL');
    const replies = await Promise.all(held);
    assert.deepEqual(replies.map((x) => x.requestId), held.map((_, i) => `r${i}`));
    r.close();
  });

  it('acknowledges a table only once every worker removed before it has answered what it holds', async () => {
    const slow = await listenWorker('slow', 600);
    const fast = await listenWorker('fast', 1);
    const r = router();
    const both = [{ id: 'slow', pid: 1, socketPath: slow, slots: 1 }, { id: 'fast', pid: 2, socketPath: fast, slots: 1 }];
    await r.apply({ version: 1, startupModels: [], models: [route(both)] });
    const order: string[] = [];
    // The first request goes to `slow` (ties go to the worker picked longest ago; neither was).
    const answered = r.submit('m', item('a')).then((reply) => order.push(`answered by ${reply.body.toString()}`));
    const v2 = r.apply({ version: 2, startupModels: [], models: [route(both.slice(1))] }).then(() => order.push('v2'));
    // A later change before the drain ends: its acknowledgement must not let the controller stop `slow`.
    const v3 = r.apply({ version: 3, startupModels: [], models: [route(both.slice(1))] }).then(() => order.push('v3'));
    await Promise.all([answered, v2, v3]);
    assert.equal(order[0], 'answered by slow', `order: ${order}`);
    r.close();
  });

  it('requests that only waited in a dead worker\'s queue are sent again however often; a running one is retried once', async () => {
    const [w1, w2] = [await killableWorker('w1', 400), await killableWorker('w2', 400)];
    const r = router();
    await r.apply({ version: 1, startupModels: [], models: [route([{ id: 'w1', pid: 1, socketPath: w1.path, slots: 1 }, { id: 'w2', pid: 2, socketPath: w2.path, slots: 1 }])] });
    // Two per worker: one running, one waiting behind it.
    const answers = ['a', 'b', 'c', 'd'].map((id) => r.submit('m', item(id)).then((reply) => reply.body.toString(), (e: { code: string }) => e.code));
    await new Promise((resolve) => setImmediate(resolve));
    w1.kill(); // its two go to w2, which now holds four
    await new Promise((resolve) => setTimeout(resolve, 50));
    w2.kill(); // the one w2 runs has its retry; the three waiting, one of them w1's running one, had not started
    // Every request is answered once the router is connected again (a second later), none lost.
    const got = await Promise.all(answers);
    r.close();
    assert.deepEqual(got.map((g) => g === 'w1' || g === 'w2'), [true, true, true, true], JSON.stringify(got));
  });

  it('connects to a listed worker that could not be reached at first, without a new table', async () => {
    const later = socketPath();
    const r = router();
    await r.apply({ version: 1, startupModels: [], models: [route([{ id: 'late', pid: 3, socketPath: later, slots: 1 }])] });
    // Health counts the workers this front can reach, not those the table lists.
    assert.equal(r.health(), 'Unhealthy');
    assert.equal(r.modelHealth().m.workers, 0);
    await listenWorker('late', 1, later);
    // The router tries once more on its own; the request waits for it (the model is listed with a worker).
    const reply = await r.submit('m', item('b'));
    assert.equal(reply.body.toString(), 'late');
    assert.equal(r.health(), 'Healthy');
    assert.equal(r.modelHealth().m.workers, 1);
    r.close();
  });

  it('a request waiting for a starting worker leaves the queue at its deadline (504) or when its client goes', async () => {
    const r = router();
    await r.apply({ version: 1, startupModels: [], models: [{ ...route([]), starting: true }] });
    const late = r.submit('m', item('late'), { deadline: performance.now() + 20 });
    await assert.rejects(late, (e: { code?: string; status?: number }) => e.code === 'DEADLINE_EXCEEDED' && e.status === 504);
    let leave = () => undefined as void;
    const left = r.submit('m', item('left'), { whenGone: (cancel) => ((leave = cancel), () => undefined) });
    leave();
    await assert.rejects(left, (e: { code?: string }) => e.code === 'CLIENT_CLOSED');
    assert.deepEqual(r.pending(), [['m', 0]], 'both were released from admission');
    // Already past, or already gone: refused before anything is queued.
    await assert.rejects(r.submit('m', item('past'), { deadline: performance.now() - 1 }), (e: { code?: string }) => e.code === 'DEADLINE_EXCEEDED');
    await assert.rejects(r.submit('m', item('gone'), { whenGone: (cancel) => (cancel(), () => undefined) }), (e: { code?: string }) => e.code === 'CLIENT_CLOSED');
    // The worker that then appears serves on.
    const at = await listenWorker('w', 1);
    await r.apply({ version: 2, startupModels: [], models: [route([{ id: 'w', pid: 1, socketPath: at, slots: 1 }])] });
    assert.equal((await r.submit('m', item('next'))).requestId, 'next');
    r.close();
  });
});
