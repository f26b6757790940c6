// model-build.ts: how many worker processes a model's intra-op threads are shared among (no process is
// started). The count is the most a pool may run, since a worker keeps the threads it started with.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ownProcesses, threadSharers } from '../../frontend/control/registry/model-build.js';
import type { Model } from '../../frontend/control/registry/model-registry.js';

const pool = (minWorkers: number, maxWorkers: number) => ({ minWorkers, maxWorkers, target: minWorkers }) as Model['pool'];
const model = (min: number, max: number, preload = false) => ({ pool: pool(min, max), preload }) as Model;

describe('threadSharers', () => {
  it("counts a model's workers at its maximum: the autoscaler's later workers share the cores with the first", () => {
    assert.equal(threadSharers(model(3, 3), 0), 3);
    assert.equal(threadSharers(model(1, 8), 0), 8, 'min 1, max 8: sized for 8, not 1');
    assert.equal(threadSharers(model(0, 4), 0), 4, 'loaded on demand (min 0): sized for its max');
    assert.equal(threadSharers(model(2, 0), 0), 2, 'never below the minimum');
  });

  it('counts a shared model (the sharing mode) as one process per GPU it spans', () => {
    assert.equal(threadSharers(model(1, 8, true), 2), 2);
    assert.equal(threadSharers(model(4, 4, true), 0), 1, 'no GPU: one process');
    assert.equal(ownProcesses(model(1, 8, true), 4), 4);
  });

  it("counts every stage of a pipeline for each stage's workers, a stage with none as one", () => {
    const stages = [model(3, 3), model(0, 0), model(1, 6)];
    const pipeline = { pool: pool(0, 0), preload: false, stages } as unknown as Model;
    for (const s of stages) s.pipeline = pipeline;
    for (const s of stages) assert.equal(threadSharers(s, 0), 3 + 1 + 6);
    assert.equal(ownProcesses(stages[2], 0), 6, "a stage's own, for its intraOpThreads cap");
  });
});
