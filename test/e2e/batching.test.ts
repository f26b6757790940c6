// Batches form in the frontend, per model: at once on an idle model, full when enough requests wait,
// partial once the oldest has waited max_batch_delay while another batch runs. A worker is pipelined:
// it holds up to two batches (one running, one waiting in its socket), so requests stay in the queue
// only once every worker holds two. Observed from the worker's side (the batch-probe handler reports
// the batch it was handed), and with the default ONNX handler, where one bad item of a joined batch
// fails alone and joined runs answer like single ones.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { writeHandlerModelDir } from '../helpers/fixtures.js';
import { writeModelDir } from '../helpers/onnx-models.js';
import { eventually, postJson, request, startTestServer, v2Request, type JsonResponse, type TestServer } from '../helpers/server.js';

interface Probe {
  text: string;
  batch: number;
  index: number;
  t: number;
  pid: number;
  requestId: string;
}

describe('batching', () => {
  let server: TestServer;
  let markers = 0;

  const register = async (query: string) => {
    const r = await request(`${server.managementUrl}/models?${query}`, { method: 'POST' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
  };
  const probe = (model: string, text: string) =>
    request<Probe>(`${server.inferenceUrl}/predictions/${model}`, { method: 'POST', body: text, headers: { 'content-type': 'text/plain' } });
  const pool = (model: string) => server.registry.get(model).pool;
  const busyWorker = (model: string) => pool(model).workers.find((w) => w.state === 'BUSY');
  /** A fresh file path; a 'wait:<path>' request holds its worker until the file is written. */
  const marker = () => path.join(server.store, `release-${++markers}`);

  /** Every marker written on the way out, so a failed test leaves no request held. */
  const releases: Array<() => void> = [];

  /**
   * Sends a request that holds the model's (only idle) worker until release() is called, and waits
   * until that worker is busy with it. The worker still has room for a second batch behind it.
   */
  async function holdWorker(model: string) {
    const file = marker();
    const release = () => writeFileSync(file, '');
    releases.push(release);
    const idleBefore = pool(model).workers.filter((w) => w.state === 'READY').length;
    const reply = probe(model, `wait:${file}`);
    const worker = await eventually(() => busyWorker(model));
    assert.equal(pool(model).workers.filter((w) => w.state === 'READY').length, idleBefore - 1);
    return { pid: worker.pid, file, reply, release };
  }

  /**
   * Holds a model's only worker fully: a held batch running and a second held batch waiting behind it
   * in the worker's socket. Requests sent after this stay in the queue until release().
   */
  async function fillWorker(model: string) {
    assert.equal(pool(model).workers.length, 1);
    const held = await holdWorker(model);
    assert.equal(pool(model).queue.length, 0);
    const second = probe(model, `wait:${held.file}#2`);
    // The model is busy and 1 < batch_size, so the second request waits in the queue for
    // max_batch_delay (this check runs before the batcher's timer, which is due later), then goes
    // to the worker, which takes one more batch.
    await eventually(() => pool(model).queue.length === 1);
    await eventually(() => pool(model).queue.length === 0);
    assert.equal(busyWorker(model)?.pid, held.pid);
    return { pid: held.pid, replies: [held.reply, second], release: held.release };
  }

  before(async () => {
    server = await startTestServer();
    writeHandlerModelDir(path.join(server.store, 'probe'), 'probe', 'batch-probe.mjs');
    writeModelDir(path.join(server.store, 'scale'), { name: 'scale' });
    await register('url=probe&model_name=probe&initial_workers=1&batch_size=4&max_batch_delay=300');
    // Two workers: one can be held busy while the other shows what the batcher sends meanwhile.
    await register('url=probe&model_name=probe2&initial_workers=2&batch_size=4&max_batch_delay=1000');
    await register('url=scale&model_name=scale&initial_workers=1&batch_size=8&max_batch_delay=100');
  });
  after(async () => {
    for (const release of releases) release();
    await server.close();
  });

  describe('as the worker sees them', () => {
    it('a lone request on an idle model is sent at once as a batch of 1', async () => {
      const r = await probe('probe', 'alone');
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.text, 'alone');
      assert.equal(r.body.batch, 1);
      assert.equal(r.body.index, 0);
    });

    it('batch_size requests that queue behind a busy worker go as one full batch', async () => {
      const held = await fillWorker('probe');
      const texts = ['a', 'b', 'c', 'd'];
      const replies = texts.map((t) => probe('probe', t));
      await eventually(() => pool('probe').queue.length === 4);
      held.release();
      for (const blocker of await Promise.all(held.replies)) {
        assert.equal(blocker.status, 200);
        assert.equal(blocker.body.batch, 1);
        assert.equal(blocker.body.pid, held.pid);
      }
      const rs = await Promise.all(replies);
      for (const [i, r] of rs.entries()) {
        assert.equal(r.status, 200, JSON.stringify(r.body));
        assert.equal(r.body.text, texts[i], 'each request is answered with its own item');
        assert.equal(r.body.batch, 4);
        assert.equal(r.body.t, rs[0].body.t, 'one handle() call served all four');
        assert.equal(r.body.pid, held.pid);
      }
      assert.deepEqual(rs.map((r) => r.body.index).sort(), [0, 1, 2, 3]);
      assert.equal(new Set(rs.map((r) => r.body.requestId)).size, 4);
    });

    it('more than batch_size queued requests are split into full batches, oldest first', async () => {
      const held = await fillWorker('probe');
      const texts = ['1', '2', '3', '4', '5', '6'];
      const replies: Array<Promise<JsonResponse<Probe>>> = [];
      // One at a time into the queue, so the queue order is known.
      for (const t of texts) {
        replies.push(probe('probe', t));
        await eventually(() => pool('probe').queue.length === replies.length);
      }
      held.release();
      const rs = await Promise.all(replies);
      assert.ok(rs.every((r) => r.status === 200));
      assert.deepEqual(rs.map((r) => r.body.text), texts);
      assert.deepEqual(rs.map((r) => r.body.batch), [4, 4, 4, 4, 2, 2]);
      assert.deepEqual(rs.map((r) => r.body.index), [0, 1, 2, 3, 0, 1]);
      assert.equal(new Set(rs.slice(0, 4).map((r) => r.body.t)).size, 1);
      assert.equal(new Set(rs.slice(4).map((r) => r.body.t)).size, 1);
      assert.ok(rs[4].body.t >= rs[0].body.t, 'the second batch ran after the first');
      assert.deepEqual((await Promise.all(held.replies)).map((r) => r.status), [200, 200]);
    });

    it('fewer than batch_size requests queued behind the busy worker come back together', async () => {
      const held = await fillWorker('probe');
      const replies = ['x', 'y'].map((t) => probe('probe', t));
      await eventually(() => pool('probe').queue.length === 2);
      held.release();
      const rs = await Promise.all(replies);
      for (const r of rs) {
        assert.equal(r.status, 200);
        assert.equal(r.body.batch, 2);
        assert.equal(r.body.t, rs[0].body.t);
      }
      assert.deepEqual(rs.map((r) => r.body.text), ['x', 'y']);
      assert.deepEqual((await Promise.all(held.replies)).map((r) => r.status), [200, 200]);
    });

    it('while a batch runs, a partial batch goes to another idle worker once max_batch_delay has passed', async () => {
      const held = await holdWorker('probe2');
      const other = pool('probe2').workers.find((w) => w.state === 'READY');
      assert.ok(other, 'the second worker is idle');
      // Neither full (2 < 4) nor an idle model (a batch is running): only the delay sends these.
      // They come back while the first worker is still held.
      const rs = await Promise.all(['p', 'q'].map((t) => probe('probe2', t)));
      for (const r of rs) {
        assert.equal(r.status, 200, JSON.stringify(r.body));
        assert.equal(r.body.batch, 2);
        assert.equal(r.body.t, rs[0].body.t);
        assert.equal(r.body.pid, other.pid);
      }
      assert.deepEqual(rs.map((r) => r.body.text), ['p', 'q']);
      assert.equal(busyWorker('probe2')?.pid, held.pid, 'the first batch is still running');
      held.release();
      const blocker = await held.reply;
      assert.equal(blocker.status, 200);
      assert.equal(blocker.body.pid, held.pid);
    });

    it('while a batch runs, a full batch goes to another idle worker at once', async () => {
      const held = await holdWorker('probe2');
      const rs = await Promise.all(['1', '2', '3', '4'].map((t) => probe('probe2', t)));
      assert.ok(rs.every((r) => r.status === 200 && r.body.batch === 4 && r.body.pid !== held.pid));
      assert.equal(new Set(rs.map((r) => r.body.t)).size, 1);
      held.release();
      assert.equal((await held.reply).status, 200);
    });
  });

  describe('with the default ONNX handler (scale model, y = 2x)', () => {
    const url = () => `${server.inferenceUrl}/predictions/scale`;
    const rows = (n: number, base: number) => Array.from({ length: n * 4 }, (_, i) => base + i * 0.5);
    const batchCounts = async () => {
      const text = (await request(`${server.metricsUrl}/metrics`)).body as string;
      const value = (name: string) => Number(new RegExp(`^${name}\\{model="scale"\\} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
      return { batches: value('mms_batch_size_count'), items: value('mms_batch_size_sum') };
    };

    /**
     * Freezes the scale worker (SIGSTOP) with two requests in it (one it would be running, one waiting
     * in its socket: all a worker takes), so the next ones queue up.
     */
    async function freezeWorker() {
      const worker = pool('scale').workers[0];
      assert.equal(worker.state, 'READY');
      assert.equal(pool('scale').queue.length, 0);
      const pid = worker.pid!;
      process.kill(pid, 'SIGSTOP');
      try {
        const plug = () => postJson(url(), v2Request('x', [1, 4], [1, 2, 3, 4]));
        const first = plug();
        await eventually(() => worker.state === 'BUSY');
        const second = plug();
        // Alone behind a busy batch, the second plug waits max_batch_delay in the queue (this check
        // runs before the batcher's timer, which is due later), then goes to the worker.
        await eventually(() => pool('scale').queue.length === 1);
        await eventually(() => pool('scale').queue.length === 0);
        return {
          plugs: [first, second],
          thaw: () => process.kill(pid, 'SIGCONT'),
        };
      } catch (err) {
        process.kill(pid, 'SIGCONT');
        throw err;
      }
    }

    async function sendAsOneBatch(bodies: unknown[]): Promise<JsonResponse[]> {
      const before = await batchCounts();
      const frozen = await freezeWorker();
      let replies: Array<Promise<JsonResponse>>;
      try {
        replies = bodies.map((b) => postJson(url(), b));
        await eventually(() => pool('scale').queue.length === bodies.length);
      } finally {
        frozen.thaw();
      }
      for (const plug of await Promise.all(frozen.plugs)) {
        assert.equal(plug.status, 200);
        assert.deepEqual(plug.body.outputs[0].data, [2, 4, 6, 8]);
      }
      const rs = await Promise.all(replies);
      // Each plug went alone, then everything queued went as one batch.
      assert.deepEqual(await batchCounts(), { batches: before.batches + 3, items: before.items + 2 + bodies.length });
      return rs;
    }

    it('one bad item in a batch fails only its own request', async () => {
      const shapes = [[1, 4], [2, 4], [1, 4], null, [3, 4], [1, 4]] as const;
      const bodies = shapes.map((s, i) => (s ? v2Request('x', [...s], rows(s[0], i * 10)) : v2Request('x', [1, 5], [1, 2, 3, 4, 5])));
      const rs = await sendAsOneBatch(bodies);
      for (const [i, s] of shapes.entries()) {
        const r = rs[i];
        if (!s) {
          assert.equal(r.status, 400, JSON.stringify(r.body));
          assert.equal(r.body.code, 400);
          assert.equal(r.body.type, 'BadRequestException');
          assert.match(r.body.message, /dimension 1 must be 4/);
          continue;
        }
        assert.equal(r.status, 200, JSON.stringify(r.body));
        assert.equal(r.body.outputs.length, 1);
        assert.equal(r.body.outputs[0].name, 'y');
        assert.deepEqual(r.body.outputs[0].shape, [...s]);
        assert.deepEqual(r.body.outputs[0].data, rows(s[0], i * 10).map((v) => v * 2));
      }
      assert.deepEqual(rs.map((r) => r.status).sort(), [200, 200, 200, 200, 200, 400]);
    });

    it('a joined ORT batch answers each request exactly as a single request does', async () => {
      const bodies = [[1, 4], [3, 4], [2, 4]].map(([n, w], i) => v2Request('x', [n, w], rows(n, 100 * (i + 1))));
      const singles: JsonResponse[] = [];
      for (const b of bodies) {
        const before = await batchCounts();
        singles.push(await postJson(url(), b));
        assert.deepEqual(await batchCounts(), { batches: before.batches + 1, items: before.items + 1 }, 'sent alone');
      }
      const joined = await sendAsOneBatch(bodies);
      for (const [i, [n]] of [[1], [3], [2]].entries()) {
        assert.equal(singles[i].status, 200);
        assert.deepEqual(singles[i].body.outputs[0].shape, [n, 4]);
        assert.deepEqual(singles[i].body.outputs[0].data, rows(n, 100 * (i + 1)).map((v) => v * 2));
        assert.equal(joined[i].status, 200);
        assert.deepEqual(joined[i].body, singles[i].body);
      }
    });
  });
});
