// Inference fronts (node:cluster processes sharing the Inference API's socket), with 1 and with 3 of
// them: requests spread over the fronts and are counted once in the aggregated metrics; scaling and
// unregistering under load answer no 5xx; a killed front is restarted while the others serve; a
// killed worker loses no request; the workers' batches join requests from several fronts.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import path from 'node:path';
import { writeHandlerModelDir } from '../helpers/fixtures.js';
import { writeModelDir } from '../helpers/onnx-models.js';
import { eventually, isAlive, request, startTestServer, type TestServer } from '../helpers/server.js';

interface Outcome {
  lane: number;
  started: number;
  ended: number;
  /** 0: the connection failed (error says how). */
  status: number;
  body?: any;
  error?: string;
}

/** One request over `agent` (false: a connection of its own); network errors become status 0. */
function send(url: string, body: string, o: { agent?: http.Agent | false; contentType?: string; lane?: number } = {}): Promise<Outcome> {
  const started = performance.now();
  const lane = o.lane ?? -1;
  return new Promise((resolve) => {
    const req = http.request(url, {
      method: 'POST',
      agent: o.agent ?? false,
      headers: { 'content-type': o.contentType ?? 'text/plain', 'content-length': String(Buffer.byteLength(body)) },
      timeout: 30_000,
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', (err) => resolve({ lane, started, ended: performance.now(), status: 0, error: err.message }));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: any = text;
        try {
          parsed = JSON.parse(text);
        } catch {
          // not JSON
        }
        resolve({ lane, started, ended: performance.now(), status: res.statusCode ?? 0, body: parsed });
      });
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ lane, started, ended: performance.now(), status: 0, error: err.code ?? err.message }));
    req.end(body);
  });
}

/** `lanes` closed loops of requests until stop() holds; every outcome, in completion order. */
async function load(lanes: number, one: (lane: number) => Promise<Outcome>, stop: () => boolean): Promise<Outcome[]> {
  const out: Outcome[] = [];
  await Promise.all(Array.from({ length: lanes }, async (_, lane) => {
    while (!stop()) out.push(await one(lane));
  }));
  return out;
}

/** n requests, `concurrency` at a time. */
async function burst(n: number, concurrency: number, one: (i: number) => Promise<Outcome>): Promise<Outcome[]> {
  const out: Outcome[] = [];
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < n) out.push(await one(next++));
  }));
  return out;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Samples of one metric from Prometheus text: [labels, value]. */
function samples(text: string, name: string): Array<[Record<string, string>, number]> {
  const out: Array<[Record<string, string>, number]> = [];
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)) labels[l[1]] = l[2];
    out.push([labels, Number(m[3])]);
  }
  return out;
}

/** The pid in a front id `front-<index>-<pid>`. */
const frontPid = (front: string) => Number(/^front-\d+-(\d+)$/.exec(front)?.[1] ?? NaN);

const SCALE_BODY = JSON.stringify({ inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }] });

