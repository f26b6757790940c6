// Restarts after kills in quick succession (docs/architecture.md, "Supervision"): a worker that has
// answered requests, or a front that has been listening a while, restarts at once however many others
// were killed just before (back-off is for crash loops, not for a series of kills of healthy processes);
// one that dies before it served still backs off.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { writeHandlerModelDir } from '../helpers/fixtures.js';
import { captureLogs } from '../helpers/raw-http.js';
import { eventually, request, sharedAddress, startTestServer, type TestServer } from '../helpers/server.js';

describe('worker restarts after kills in quick succession', { timeout: 120_000 }, () => {
  let server: TestServer;
  const logs = captureLogs();
  const restart = () => logs.next((r) => r.msg === 'restarting worker after back-off' && r.model === 'echo');
  const workers = async () => (await request(`${server.managementUrl}/models/echo`)).body.workers as Array<{ pid: number; status: string }>;
  const predict = () => request(`${server.inferenceUrl}/predictions/echo`, { method: 'POST', body: 'x', headers: { 'content-type': 'text/plain' } });

  before(async () => {
    // One address: the controller serves inference itself, so a worker's first answer reaches its pool
    // before the client has it.
    const address = await sharedAddress();
    server = await startTestServer({ inference_address: address, management_address: address }, undefined, logs.log);
    writeHandlerModelDir(path.join(server.store, 'echo'), 'echo');
    const r = await request(`${server.managementUrl}/models?url=echo&initial_workers=2&synchronous=true`, { method: 'POST' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
  });
  after(() => server?.close());

  it('two serving workers killed one right after the other both restart at once', async () => {
    const [a, b] = await workers();
    // Requests go to the worker picked longest ago: two answers, one from each.
    const pids = new Set([(await predict()).body.pid, (await predict()).body.pid]);
    assert.deepEqual(pids, new Set([a.pid, b.pid]), 'both workers served');
    const first = restart();
    process.kill(a.pid, 'SIGKILL');
    assert.equal((await first).delayMs, 0);
    // Killed before the first one's replacement has served anything.
    const second = restart();
    process.kill(b.pid, 'SIGKILL');
    assert.equal((await second).delayMs, 0, 'a serving worker killed right after another waits for no back-off');
    const fresh = await eventually(async () => {
      const now = await workers();
      return now.filter((w) => w.status === 'READY' && w.pid !== a.pid && w.pid !== b.pid).length === 2 && now;
    });
    // One of them dies before it served: that is how a crash loop starts, and it backs off.
    const third = restart();
    process.kill(fresh[0].pid, 'SIGKILL');
    assert.equal((await third).delayMs, 1000, 'a worker that never served still backs off');
  });
});

describe('front restarts after kills in quick succession', { timeout: 120_000 }, () => {
  let server: TestServer;
  const logs = captureLogs();
  const died = () => logs.next((r) => r.msg === 'inference front died; restarting it');

  before(async () => {
    server = await startTestServer({ number_of_netty_threads: '2' }, undefined, logs.log);
  });
  after(() => server?.close());

  it('two serving fronts killed one right after the other both restart at once; a front dying at start backs off', async () => {
    const [a, b] = server.frontPids();
    assert.ok(a && b, 'two fronts');
    // The rule is about time: a front that has listened a second is serving, not crash-looping.
    await sleep(1100);
    const first = died();
    process.kill(a, 'SIGKILL');
    assert.equal((await first).delayMs, 0);
    const second = died();
    process.kill(b, 'SIGKILL');
    assert.equal((await second).delayMs, 0, 'a serving front killed right after another waits for no back-off');
    const fresh = await eventually(() => server.frontPids().find((p) => p !== a && p !== b));
    const third = died();
    process.kill(fresh, 'SIGKILL');
    assert.equal((await third).delayMs, 1000, 'a front that dies during (or right after) its start backs off');
    await eventually(() => server.frontPids().filter((p) => ![a, b, fresh].includes(p)).length === 2);
    const r = await request(`${server.inferenceUrl}/ping`);
    assert.equal(r.status, 200);
  });
});
