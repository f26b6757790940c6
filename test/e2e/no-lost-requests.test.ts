// No request is lost: a worker SIGKILLed under load has its in-flight requests (up to two batches: one
// running, one waiting in its socket) retried on the other worker, and a graceful stop answers every
// request it had accepted, in the workers and in the queue, before stopping the workers.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { writeHandlerModelDir } from '../helpers/fixtures.js';
import { childPids, eventually, isAlive, request, startTestServer, type JsonResponse, type TestServer } from '../helpers/server.js';

const post = (server: TestServer, model: string, text: string) =>
  request(`${server.inferenceUrl}/predictions/${model}`, { method: 'POST', body: text, headers: { 'content-type': 'text/plain' } });

async function register(server: TestServer, query: string): Promise<void> {
  const r = await request(`${server.managementUrl}/models?${query}`, { method: 'POST' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
}

describe('no lost requests', () => {
  it('a worker SIGKILLed under load loses no request', async () => {
    const server = await startTestServer();
    try {
      // The echo-like probe handler: its answers carry the request's own text, so each can be matched.
      writeHandlerModelDir(path.join(server.store, 'echo'), 'echo', 'batch-probe.mjs');
      await register(server, 'url=echo&model_name=echo&initial_workers=2');
      const pool = server.registry.get('echo').pool;
      const pidsBefore = pool.workers.map((w) => w.pid);

      const TOTAL = 200;
      const CONCURRENCY = 16;
      const KILL_AFTER = 40;
      const results: Array<JsonResponse | Error> = new Array(TOTAL);
      let next = 0;
      let answered = 0;
      let killed: { pid: number; state: string } | undefined;
      const lane = async () => {
        while (next < TOTAL) {
          const i = next++;
          results[i] = await post(server, 'echo', `sleep:20#${i}`).catch((err: Error) => err);
          if (++answered === KILL_AFTER) {
            // A worker with a request in it right now.
            const victim = pool.workers.find((w) => w.state === 'BUSY') ?? pool.workers[0];
            killed = { pid: victim.pid!, state: victim.state };
            process.kill(victim.pid!, 'SIGKILL');
          }
        }
      };
      await Promise.all(Array.from({ length: CONCURRENCY }, lane));

      assert.ok(killed, 'a worker was killed mid-burst');
      assert.equal(killed.state, 'BUSY', 'the killed worker had a request in flight');
      const failed = results.flatMap((r, i) => (r instanceof Error || r.status !== 200 ? [`#${i}: ${r instanceof Error ? r.message : `${r.status} ${JSON.stringify(r.body)}`}`] : []));
      assert.deepEqual(failed, [], 'every request got 200');
      results.forEach((r, i) => assert.equal((r as JsonResponse).body.text, `sleep:20#${i}`));
      const pids = new Set(results.map((r) => (r as JsonResponse).body.pid as number));
      assert.ok(pids.has(killed.pid) && pidsBefore.includes(killed.pid), 'the killed worker served part of the burst');
      assert.ok(!isAlive(killed.pid));
      // The pool replaces the killed worker (after its restart back-off).
      await eventually(() => pool.workers.filter((w) => w.state === 'READY' && w.pid !== killed!.pid).length === 2);
    } finally {
      await server.close();
    }
  });

  it('a graceful stop answers the requests in flight, then stops the workers and refuses connections', async () => {
    const server = await startTestServer();
    const release = path.join(server.store, 'release');
    let released = false;
    const releaseAll = () => {
      if (!released) writeFileSync(release, '');
      released = true;
    };
    let closing: Promise<void> | undefined;
    try {
      writeHandlerModelDir(path.join(server.store, 'probe'), 'probe', 'batch-probe.mjs');
      await register(server, 'url=probe&model_name=probe&initial_workers=2');
      const pool = server.registry.get('probe').pool;
      const workerPids = pool.workers.map((w) => w.pid!);
      assert.equal(workerPids.length, 2);
      assert.ok(workerPids.every((pid) => childPids().includes(pid)));

      // Ten requests that stay in flight until released: two in each worker (one running, one waiting
      // in its socket: all a worker takes), six queued.
      const inFlight = Array.from({ length: 10 }, (_, i) => post(server, 'probe', `wait:${release}#${i}`).catch((err: Error) => err));
      await eventually(() => pool.queue.length === 6 && pool.workers.every((w) => w.state === 'BUSY'));

      closing = server.close();
      // Stopped accepting at once: a new connection is refused while the ten are still running.
      const { hostname, port } = new URL(server.inferenceUrl);
      const refused = await new Promise<string>((resolve) => {
        const socket = net.connect(Number(port), hostname);
        socket.on('connect', () => {
          socket.destroy();
          resolve('connected');
        });
        socket.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
      });
      assert.equal(refused, 'ECONNREFUSED');
      assert.equal(pool.workers.length, 2, 'workers keep running while requests are in flight');

      releaseAll();
      const results = await Promise.all(inFlight);
      for (const [i, r] of results.entries()) {
        assert.ok(!(r instanceof Error), `#${i}: ${(r as Error).message}`);
        assert.equal(r.status, 200, JSON.stringify(r.body));
        assert.equal(r.body.text, `wait:${release}#${i}`);
      }
      await closing;
      for (const pid of workerPids) {
        assert.ok(!childPids().includes(pid), `worker ${pid} is gone`);
        assert.ok(!isAlive(pid));
      }
      await assert.rejects(fetch(`${server.inferenceUrl}/ping`));
      await assert.rejects(fetch(`${server.managementUrl}/models`));
    } finally {
      // On a failure, let the held requests finish so the close below does not wait out its deadline.
      releaseAll();
      await (closing ?? server.close());
    }
  });
});