for (const fronts of [1, 3]) {
  describe(`inference fronts (${fronts})`, () => {
    let server: TestServer;
    const predict = (model: string) => `${server.inferenceUrl}/predictions/${model}`;
    const mgmt = (p: string, method = 'GET') => request(`${server.managementUrl}${p}`, { method });
    const register = async (query: string) => {
      const r = await mgmt(`/models?${query}&synchronous=true`, 'POST');
      assert.equal(r.status, 200, JSON.stringify(r.body));
    };
    const metricsText = async () => (await request(`${server.metricsUrl}/metrics`)).body as string;
    const scaleOk = (r: Outcome) => r.status === 200 && JSON.stringify(r.body?.outputs?.[0]?.data) === '[2,4,6,8]';
    const describeOf = (r: Outcome) => `${r.status} ${r.error ?? JSON.stringify(r.body)}`;

    before(async () => {
      server = await startTestServer({ number_of_netty_threads: String(fronts) });
      assert.equal(server.frontPids().length, fronts);
      writeHandlerModelDir(path.join(server.store, 'fe'), 'fe', 'front-echo.mjs');
      writeModelDir(path.join(server.store, 'scale'), { name: 'scale' });
      await register('url=fe&model_name=fe&initial_workers=1&batch_size=8&max_batch_delay=100');
    });
    after(() => server.close());

    it('spreads requests over every front and counts each once in the aggregated metrics', async () => {
      const N = 300;
      // A connection of its own per request: the cluster hands connections to the fronts in turn.
      const replies = await burst(N, 12, () => send(predict('fe'), 'hi'));
      assert.deepEqual(replies.filter((r) => r.status !== 200).map(describeOf), []);
      const seen = new Set(replies.map((r) => frontPid(r.body.front)));
      assert.deepEqual([...seen].sort(), [...server.frontPids()].sort(), 'every front answered some');
      const counted = await eventually(async () => {
        const text = await metricsText();
        const total = samples(text, 'mms_requests_total').reduce((a, [, v]) => a + v, 0);
        return total === N ? text : undefined;
      });
      assert.deepEqual(samples(counted, 'mms_requests_total'), [[{ model: 'fe', status: '200' }, N]]);
      const perFront = samples(counted, 'mms_front_requests_total');
      assert.deepEqual(perFront.map(([l]) => l.front).sort(), Array.from({ length: fronts }, (_, i) => String(i)));
      for (const [l, v] of perFront) assert.ok(v > 0, `front ${l.front} answered ${v}`);
      assert.equal(perFront.reduce((a, [, v]) => a + v, 0), N);
    });

    it("joins requests from several fronts in one worker batch, each item tagged with its front", async () => {
      // The first batch sleeps; what arrives meanwhile from every front queues in the worker's one former.
      const replies = await burst(48, 48, () => send(predict('fe'), 'sleep:150'));
      assert.deepEqual(replies.filter((r) => r.status !== 200).map(describeOf), []);
      const ids = new Set(replies.map((r) => r.body.front as string));
      for (const id of ids) assert.ok(server.frontPids().includes(frontPid(id)), `front id ${id} names a live front`);
      const batches = new Map(replies.map((r) => [r.body.batch.seq as number, r.body.batch as { size: number; fronts: string[] }]));
      const largest = Math.max(...[...batches.values()].map((b) => b.size));
      assert.ok(largest > 1, `batches were formed: ${JSON.stringify([...batches.values()])}`);
      const mixed = Math.max(...[...batches.values()].map((b) => b.fronts.length));
      if (fronts === 1) assert.equal(mixed, 1);
      else assert.ok(mixed >= 2, `a batch held requests of several fronts: ${JSON.stringify([...batches.values()])}`);
      // Every item was tagged with the front that sent it (the batch lists it).
      for (const r of replies) assert.ok(r.body.batch.fronts.includes(r.body.front));
    });

    it('scales a model and unregisters another under load with no 5xx', async () => {
      await register('url=scale&model_name=s1&initial_workers=1');
      await register('url=scale&model_name=s2&initial_workers=1');
      let stopAll = false;
      let stopS2 = false;
      let deleteSentAt = Infinity;
      let deletedAt = Infinity;
      const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
      try {
        const s1 = load(4, (lane) => send(predict('s1'), SCALE_BODY, { agent, lane, contentType: 'application/json' }), () => stopAll);
        const s2 = load(4, (lane) => send(predict('s2'), SCALE_BODY, { agent, lane, contentType: 'application/json' }), () => stopAll || stopS2);
        await sleep(200);
        for (const min of [3, 1, 2]) {
          const r = await mgmt(`/models/s1?min_worker=${min}&synchronous=true`, 'PUT');
          assert.equal(r.status, 200, JSON.stringify(r.body));
          await sleep(100);
        }
        deleteSentAt = performance.now();
        const d = await mgmt('/models/s2', 'DELETE');
        deletedAt = performance.now();
        assert.equal(d.status, 200, JSON.stringify(d.body));
        await sleep(200);
        stopS2 = true;
        await sleep(200);
        stopAll = true;
        const [r1, r2] = await Promise.all([s1, s2]);

        assert.ok(r1.length > 20 && r2.length > 20, `load ran: s1 ${r1.length}, s2 ${r2.length}`);
        assert.deepEqual(r1.filter((r) => !scaleOk(r)).map(describeOf), [], 's1: every request answered');
        assert.deepEqual(r2.filter((r) => r.started < deleteSentAt && !scaleOk(r)).map(describeOf), [], 's2 before its unregister: every request answered');
        const during = r2.filter((r) => r.started >= deleteSentAt && !scaleOk(r) && ![404, 503].includes(r.status));
        assert.deepEqual(during.map(describeOf), [], 's2 after its unregister: 200, 404 or 503 only');
        const afterDelete = r2.filter((r) => r.started >= deletedAt);
        assert.ok(afterDelete.length > 0);
        assert.deepEqual(afterDelete.filter((r) => r.status !== 404).map(describeOf), [], 's2 is gone once DELETE answered');
        const snap = server.registry.get('s1').pool.snapshot();
        assert.equal(snap.workers.filter((w) => w.state === 'READY').length, 2);
      } finally {
        stopAll = true;
        agent.destroy();
      }
    });

    it('a worker SIGKILLed under load loses no request', async () => {
      const ready = () => server.registry.get('s1').pool.snapshot().workers.filter((w) => w.state === 'READY' && w.pid !== undefined);
      const victims = await eventually(() => (ready().length === 2 ? ready() : undefined));
      let stop = false;
      const agent = new http.Agent({ keepAlive: true, maxSockets: 6 });
      try {
        const running = load(6, (lane) => send(predict('s1'), SCALE_BODY, { agent, lane, contentType: 'application/json' }), () => stop);
        await sleep(200);
        const victim = victims[0]!.pid!;
        process.kill(victim, 'SIGKILL');
        await eventually(() => ready().length === 2 && !ready().some((w) => w.pid === victim));
        await sleep(200);
        stop = true;
        const replies = await running;
        assert.ok(replies.length > 20, `load ran: ${replies.length}`);
        assert.deepEqual(replies.filter((r) => !scaleOk(r)).map(describeOf), []);
      } finally {
        stop = true;
        agent.destroy();
      }
    });

    it('a SIGKILLed front is restarted while the other fronts keep answering', async () => {
      const before = server.frontPids();
      let victim = 0; // a front that holds lanes, chosen once every lane has landed
      const LANES = 3 * fronts;
      // A keep-alive connection per lane; each reply names its front, so a lane knows where it is.
      const agents = Array.from({ length: LANES }, () => new http.Agent({ keepAlive: true, maxSockets: 1 }));
      const on = new Array<number>(LANES).fill(0);
      let killedAt = Infinity;
      let stop = false;
      const allowed: Outcome[] = [];
      const bad: Outcome[] = [];
      let othersDuring = 0;
      let okAfterKill = 0;
      const spread = () => fronts === 1 || new Set(on.filter((pid) => pid > 0)).size > 1;
      try {
        const running = load(LANES, async (lane) => {
          const r = await send(predict('fe'), 'sleep:5', { agent: agents[lane], lane });
          if (r.status === 200) {
            on[lane] = frontPid(r.body.front);
            if (r.started >= killedAt && on[lane] !== victim) othersDuring++;
            if (r.started >= killedAt) okAfterKill++;
            if (victim === 0 && on.every((pid) => pid > 0) && !spread()) {
              // One front may accept every connection of a burst: lanes reconnect, one at a time, until
              // they span fronts.
              agents[lane]!.destroy();
              agents[lane] = new http.Agent({ keepAlive: true, maxSockets: 1 });
              on[lane] = 0;
            }
          } else if (r.ended >= killedAt && (on[lane] === victim || (fronts === 1 && on[lane] === 0))) {
            // Its connection was on the killed front (with one front, no front listens until the restart).
            allowed.push(r);
            on[lane] = 0;
          } else bad.push(r);
          if (r.status !== 200) await sleep(10);
          return r;
        }, () => stop);
        // The kernel deals connections out (SCHED_NONE): not every front need hold a lane, but while
        // lanes reconnect, a busy front leaves new connections to an idle one.
        await eventually(() => on.every((pid) => pid > 0) && spread());
        victim = on[0]!;
        if (fronts > 1) assert.ok(on.some((pid) => pid !== victim), `lanes on several fronts: ${on}`);
        killedAt = performance.now();
        process.kill(victim, 'SIGKILL');
        const restarted = await eventually(() => {
          const pids = server.frontPids();
          return pids.length === fronts && !pids.includes(victim) ? pids : undefined;
        }, 30_000);
        const index = before.indexOf(victim);
        assert.deepEqual(restarted.filter((_, i) => i !== index), before.filter((_, i) => i !== index), 'the other fronts kept running');
        // Every lane is answered again (with one front, once the new one listens).
        const okBefore = okAfterKill;
        await eventually(() => okAfterKill > okBefore + LANES, 30_000);
        stop = true;
        await running;
        assert.ok(!isAlive(victim));
        assert.deepEqual(bad.map(describeOf), [], 'only requests on the killed front failed');
        if (fronts > 1) assert.ok(othersDuring > 0, 'the other fronts answered meanwhile');
        // The new front serves too: fresh connections reach it in turn.
        const fresh = restarted[index];
        await eventually(async () => {
          const r = await send(predict('fe'), 'x');
          assert.equal(r.status, 200, describeOf(r));
          return frontPid(r.body.front) === fresh;
        });
      } finally {
        stop = true;
        for (const a of agents) a.destroy();
      }
    });
  });
}
