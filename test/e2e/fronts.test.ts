// Inference fronts (node:cluster processes sharing the Inference API's socket), with 1 and with 3 of
// them: requests spread over the fronts and are counted once in the aggregated metrics; scaling and
// unregistering under load answer no 5xx; a killed front is restarted while the others serve; a
// killed worker loses no request; the workers' batches join requests from several fronts.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { writeHandlerModelDir } from '../helpers/fixtures.js';
import { sampleOf } from '../helpers/metrics.js';
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
/** The index in a front id (the `front` label of mms_front_requests_total). */
const frontIndex = (front: string) => /^front-(\d+)-\d+$/.exec(front)?.[1] ?? '?';

/** Restarts and reconnects on a loaded 2-core host take seconds; what matters is that they happen. */
const SLOW = 60_000;

/** A keep-alive connection of its own (an agent of one socket) and the front it landed on. */
interface Lane {
  agent: http.Agent;
  front: string;
}

/**
 * `perFront` keep-alive lanes on each front of `pids`. The kernel deals new connections to the fronts
 * (cluster SCHED_NONE), unevenly and on a loaded host often all to one: connections are opened a few at
 * a time, each reply names its front, and one that landed where enough lanes are already is closed.
 */
async function lanesOnEveryFront(url: string, pids: number[], perFront: number): Promise<Lane[]> {
  const lanes: Lane[] = [];
  const short = (pid: number) => lanes.filter((l) => frontPid(l.front) === pid).length < perFront;
  const deadline = Date.now() + SLOW;
  try {
    while (pids.some(short)) {
      assert.ok(Date.now() < deadline, `lanes on every front in time: ${lanes.map((l) => l.front)}`);
      const tries = await Promise.all(Array.from({ length: pids.length * perFront }, async () => {
        const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
        return { agent, r: await send(url, 'x', { agent }) };
      }));
      for (const { agent, r } of tries) {
        if (r.status === 200 && short(frontPid(r.body.front))) lanes.push({ agent, front: r.body.front });
        else agent.destroy();
      }
      const failed = tries.find(({ r }) => r.status !== 200)?.r;
      assert.equal(failed, undefined, `${failed?.status} ${failed?.error ?? JSON.stringify(failed?.body)}`);
    }
    return lanes;
  } catch (err) {
    for (const l of lanes) l.agent.destroy();
    throw err;
  }
}

const SCALE_BODY = JSON.stringify({ inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }] });

