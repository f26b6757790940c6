// The autoscaler's inputs (docs/architecture.md, Autoscaling): each front's record of queue waits and
// busy time per model, drained and merged; the window's percentile.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { batchMessage } from '../../protocol/batch-stats.js';
import { ModelLoad, mergeLoad } from '../../frontend/inference/model-load.js';
import { percentile } from '../../frontend/control/autoscaler.js';

describe('model load record', () => {
  it('records each reply\'s wait, counts a batch\'s run time once, and starts afresh when drained', () => {
    const load = new ModelLoad();
    load.reply('m', batchMessage({ size: 2, first: true, waitMs: 3, runMs: 10 }));
    load.reply('m', batchMessage({ size: 2, first: false, waitMs: 4, runMs: 10 }));
    load.reply('m', 'not batch statistics');
    assert.deepEqual(load.drain(), { m: { waits: [3, 4], count: 2, busyMs: 10 } });
    assert.deepEqual(load.drain(), {});
  });

  it('keeps a bounded sample of a busy model\'s waits', () => {
    const load = new ModelLoad();
    for (let i = 0; i < 10_000; i++) load.reply('m', batchMessage({ size: 1, first: true, waitMs: 1, runMs: 1 }));
    const { m } = load.drain();
    assert.equal(m.count, 10_000);
    assert.equal(m.waits.length, 2000);
    assert.equal(m.busyMs, 10_000);
  });

  it('merges the fronts\' records', () => {
    const merged = mergeLoad([{ m: { waits: [1], count: 1, busyMs: 2 } }, { m: { waits: [5, 6], count: 2, busyMs: 3 }, n: { waits: [], count: 0, busyMs: 0 } }]);
    assert.deepEqual(merged, { m: { waits: [1, 5, 6], count: 3, busyMs: 5 }, n: { waits: [], count: 0, busyMs: 0 } });
  });

  it('takes the nearest-rank percentile', () => {
    const v = Array.from({ length: 100 }, (_, i) => 100 - i); // 100 … 1, unsorted on purpose
    assert.equal(percentile(v, 90), 90);
    assert.equal(percentile(v, 100), 100);
    assert.equal(percentile(v, 1), 1);
    assert.equal(percentile([], 90), 0);
  });
});
