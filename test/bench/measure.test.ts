// What `npm run bench` measures with: our server started as `npm start` starts it (default log level,
// the access log in its stdout file), its processes by class; the bare node:http peer; the front CPU
// goal and the CPU columns of the report.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ours } from '../../bench/lib/ours.js';
import { BARE_HTTP, startBareHttp } from '../../bench/lib/peers.js';
import { clsRequest } from '../../bench/lib/model-inputs.js';
import { goals } from '../../bench/lib/goals.js';
import { markdown, type Results, type Sample, type Series } from '../../bench/lib/report.js';
import { machine } from '../../bench/lib/machine.js';
import { writeChain } from '../helpers/pipelines.js';
import { writeScaleModel } from '../helpers/onnx-models.js';
import { v2Request } from '../helpers/server.js';

const NOOP = fileURLToPath(new URL('../../../bench/fixtures/noop.mjs', import.meta.url));

describe('bench: our server and the bare node:http peer', () => {
  it('starts our server at the default log level, its access log in its stdout file, its processes by class', { timeout: 90_000 }, async () => {
    const store = mkdtempSync(path.join(os.tmpdir(), 'mms-bench-test-'));
    mkdirSync(path.join(store, 'noop', 'MAR-INF'), { recursive: true });
    writeFileSync(path.join(store, 'noop', 'MAR-INF', 'MANIFEST.json'), JSON.stringify({ runtime: 'node', model: { modelName: 'noop', handler: 'noop.mjs' } }));
    copyFileSync(NOOP, path.join(store, 'noop', 'noop.mjs'));
    const server = await Ours.start(store, 1);
    try {
      const c = await server.register('noop', 1, 1, 'ours noop');
      const r = await fetch(c.url, { method: 'POST', body: 'x' });
      assert.equal(r.status, 200);
      await r.arrayBuffer();
      const procs = c.watch!.processes();
      assert.deepEqual(procs.controller, [server.pid]);
      assert.equal(procs.front?.length, 1);
      assert.equal(procs.worker?.length, 1);
      // The front writes its access line asynchronously: wait for it, bounded.
      const path = new URL(c.url).pathname;
      const deadline = Date.now() + 20_000;
      const accessLine = () => readFileSync(server.logFile, 'utf8').split('\n').find((l) => l.includes('"msg":"request"') && l.includes(`"path":"${path}"`));
      while (!accessLine() && Date.now() < deadline) await new Promise((res) => setTimeout(res, 50));
      assert.ok(accessLine(), `no access line for ${path} in ${server.logFile}`);
    } finally {
      await server.stop();
      rmSync(store, { recursive: true, force: true });
    }
  });

  it("reads a pipeline's session.run CPU by stage and a model's under ''", { timeout: 90_000 }, async () => {
    const store = mkdtempSync(path.join(os.tmpdir(), 'mms-bench-test-'));
    writeChain(path.join(store, 'chain'));
    mkdirSync(path.join(store, 'double'));
    writeScaleModel(path.join(store, 'double'), 'model.onnx', 2);
    const server = await Ours.start(store, 1);
    try {
      for (const name of ['chain', 'double']) {
        const reg = await fetch(`${server.management}/models?url=${name}&model_name=${name}&initial_workers=1&synchronous=true`, { method: 'POST' });
        assert.equal(reg.status, 200, await reg.text());
        const r = await fetch(`${server.inference}/predictions/${name}`, { method: 'POST', body: JSON.stringify(v2Request('x', [1, 4], [1, 2, 3, 4])), headers: { 'content-type': 'application/json' } });
        assert.equal(r.status, 200, await r.text());
      }
      assert.deepEqual(Object.keys((await server.sessionCpu('chain'))!).sort(), ['double', 'triple']);
      assert.deepEqual(Object.keys((await server.sessionCpu('double'))!), ['']);
    } finally {
      await server.stop();
      rmSync(store, { recursive: true, force: true });
    }
  });

  it('bare node:http answers the cls body with 200, its one process watched', { timeout: 30_000 }, async () => {
    const peer = await startBareHttp();
    try {
      const { body, headers } = clsRequest();
      const r = await fetch(peer.contender.url, { method: 'POST', body: new Uint8Array(body), headers });
      assert.equal(r.status, 200);
      assert.equal(await r.text(), 'ok');
      const procs = peer.contender.watch!.processes();
      assert.equal(procs.peer?.length, 1);
      assert.equal(peer.contender.cpuFloor, true);
    } finally {
      await peer.stop();
    }
  });
});

describe('bench report: CPU per request', () => {
  const sample = (cpuUs: Sample['cpuUs']): Sample => ({ rps: 100, p50: 1, p99: 2, errors: 0, non2xx: 0, requests: 500, cpuUs });
  const series = (name: string, s: Sample[], extra: Partial<Series> = {}): Series => ({ name, model: 'cls', points: [{ concurrency: 64, ...s[0], samples: s }], ...extra });
  const run = (): Omit<Results, 'goals' | 'ratios'> => ({
    machine: machine(),
    durationS: 1,
    rounds: 2,
    inProcessLoop: { itemsPerSecond: 0 },
    series: [
      series(BARE_HTTP, [sample({ peer: 100, total: 100 }), sample({ peer: 200, total: 200 })], { cpuFloor: true }),
      series('ours cls, 2 workers, batching off', [sample({ front: 300, controller: 20, worker: 900, session: 700, total: 1220 }), sample({ front: 500, controller: 20, worker: 900, session: 700, total: 1420 })], { workers: 2, batch: 1, fronts: 0 }),
    ],
    server: { logLevel: 'info', stdout: 'a file', config: ['job_queue_size=1000'] },
    cpuClock: 'schedstat',
  });

  it('judges the front against bare node:http round by round', () => {
    const g = goals(run(), { device: false, fronts: 0, deviceWorkers: 1 });
    const front = g.goals.find((x) => x.goal.startsWith('front CPU per cls request'));
    assert.ok(front);
    // Per round 300/100 = 3 and 500/200 = 2.5: the median 2.75, not met.
    assert.match(front.measured, /^2\.75×/);
    assert.equal(front.met, false);
  });

  it('prints the CPU columns and the log level, and says an older run had warn', () => {
    const r = run();
    const doc = markdown({ ...r, ...goals(r, { device: false, fronts: 0, deviceWorkers: 1 }) }, 'This run');
    assert.match(doc, /\| front µs\/req \| controller µs\/req \| worker µs\/req \| worker outside session\.run µs\/req \| total µs\/req \|/);
    assert.match(doc, /\| ours cls, 2 workers, batching off \| 64 \|[^\n]*\| 300 \| 20 \| 900 \| 200 \| 1,220 \|/);
    // The worker's own cost: its CPU less the session's, against the 50 µs goal.
    assert.match(doc, /worker CPU per cls request outside session\.run \(c=64\) ≤ 50 µs \| 200 µs \(900 in all, 700 in session\.run; ours cls, 2 workers, batching off\) \| \*\*no\*\*/);
    assert.match(doc, /log level \*\*info\*\* \(the access log on\)/);
    const { server: _s, ...older } = r;
    assert.match(markdown({ ...older, goals: [] }, 'Older'), /log level warn/);
  });
});
