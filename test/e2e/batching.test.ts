// Batching as a user sees it. Batches form inside the worker process, from whatever waits there while
// the model is busy (up to batch_size, oldest first); an idle model runs a request at once, and
// max_batch_delay only holds a partial batch while another batch of the same worker runs (one at a
// time per worker, so in practice it never holds one). Observed through the batch-probe handler (each
// answer tells the batch it was part of: size, index, and (pid, seq) naming the batch), the /metrics
// batch-size histogram, and the default ONNX handler, where one bad item of a joined batch fails alone
// and joined runs answer like single ones. What waits in a front is seen through mms_queue_depth.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { writeHandlerModelDir } from '../helpers/fixtures.js';
import { metricValue } from '../helpers/metrics.js';
import { writeModelDir } from '../helpers/onnx-models.js';
import { eventually, postJson, request, startTestServer, v2Request, type JsonResponse, type TestServer } from '../helpers/server.js';

interface Probe {
  text: string;
  batch: number;
  index: number;
  t: number;
  seq: number;
  pid: number;
  requestId: string;
}

/** Far longer than any wait the tests allow: a request held for it would fail the timing checks. */
const LONG_DELAY_MS = 30_000;
/**
 * "Answered without waiting max_batch_delay": half of it, so a busy 2-core host (a prompt answer can
 * take seconds there) never fails it, while a request held for max_batch_delay always does.
 */
const PROMPT_MS = 15_000;