for (const fronts of [1, 3]) {
  describe(`inference fronts (${fronts})`, () => {
    let server: TestServer;
    let gates: string; // marker files that release held batches
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
      gates = mkdtempSync(path.join(os.tmpdir(), 'mms-fronts-'));
    });
    after(async () => {
      await server.close();
      rmSync(gates, { recursive: true, force: true });
    });

    it('spreads requests over every front and counts each once in the aggregated metrics', async () => {
      // A connection of its own per request: the kernel deals connections to the fronts.
      const replies = await burst(300, 12, () => send(predict('fe'), 'hi'));
      // On a loaded host it may deal a whole burst to one front: more new connections, a few at a time,
      // until every front has answered one (a front that never accepts fails here).
      const unseen = () => server.frontPids().filter((pid) => !replies.some((r) => r.status === 200 && frontPid(r.body.front) === pid));
      const deadline = Date.now() + 30_000;
      while (unseen().length > 0) {
        assert.ok(Date.now() < deadline, `fronts ${unseen()} answered none of ${replies.length} requests`);
        replies.push(...(await burst(2 * fronts, 2 * fronts, () => send(predict('fe'), 'hi'))));
      }
      const N = replies.length;
      assert.deepEqual(replies.filter((r) => r.status !== 200).map(describeOf), []);
      const counted = await eventually(async () => {
        const text = await metricsText();
        const total = samples(text, 'mms_requests_total').reduce((a, [, v]) => a + v, 0);
        return total === N ? text : undefined;
      });
      assert.deepEqual(samples(counted, 'mms_requests_total'), [[{ model: 'fe', status: '200' }, N]]);
      // Each front counted exactly the requests it answered.
      const answered = new Map<string, number>();
      for (const r of replies) answered.set(frontIndex(r.body.front), (answered.get(frontIndex(r.body.front)) ?? 0) + 1);
      const perFront = samples(counted, 'mms_front_requests_total').map(([l, v]) => [l.front, v] as const);
      assert.deepEqual(perFront.map(([front]) => front).sort(), Array.from({ length: fronts }, (_, i) => String(i)));
      assert.deepEqual(Object.fromEntries(perFront), Object.fromEntries(answered));
    });

    it("joins requests from several fronts in one worker batch, each item tagged with its front", async () => {
      // A lane on every front (two with one front, so that a batch forms at all).
      const lanes = await lanesOnEveryFront(predict('fe'), server.frontPids(), fronts === 1 ? 2 : 1);
      const marker = path.join(gates, 'mixed');
      try {
        // One request holds the worker's one running batch; the lanes' requests, sent meanwhile from
        // every front, queue in the worker's one former.
        const held = send(predict('fe'), `wait:${marker}`);
        await eventually(() => existsSync(`${marker}.held`), SLOW);
        const queued = lanes.map((l) => send(predict('fe'), 'queued', { agent: l.agent }));
        // Every front has admitted its requests, and so written them to the worker (fronts write at once).
        await eventually(async () => sampleOf(await metricsText(), 'mms_queue_depth', { model: 'fe' }) === 1 + lanes.length, SLOW);
        writeFileSync(marker, '');
        const hold = await held;
        assert.equal(hold.status, 200, describeOf(hold));
        assert.equal(hold.body.batch.size, 1);
        const replies = await Promise.all(queued);
        assert.deepEqual(replies.filter((r) => r.status !== 200).map(describeOf), []);
        replies.forEach((r, i) => assert.equal(r.body.front, lanes[i]!.front, 'a keep-alive lane stays on its front'));
        for (const r of replies) assert.ok(server.frontPids().includes(frontPid(r.body.front)), `front id ${r.body.front} names a live front`);
        // Queued together (batch size 8), they ran as one batch, which held the requests of every front.
        const batches = new Map(replies.map((r) => [r.body.batch.seq as number, r.body.batch as { size: number; fronts: string[] }]));
        const all = [...new Set(lanes.map((l) => l.front))].sort();
        assert.equal(all.length, fronts);
        assert.deepEqual([...batches.values()].map((b) => [b.size, b.fronts]), [[lanes.length, all]]);
        // Every item was tagged with the front that sent it (the batch lists it).
        for (const r of replies) assert.ok(r.body.batch.fronts.includes(r.body.front));
      } finally {
        writeFileSync(marker, ''); // never leave the worker held
        for (const l of lanes) l.agent.destroy();
      }
    });

    it('scales a model and unregisters another under load with no 5xx', async () => {
      await register('url=scale&model_name=s1&initial_workers=1');
      await register('url=scale&model_name=s2&initial_workers=1');
      let stopAll = false;
      let stopS2 = false;
      let deleteSentAt = Infinity;
      let deletedAt = Infinity;
      const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
      // Replies so far, so that each step waits for the load to have run rather than for a timer.
      let n1 = 0;
      let n2 = 0;
      let n2AfterDelete = 0;
      const ran = async (done: () => boolean) => void (await eventually(done, SLOW));
      try {
        const s1 = load(4, async (lane) => {
          const r = await send(predict('s1'), SCALE_BODY, { agent, lane, contentType: 'application/json' });
          n1++;
          return r;
        }, () => stopAll);
        const s2 = load(4, async (lane) => {
          const r = await send(predict('s2'), SCALE_BODY, { agent, lane, contentType: 'application/json' });
          n2++;
          if (r.started >= deletedAt) n2AfterDelete++;
          return r;
        }, () => stopAll || stopS2);
        await ran(() => n1 >= 20 && n2 >= 20);
        for (const min of [3, 1, 2]) {
          const r = await mgmt(`/models/s1?min_worker=${min}&synchronous=true`, 'PUT');
          assert.equal(r.status, 200, JSON.stringify(r.body));
          const at = n1;
          await ran(() => n1 >= at + 4); // some requests at this size
        }
        deleteSentAt = performance.now();
        const d = await mgmt('/models/s2', 'DELETE');
        deletedAt = performance.now();
        assert.equal(d.status, 200, JSON.stringify(d.body));
        await ran(() => n2AfterDelete >= 4);
        stopS2 = true;
        const at = n1;
        await ran(() => n1 >= at + 10);
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
      const victims = await eventually(() => (ready().length === 2 ? ready() : undefined), SLOW);
      let stop = false;
      let answered = 0;
      const agent = new http.Agent({ keepAlive: true, maxSockets: 6 });
      try {
        const running = load(6, async (lane) => {
          const r = await send(predict('s1'), SCALE_BODY, { agent, lane, contentType: 'application/json' });
          answered++;
          return r;
        }, () => stop);
        // Killed while the load runs (lanes keep requests in flight), and the load goes on after the restart.
        await eventually(() => answered >= 10, SLOW);
        const victim = victims[0]!.pid!;
        process.kill(victim, 'SIGKILL');
        await eventually(() => ready().length === 2 && !ready().some((w) => w.pid === victim), SLOW);
        const at = answered;
        await eventually(() => answered >= at + 10, SLOW);
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
        await eventually(() => on.every((pid) => pid > 0) && spread(), SLOW);
        victim = on[0]!;
        if (fronts > 1) assert.ok(on.some((pid) => pid !== victim), `lanes on several fronts: ${on}`);
        killedAt = performance.now();
        process.kill(victim, 'SIGKILL');
        const restarted = await eventually(() => {
          const pids = server.frontPids();
          return pids.length === fronts && !pids.includes(victim) ? pids : undefined;
        }, SLOW);
        const index = before.indexOf(victim);
        assert.deepEqual(restarted.filter((_, i) => i !== index), before.filter((_, i) => i !== index), 'the other fronts kept running');
        // Every lane is answered again (with one front, once the new one listens).
        const okBefore = okAfterKill;
        await eventually(() => okAfterKill > okBefore + LANES, SLOW);
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
        }, SLOW); // the kernel may deal many new connections to the other fronts first
      } finally {
        stop = true;
        for (const a of agents) a.destroy();
      }
    });
  });
}
