// pickWorker: least outstanding first; equal workers take turns (no process, no socket).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pickWorker } from '../../frontend/inference/pick-worker.js';

interface W {
  id: string;
  load: number;
  lastPicked: number;
  usable?: boolean;
}
const workers = (...loads: number[]): W[] => loads.map((load, i) => ({ id: `w${i}`, load, lastPicked: 0 }));

/** The router's loop: pick, stamp, send; `answerAtOnce` models requests answered before the next arrives. */
function route(ws: W[], requests: number, answerAtOnce: boolean): Map<string, number> {
  const counts = new Map<string, number>(ws.map((w) => [w.id, 0]));
  let picks = 0;
  for (let i = 0; i < requests; i++) {
    const w = pickWorker(ws, (c) => c.usable !== false)!;
    w.lastPicked = ++picks;
    counts.set(w.id, counts.get(w.id)! + 1);
    if (!answerAtOnce) w.load++;
  }
  return counts;
}

describe('pickWorker', () => {
  it('picks the worker with the fewest outstanding requests', () => {
    assert.equal(pickWorker(workers(3, 1, 2))!.id, 'w1');
    assert.equal(pickWorker(workers(0, 5))!.id, 'w0');
  });

  it('is undefined without a usable candidate', () => {
    assert.equal(pickWorker([]), undefined);
    assert.equal(pickWorker(workers(0, 0), () => false), undefined);
  });

  it('skips unusable workers even when they are the least loaded', () => {
    const ws = workers(0, 4, 2);
    assert.equal(pickWorker(ws, (w) => w.id !== 'w0')!.id, 'w2');
  });

  it('breaks ties by the worker picked longest ago, never-picked first', () => {
    const ws = workers(1, 1, 1);
    ws[0].lastPicked = 7;
    ws[1].lastPicked = 3;
    ws[2].lastPicked = 5;
    assert.equal(pickWorker(ws)!.id, 'w1');
    ws[1].lastPicked = 0;
    ws[2].lastPicked = 0;
    assert.equal(pickWorker(ws)!.id, 'w1', 'among never-picked workers, the first');
  });

  it('load beats recency', () => {
    const ws = workers(2, 1);
    ws[0].lastPicked = 1;
    ws[1].lastPicked = 9;
    assert.equal(pickWorker(ws)!.id, 'w1');
  });

  it('low concurrency: requests answered before the next arrive are shared, not all sent to the first', () => {
    const counts = route(workers(0, 0, 0), 30, true);
    assert.deepEqual([...counts.values()], [10, 10, 10]);
  });

  it('requests piling up spread evenly', () => {
    const counts = route(workers(0, 0, 0, 0), 10, false);
    assert.deepEqual([...counts.values()], [3, 3, 2, 2]);
  });

  it('a worker that joins later (never picked) takes the next request among equals', () => {
    const ws = workers(0, 0);
    route(ws, 4, true);
    ws.push({ id: 'w2', load: 0, lastPicked: 0 });
    assert.equal(pickWorker(ws)!.id, 'w2');
  });

  it('an unusable worker is skipped and the turn goes on among the rest', () => {
    const ws = workers(0, 0, 0);
    ws[1].usable = false;
    const counts = route(ws, 6, true);
    assert.deepEqual([...counts.values()], [3, 0, 3]);
  });
});
