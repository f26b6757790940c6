// idle-gc.ts: when a process that was busy goes quiet, one collection; never while busy or idle throughout.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { IdleCollector } from '../../frontend/idle-gc.js';

describe('IdleCollector', () => {
  it('collects once at the first quiet interval after a busy one', () => {
    let cpu = 0;
    let collected = 0;
    const c = new IdleCollector(() => cpu, () => collected++, 1000);
    const interval = (cpuMs: number) => {
      cpu += cpuMs;
      return c.tick();
    };
    assert.equal(interval(0), false, 'idle from the start: nothing to give back');
    assert.equal(interval(400), false, 'busy: no collection under load');
    assert.equal(interval(30), false, 'neither busy nor quiet: still waiting');
    assert.equal(interval(2), true, 'quiet after busy: one collection');
    assert.equal(interval(0), false, 'still quiet: not again');
    assert.equal(interval(60), false);
    assert.equal(interval(0), true, 'a new busy spell, then quiet: again');
    assert.equal(collected, 2);
  });
});
