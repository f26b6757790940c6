// The benchmark's CPU per request (bench/lib/cpu.ts), read from /proc for real child processes that
// burn a known amount of CPU: on the main thread, and on a thread that has ended by the second reading.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { cpuBetween, perRequest, snapshot, type Watch } from '../../bench/lib/cpu.js';

// Burns `ms` of this process's CPU time (process.cpuUsage is process-wide, so also from a worker thread).
const BURN = `const burn = (ms) => { const t0 = process.cpuUsage(); const used = () => { const u = process.cpuUsage(t0); return (u.user + u.system) / 1000; }; while (used() < ms); };`;

/** A child that burns BURN_MS of CPU each time it reads a line, on its main thread or on a new thread that then ends. */
function burner(onThread: boolean): { child: ChildProcess; burnOnce: () => Promise<void> } {
  const body = onThread
    ? `const { Worker } = require('node:worker_threads'); process.stdin.on('data', () => { const w = new Worker(${JSON.stringify(BURN)} + 'burn(400);', { eval: true }); w.on('exit', () => process.stdout.write('done\\n')); });`
    : `${BURN} process.stdin.on('data', () => { burn(400); process.stdout.write('done\\n'); });`;
  const child = spawn(process.execPath, ['-e', body], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! });
  return {
    child,
    burnOnce: async () => {
      const done = once(lines, 'line');
      child.stdin!.write('go\n');
      await done;
    },
  };
}

describe('bench CPU per request from /proc', () => {
  for (const onThread of [false, true]) {
    it(`counts 400 ms burnt on ${onThread ? 'a thread that has ended' : 'the main thread'}`, { timeout: 30_000 }, async () => {
      const { child, burnOnce } = burner(onThread);
      try {
        const watch: Watch = { processes: () => ({ front: [child.pid!] }) };
        // The runtime's own start-up is not in the window: one warm burn first.
        await burnOnce();
        const before = snapshot(watch);
        await burnOnce();
        const ns = cpuBetween(before, snapshot(watch));
        const ms = (ns.front ?? 0) / 1e6;
        // The burn, plus the little the runtime does around it (a thread's start and end), to within a tick.
        assert.ok(ms >= 390 && ms <= 520, `measured ${ms.toFixed(1)} ms`);
        const us = perRequest(ns, 4);
        assert.equal(us.front, ns.front! / 1000 / 4);
        assert.equal(us.total, us.front);
      } finally {
        child.kill();
        await once(child, 'exit');
      }
    });
  }

  it('leaves out a process gone by the second reading, and gives nothing without requests', { timeout: 30_000 }, async () => {
    const { child, burnOnce } = burner(false);
    await burnOnce();
    const watch: Watch = { processes: () => ({ worker: [child.pid!], controller: [process.pid] }) };
    const before = snapshot(watch);
    child.kill();
    await once(child, 'exit');
    const ns = cpuBetween(before, snapshot(watch));
    assert.equal(ns.worker, undefined);
    assert.ok((ns.controller ?? -1) >= 0);
    assert.deepEqual(perRequest(ns, 0), {});
  });
});