describe('batching', () => {
  let server: TestServer;
  let markers = 0;
  /** Every marker is written on the way out, so a failed test leaves no request held. */
  const releases: string[] = [];

  const register = async (query: string) => {
    const r = await request(`${server.managementUrl}/models?${query}`, { method: 'POST' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
  };
  const probe = (model: string, text: string) =>
    request<Probe>(`${server.inferenceUrl}/predictions/${model}`, { method: 'POST', body: text, headers: { 'content-type': 'text/plain' } });
  const depth = (model: string) => metricValue(server.metricsUrl, 'mms_queue_depth', { model });
  const batchCounts = async (model: string) => ({
    batches: await metricValue(server.metricsUrl, 'mms_batch_size_count', { model }),
    items: await metricValue(server.metricsUrl, 'mms_batch_size_sum', { model }),
  });
  /** The batches the handler reported, as sizes keyed by (pid, seq); checks each one is consistent. */
  const batchesSeen = (rs: Array<JsonResponse<Probe>>) => {
    const batches = new Map<string, Probe[]>();
    for (const r of rs) {
      const key = `${r.body.pid}/${r.body.seq}`;
      batches.set(key, [...(batches.get(key) ?? []), r.body]);
    }
    for (const [key, items] of batches) {
      assert.ok(items.every((p) => p.batch === items.length), `batch ${key}: every item of it was answered`);
      assert.deepEqual(items.map((p) => p.index).sort(), items.map((_, i) => i), `batch ${key}: one index each`);
    }
    return [...batches.values()].map((items) => items.length);
  };

  /**
   * Holds the model's only worker: one request that its handler keeps until release(). Resolves once
   * the front admitted it (and so wrote it to the worker, which, idle, runs it at once).
   */
  async function holdWorker(model: string) {
    const file = path.join(server.store, `release-${++markers}`);
    releases.push(file);
    assert.equal(await depth(model), 0);
    const reply = probe(model, `wait:${file}`);
    await eventually(async () => (await depth(model)) === 1);
    return { reply, release: () => writeFileSync(file, '') };
  }

  before(async () => {
    server = await startTestServer();
    writeHandlerModelDir(path.join(server.store, 'probe'), 'probe', 'batch-probe.mjs');
    writeModelDir(path.join(server.store, 'scale'), { name: 'scale' });
    await register(`url=probe&model_name=probe&initial_workers=1&batch_size=4&max_batch_delay=${LONG_DELAY_MS}`);
    await register(`url=probe&model_name=single&initial_workers=1&batch_size=1&max_batch_delay=${LONG_DELAY_MS}`);
    await register('url=scale&model_name=scale&initial_workers=1&batch_size=8&max_batch_delay=100');
  });
  after(async () => {
    for (const file of releases) writeFileSync(file, '');
    await server.close();
  });

  describe('as the handler sees them', () => {
    it('a lone request on an idle model runs at once as a batch of 1, without waiting max_batch_delay', async () => {
      for (const text of ['alone', 'again']) {
        const before = await batchCounts('probe');
        const start = performance.now();
        const r = await probe('probe', text);
        const ms = performance.now() - start;
        assert.equal(r.status, 200, JSON.stringify(r.body));
        assert.equal(r.body.text, text);
        assert.equal(r.body.batch, 1);
        assert.equal(r.body.index, 0);
        assert.ok(ms < PROMPT_MS, `answered in ${ms.toFixed(0)} ms, not after max_batch_delay (${LONG_DELAY_MS} ms)`);
        assert.deepEqual(await batchCounts('probe'), { batches: before.batches + 1, items: before.items + 1 });
      }
    });

    it('requests that wait while the model is busy run together, up to batch_size, each with its own answer', async () => {
      const before = await batchCounts('probe');
      const held = await holdWorker('probe');
      const texts = ['a', 'b', 'c', 'd', 'e', 'f'];
      const replies = texts.map((t) => probe('probe', t));
      // All six admitted (and so sent to the worker, where they wait behind the held batch).
      await eventually(async () => (await depth('probe')) === 1 + texts.length);
      const releasedAt = performance.now();
      held.release();
      const blocker = await held.reply;
      assert.equal(blocker.status, 200);
      assert.equal(blocker.body.batch, 1, 'the first request found the model idle and ran alone');
      const rs = await Promise.all(replies);
      const ms = performance.now() - releasedAt;
      for (const [i, r] of rs.entries()) {
        assert.equal(r.status, 200, JSON.stringify(r.body));
        assert.equal(r.body.text, texts[i], 'each request is answered with its own item');
        assert.equal(r.body.pid, blocker.body.pid);
      }
      assert.equal(new Set(rs.map((r) => r.body.requestId)).size, texts.length);
      // Six waiting, batch_size 4: one full batch, then the other two together as soon as it is done
      // (the partial batch does not wait max_batch_delay: nothing else runs by then).
      assert.deepEqual(batchesSeen(rs).sort(), [2, 4]);
      assert.ok(ms < PROMPT_MS, `answered ${ms.toFixed(0)} ms after the release, not after max_batch_delay`);
      assert.deepEqual(await batchCounts('probe'), { batches: before.batches + 3, items: before.items + 1 + texts.length },
        'mms_batch_size counts the batches the handler saw');
      assert.equal(await depth('probe'), 0);
    });

    it('batch_size 1 never batches, even with requests waiting', async () => {
      const before = await batchCounts('single');
      const held = await holdWorker('single');
      const texts = ['1', '2', '3', '4'];
      const replies = texts.map((t) => probe('single', t));
      await eventually(async () => (await depth('single')) === 1 + texts.length);
      held.release();
      const rs = [await held.reply, ...(await Promise.all(replies))];
      assert.ok(rs.every((r) => r.status === 200 && r.body.batch === 1 && r.body.index === 0));
      assert.deepEqual(rs.slice(1).map((r) => r.body.text), texts);
      assert.deepEqual(batchesSeen(rs), [1, 1, 1, 1, 1]);
      assert.deepEqual(await batchCounts('single'), { batches: before.batches + 5, items: before.items + 5 });
    });

    it('under concurrent load batches of more than one form, never above batch_size; metrics match', async () => {
      const before = await batchCounts('probe');
      const TOTAL = 48;
      const LANES = 12;
      const rs: Array<JsonResponse<Probe>> = new Array(TOTAL);
      let next = 0;
      const lane = async () => {
        while (next < TOTAL) {
          const i = next++;
          rs[i] = await probe('probe', `sleep:15#${i}`);
        }
      };
      await Promise.all(Array.from({ length: LANES }, lane));
      rs.forEach((r, i) => {
        assert.equal(r.status, 200, JSON.stringify(r.body));
        assert.equal(r.body.text, `sleep:15#${i}`, 'each request is answered with its own item');
      });
      assert.equal(new Set(rs.map((r) => r.body.requestId)).size, TOTAL);
      const sizes = batchesSeen(rs);
      assert.ok(sizes.every((n) => n >= 1 && n <= 4), `batch sizes ${sizes}`);
      assert.ok(Math.max(...sizes) > 1, `requests that waited ran together (batch sizes ${sizes})`);
      assert.deepEqual(await batchCounts('probe'), { batches: before.batches + sizes.length, items: before.items + TOTAL },
        'mms_batch_size counts the batches the handler saw');
    });
  });

  describe('with the default ONNX handler (scale model, y = 2x)', () => {
    const url = () => `${server.inferenceUrl}/predictions/scale`;
    const rows = (n: number, base: number) => Array.from({ length: n * 4 }, (_, i) => base + i * 0.5);
    const workerPid = async () => {
      const d = await request(`${server.managementUrl}/models/scale`);
      assert.equal(d.body.workers.length, 1);
      return d.body.workers[0].pid as number;
    };

    /**
     * Sends the bodies so that the worker runs them as one batch: the worker is frozen (SIGSTOP) while
     * a plug request, then the bodies, reach its socket; thawed, it runs the plug alone (the model was
     * idle) and everything behind it together.
     */
    async function sendAsOneBatch(bodies: unknown[]): Promise<JsonResponse[]> {
      const before = await batchCounts('scale');
      const pid = await workerPid();
      process.kill(pid, 'SIGSTOP');
      let plug: Promise<JsonResponse>;
      let replies: Array<Promise<JsonResponse>>;
      try {
        plug = postJson(url(), v2Request('x', [1, 4], [1, 2, 3, 4]));
        await eventually(async () => (await depth('scale')) === 1);
        replies = bodies.map((b) => postJson(url(), b));
        await eventually(async () => (await depth('scale')) === 1 + bodies.length);
      } finally {
        process.kill(pid, 'SIGCONT');
      }
      const p = await plug;
      assert.equal(p.status, 200);
      assert.deepEqual(p.body.outputs[0].data, [2, 4, 6, 8]);
      const rs = await Promise.all(replies);
      assert.deepEqual(await batchCounts('scale'), { batches: before.batches + 2, items: before.items + 1 + bodies.length },
        'the plug ran alone, then everything behind it as one batch');
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
        const before = await batchCounts('scale');
        singles.push(await postJson(url(), b));
        assert.deepEqual(await batchCounts('scale'), { batches: before.batches + 1, items: before.items + 1 }, 'sent alone');
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
