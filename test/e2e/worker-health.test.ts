// Worker supervision: pings tell a hung worker (SIGSTOPped) from a busy one, a killed worker is
// restarted at once, a pipelined batch's timeout counts from its own start, and a synchronous
// scale-up waits for workers that an earlier request is still starting.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { restartDelayMs } from '../../frontend/control/workers/backoff.js';
import { writeHandlerModelDir } from '../helpers/fixtures.js';
import { metricValue } from '../helpers/metrics.js';
import { captureLogs } from '../helpers/raw-http.js';
import { eventually, isAlive, request, startTestServer, type TestServer } from '../helpers/server.js';

interface WorkerInfo {
  id: string;
  pid: number;
  status: string;
}

describe('worker health', () => {
  let server: TestServer;
  const logs = captureLogs();
  const predict = (model: string, body: string, timeoutMs = 20_000) =>
    request(`${server.inferenceUrl}/predictions/${model}`, { method: 'POST', body, headers: { 'content-type': 'text/plain' }, signal: AbortSignal.timeout(timeoutMs) });
  const workers = async (model: string) => (await request(`${server.managementUrl}/models/${model}`)).body.workers as WorkerInfo[];
  const ready = (model: string) => eventually(async () => (await workers(model)).find((w) => w.status === 'READY'));
  const replacement = (model: string, old: WorkerInfo) =>
    eventually(async () => (await workers(model)).find((w) => w.status === 'READY' && w.pid !== old.pid));

  before(async () => {
    // A 1.5 s ping window (250 ms × 6): short enough for the tests, long enough that a ping thread
    // starved for a few hundred ms on a loaded host does not get a live worker killed.
    server = await startTestServer({ worker_ping_interval_ms: '250', worker_ping_misses: '6' }, undefined, logs.log);
    writeHandlerModelDir(path.join(server.store, 'echo'), 'echo');
    writeHandlerModelDir(path.join(server.store, 'gate'), 'gate', 'gate.mjs');
    for (const [name, url, extra] of [['echo', 'echo', ''], ['slow', 'echo', '&response_timeout=4'], ['gate', 'gate', '']]) {
      const r = await request(`${server.managementUrl}/models?url=${url}&model_name=${name}&initial_workers=1${extra}`, { method: 'POST' });
      assert.equal(r.status, 200, JSON.stringify(r.body));
    }
  });
  after(() => server.close());

  it('a SIGSTOPped worker misses its pings, is killed and replaced, and its request is answered', async () => {
    const stopped = await ready('echo');
    process.kill(stopped.pid, 'SIGSTOP');
    try {
      const r = await predict('echo', 'after stop', 30_000);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.notEqual(r.body.pid, stopped.pid, 'answered by the replacement');
      const now = await replacement('echo', stopped);
      assert.notEqual(now.id, stopped.id);
      await eventually(() => !isAlive(stopped.pid));
    } finally {
      if (isAlive(stopped.pid)) process.kill(stopped.pid, 'SIGKILL');
    }
  });

  it('a worker whose event loop is busy with a long batch is not killed', async () => {
    const busy = await ready('echo');
    // 4 s of blocked event loop (as a synchronous ORT run): well past the 1.5 s ping window.
    const r = await predict('echo', 'block:4000');
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.pid, busy.pid);
    assert.ok(isAlive(busy.pid));
    assert.deepEqual((await workers('echo')).map((w) => w.pid), [busy.pid]);
  });

  it('a SIGKILLed worker is restarted at once; back-off starts at the second failure', async () => {
    assert.equal(restartDelayMs(0), 0);
    assert.equal(restartDelayMs(1), 1000);
    const restart = () => logs.next((r) => r.msg === 'restarting worker after back-off' && r.model === 'echo');
    const old = await ready('echo');
    const first = restart();
    process.kill(old.pid, 'SIGKILL');
    assert.equal((await first).delayMs, 0, 'the first failure restarts at once');
    const back = await replacement('echo', old);
    assert.ok(isAlive(back.pid));
    // It fails again before it served anything: a crash loop, which backs off.
    const second = restart();
    process.kill(back.pid, 'SIGKILL');
    assert.equal((await second).delayMs, 1000);
    await replacement('echo', back);
    assert.equal((await predict('echo', 'back')).status, 200);
  });

  it("the server removes a worker's socket file when the worker is killed", async () => {
    const w = await ready('echo');
    const args = readFileSync(`/proc/${w.pid}/cmdline`, 'utf8').split('\0');
    const socket = args[args.indexOf('--sock-name') + 1];
    assert.ok(existsSync(socket), `no socket file at ${socket}`);
    process.kill(w.pid, 'SIGKILL');
    await replacement('echo', w);
    assert.ok(!existsSync(socket), `socket file ${socket} left behind`);
  });

  it("a batch queued behind another gets the response timeout from its own start", async () => {
    await ready('slow');
    const depth = () => metricValue(server.metricsUrl, 'mms_queue_depth', { model: 'slow' });
    // The first batch runs 2 s in the worker; 'hang' is sent behind it to the same worker (pipelined).
    const first = predict('slow', 'sleep:2000').then((r) => ({ r, at: performance.now() }));
    await eventually(async () => (await depth()) === 1);
    const second = predict('slow', 'hang').then((r) => ({ r, at: performance.now() }));
    const done = await first;
    assert.equal(done.r.status, 200);
    const { r, at } = await second;
    assert.equal(r.status, 500);
    assert.equal(r.body.message, 'Worker died.');
    // Its own start is when the first is answered, so its timeout (4 s) ends about 4 s after that
    // answer; a timeout counted from its sending (or from the first batch's start) ends about 2 s
    // after it. The bound sits between the two: the time the first's answer takes to reach this test
    // can only shorten the measured span, by far less than the 1 s margin on either side.
    const ms = at - done.at;
    assert.ok(ms >= 3000, `the queued batch timed out ${ms.toFixed(0)} ms after the one before it was answered`);
  });

  it('a synchronous scale-up waits for workers an earlier request is still starting', async () => {
    const dir = path.join(server.store, 'gate');
    writeFileSync(path.join(dir, 'hold'), '');
    const asyncUp = await request(`${server.managementUrl}/models/gate?min_worker=2&max_worker=3`, { method: 'PUT' });
    assert.equal(asyncUp.status, 202, JSON.stringify(asyncUp.body));
    await eventually(() => existsSync(path.join(dir, 'held')));
    const syncUp = request(`${server.managementUrl}/models/gate?min_worker=3&max_worker=3&synchronous=true`, { method: 'PUT' });
    // The synchronous request's own worker is up while the held one still starts; then release it.
    await eventually(async () => (await workers('gate')).filter((w) => w.status === 'READY').length === 2);
    writeFileSync(path.join(dir, 'release'), '');
    const r = await syncUp;
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.status, 'Workers scaled');
    assert.equal((await workers('gate')).filter((w) => w.status === 'READY').length, 3);
  });
});
