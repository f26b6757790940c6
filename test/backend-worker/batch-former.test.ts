// The worker's batch former with an injected clock and a run function the test answers by hand:
// full batches, an idle model runs at once, partial batches held while another runs (until full or
// max_batch_delay), whole frames only, concurrency, dropped connections and error fan-out.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BatchFormer, type BatchFormerOptions, type Clock } from '../../backend-worker/batch-former.js';
import { HandlerError } from '../../backend-worker/handler-api.js';
import { parseBatchMessage } from '../../protocol/batch-stats.js';
import { errorItem, readErrorItem, type ReplyItem, type RequestItem, type WorkerReply } from '../../protocol/messages.js';

class FakeClock implements Clock {
  private t = 0;
  private timers: Array<{ at: number; fn: () => void }> = [];
  /** afterIo callbacks, run by readSockets() when a test enables them (`withIo`). */
  private io: Array<() => void> = [];

  constructor(withIo = false) {
    if (!withIo) this.afterIo = undefined;
  }

  afterIo?: (fn: () => void) => void = (fn) => void this.io.push(fn);

  /** The event loop has polled the sockets again: what waited for that runs now. */
  readSockets(): void {
    const due = this.io;
    this.io = [];
    for (const fn of due) fn();
  }

  now(): number {
    return this.t;
  }

  setTimer(fn: () => void, ms: number): () => void {
    const timer = { at: this.t + ms, fn };
    this.timers.push(timer);
    return () => (this.timers = this.timers.filter((x) => x !== timer));
  }

  get pending(): number {
    return this.timers.length;
  }

  advance(ms: number): void {
    this.t += ms;
    for (;;) {
      const due = this.timers.filter((x) => x.at <= this.t).sort((a, b) => a.at - b.at)[0];
      if (!due) return;
      this.timers = this.timers.filter((x) => x !== due);
      due.fn();
    }
  }
}

interface Run {
  ids: string[];
  finish: (replies?: ReplyItem[]) => void;
  fail: (err: unknown) => void;
}

const item = (requestId: string): RequestItem => ({ requestId, headers: [], parameters: [] });
const items = (...ids: string[]) => ids.map(item);
const echo = (ids: string[]): ReplyItem[] =>
  ids.map((requestId) => ({ requestId, contentType: 'text/plain', status: 200, reason: '', headers: [], body: Buffer.from(`r-${requestId}`) }));
/** Lets the former's promise callbacks run (completions, the next batch's start). */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

function setup(o: Partial<BatchFormerOptions> = {}, withIo = false) {
  const clock = new FakeClock(withIo);
  const runs: Run[] = [];
  const former = new BatchFormer({
    batchSize: 4,
    maxBatchDelay: 100,
    clock,
    run: (batch) =>
      new Promise<ReplyItem[]>((resolve, reject) => {
        const ids = batch.map((i) => i.requestId);
        runs.push({ ids, finish: (replies) => resolve(replies ?? echo(ids)), fail: reject });
      }),
    ...o,
  });
  // Runs start one microtask after they are taken from the queue.
  const started = async () => {
    await settle();
    return runs.map((r) => r.ids);
  };
  return { clock, runs, former, started };
}

const A = { name: 'A' };
const B = { name: 'B' };
const C = { name: 'C' };
const ids = (reply: WorkerReply) => reply.items.map((i) => i.requestId);

describe('BatchFormer', () => {
  it('runs a lone request on an idle model at once', async () => {
    const { former, started, runs, clock } = setup();
    const reply = former.submit(A, items('a1'));
    assert.deepEqual(await started(), [['a1']]);
    assert.equal(clock.pending, 0, 'no timer: nothing waits');
    runs[0].finish();
    const r = await reply;
    assert.deepEqual({ ...r, message: '' }, { code: 200, message: '', items: echo(['a1']) });
    assert.deepEqual(parseBatchMessage(r.message), { size: 1, first: true, waitMs: 0, runMs: 0 }, 'batch statistics for the metrics');
  });

  it('takes a full batch when a run ends, the rest in the next one', async () => {
    const { former, started, runs } = setup();
    former.submit(A, items('a1'));
    const replies = ['b1', 'c1', 'b2', 'c2', 'b3'].map((id) => former.submit(id.startsWith('b') ? B : C, items(id)));
    assert.deepEqual(await started(), [['a1']], 'one session: the rest waits');
    assert.equal(former.queuedItems, 5);
    runs[0].finish();
    assert.deepEqual(await started(), [['a1'], ['b1', 'c1', 'b2', 'c2']]);
    runs[1].finish();
    assert.deepEqual(await started(), [['a1'], ['b1', 'c1', 'b2', 'c2'], ['b3']]);
    runs[2].finish();
    assert.deepEqual((await Promise.all(replies)).map(ids), [['b1'], ['c1'], ['b2'], ['c2'], ['b3']]);
  });

  it('after a batch ends, frames read before the next take join one batch instead of the first running alone', async () => {
    const { former, runs, started, clock } = setup({}, true);
    former.submit(A, items('a1'));
    assert.deepEqual(await started(), [['a1']]);
    runs[0].finish();
    await settle();
    // The sockets are read: three frames arrive one after another (each decoded on its own).
    const replies = ['b1', 'c1', 'b2'].map((id) => former.submit(id.startsWith('b') ? B : C, items(id)));
    assert.deepEqual(await started(), [['a1']], 'no batch taken before the sockets were read');
    clock.readSockets();
    assert.deepEqual(await started(), [['a1'], ['b1', 'c1', 'b2']]);
    runs[1].finish();
    assert.deepEqual((await Promise.all(replies)).map(ids), [['b1'], ['c1'], ['b2']]);
    await settle();
    clock.readSockets();
    // An idle former (no batch just ended) still runs a lone frame at once.
    former.submit(C, items('c9'));
    assert.deepEqual((await started()).at(-1), ['c9']);
  });

  it('while a batch runs, holds a partial one until the oldest has waited max_batch_delay', async () => {
    const { former, started, clock } = setup({ concurrency: 2 });
    former.submit(A, items('a1'));
    clock.advance(10);
    former.submit(B, items('b1'));
    clock.advance(30);
    former.submit(C, items('c1'));
    assert.deepEqual(await started(), [['a1']]);
    clock.advance(69);
    assert.deepEqual(await started(), [['a1']], 'b1 has waited 99 ms');
    clock.advance(1);
    assert.deepEqual(await started(), [['a1'], ['b1', 'c1']]);
  });

  it('while a batch runs, sends a partial batch as soon as it is full', async () => {
    const { former, started, clock } = setup({ concurrency: 2 });
    former.submit(A, items('a1'));
    for (const id of ['b1', 'c1', 'b2']) former.submit(id.startsWith('b') ? B : C, items(id));
    assert.deepEqual(await started(), [['a1']]);
    former.submit(C, items('c2'));
    assert.deepEqual(await started(), [['a1'], ['b1', 'c1', 'b2', 'c2']]);
    assert.equal(clock.pending, 0, 'nothing left waiting, no timer');
  });

  it('takes whole frames in order and splits the reply back per frame', async () => {
    const { former, started, runs } = setup();
    former.submit(A, items('a0'));
    const r1 = former.submit(A, items('a1', 'a2', 'a3'));
    const r2 = former.submit(B, items('b1', 'b2'));
    const r3 = former.submit(C, items('c1'));
    assert.deepEqual(await started(), [['a0']]);
    runs[0].finish();
    assert.deepEqual((await started()).slice(1), [['a1', 'a2', 'a3']], 'the next frame would overflow; no frame jumps the queue');
    runs[1].finish();
    assert.deepEqual((await started()).slice(2), [['b1', 'b2', 'c1']]);
    runs[2].finish();
    assert.deepEqual([ids(await r1), ids(await r2), ids(await r3)], [['a1', 'a2', 'a3'], ['b1', 'b2'], ['c1']]);
    assert.equal((await r2).items[1].body.toString(), 'r-b2');
  });

  it('runs a frame larger than batch_size alone', async () => {
    const { former, started, runs } = setup({ batchSize: 2 });
    former.submit(A, items('a0'));
    const big = former.submit(B, items('b1', 'b2', 'b3', 'b4', 'b5'));
    former.submit(C, items('c1'));
    assert.deepEqual(await started(), [['a0']]);
    runs[0].finish();
    assert.deepEqual((await started()).slice(1), [['b1', 'b2', 'b3', 'b4', 'b5']]);
    runs[1].finish();
    assert.equal((await big).items.length, 5);
    assert.deepEqual((await started()).slice(2), [['c1']]);
  });

  it('runs up to `concurrency` batches at once', async () => {
    const { former, started, runs } = setup({ concurrency: 2, batchSize: 2 });
    former.submit(A, items('a1'));
    former.submit(B, items('b1', 'b2'));
    former.submit(C, items('c1', 'c2'));
    assert.deepEqual(await started(), [['a1'], ['b1', 'b2']]);
    assert.equal(former.running, 2);
    runs[1].finish();
    assert.deepEqual((await started()).slice(2), [['c1', 'c2']]);
    assert.equal(former.running, 2);
  });

  it('drops the queued frames of a closed connection without running them', async () => {
    const { former, started, runs, clock } = setup({ concurrency: 2 });
    former.submit(A, items('a0'));
    let settledA = false;
    void former.submit(A, items('a1')).then(() => (settledA = true));
    const b = former.submit(B, items('b1'));
    void former.submit(A, items('a2')).then(() => (settledA = true));
    assert.equal(former.drop(A), 2);
    assert.equal(former.queuedItems, 1);
    clock.advance(100);
    assert.deepEqual(await started(), [['a0'], ['b1']]);
    runs[1].finish();
    assert.deepEqual(ids(await b), ['b1']);
    runs[0].finish();
    await settle();
    assert.equal(settledA, false);
    assert.equal(former.drop(C), 0);
  });

  it('a cancel drops its queued frame, answered at once with 499; a running or unknown one is left alone', async () => {
    const { former, started, runs } = setup({ batchSize: 1 });
    const a0 = former.submit(A, items('a0'));
    const a1 = former.submit(A, items('a1'));
    const b1 = former.submit(B, items('b1'));
    assert.deepEqual(await started(), [['a0']]);
    assert.equal(former.cancel(B, 'a1'), false, "only the frame's own connection cancels it");
    assert.equal(former.cancel(A, 'a0'), false, 'a running frame is not cancelled');
    assert.equal(former.cancel(A, 'a1'), true);
    const cancelled = await a1;
    assert.equal(cancelled.code, 499);
    assert.deepEqual(readErrorItem(cancelled.items[0]), { status: 499, type: 'RequestCancelledException', message: 'Request cancelled before its batch ran', code: 'CLIENT_CLOSED' });
    runs[0].finish();
    assert.deepEqual(ids(await a0), ['a0']);
    assert.deepEqual(await started(), [['a0'], ['b1']], 'the cancelled frame never ran');
    runs[1].finish();
    assert.deepEqual(ids(await b1), ['b1']);
  });

  it('never runs a frame past its x-mms-deadline (epoch ms)', async () => {
    const { former, started, runs } = setup({ batchSize: 1 });
    former.submit(A, items('a0'));
    const past = former.submit(B, [{ requestId: 'late', headers: [['x-mms-deadline', String(Date.now() - 1)]], parameters: [] }]);
    const future = former.submit(C, [{ requestId: 'ok', headers: [['x-mms-deadline', String(Date.now() + 3_600_000)]], parameters: [] }]);
    await started();
    runs[0].finish();
    const late = await past;
    assert.equal(late.code, 499);
    assert.deepEqual(readErrorItem(late.items[0]), { status: 499, type: 'RequestCancelledException', message: 'Request deadline passed before its batch ran', code: 'DEADLINE_EXCEEDED' });
    assert.deepEqual(await started(), [['a0'], ['ok']]);
    runs[1].finish();
    assert.deepEqual(ids(await future), ['ok']);
  });

  it('answers every frame of a failed batch with its error', async () => {
    const { former, runs } = setup({ concurrency: 2 });
    former.submit(A, items('a0'));
    former.submit(A, items('x'));
    const replies = [former.submit(B, items('b1')), former.submit(C, items('c1', 'c2'))];
    await settle();
    runs[0].finish();
    await settle();
    runs[1].fail(new HandlerError(507, 'out of memory'));
    const failure = { status: 507, type: 'InternalServerException', message: 'out of memory', code: 'OUT_OF_MEMORY' };
    const [b, c] = await Promise.all(replies);
    assert.deepEqual(b, { code: 507, message: 'out of memory', items: [errorItem('b1', failure)] });
    assert.deepEqual(c, { code: 507, message: 'out of memory', items: [errorItem('c1', failure), errorItem('c2', failure)] });
  });

  it('turns a plain error into 500 and a short reply into 503', async () => {
    const { former, runs } = setup();
    const plain = former.submit(A, items('a1'));
    await settle();
    runs[0].fail(new Error(''));
    assert.deepEqual(await plain, { code: 500, message: 'Prediction failed', items: [errorItem('a1', { status: 500, type: 'InternalServerException', message: 'Prediction failed' })] });
    const short = former.submit(A, items('a2', 'a3'));
    await settle();
    runs[1].finish(echo(['a2']));
    const mismatch = { status: 503, type: 'InternalServerException', message: 'number of batch response mismatched', code: 'HANDLER_BAD_OUTPUT' };
    assert.deepEqual(await short, { code: 503, message: mismatch.message, items: ['a2', 'a3'].map((id) => errorItem(id, mismatch)) });
    // The former keeps serving after failures.
    const next = former.submit(B, items('b1'));
    await settle();
    runs[2].finish();
    assert.deepEqual(ids(await next), ['b1']);
  });

  it('replaces an item over max_response_size with its own 500', async () => {
    const { former, runs } = setup({ maxResponseSize: 4 });
    const reply = former.submit(A, items('a1', 'a22'));
    await settle();
    runs[0].finish([...echo(['a1']), { ...echo(['a22'])[0], body: Buffer.from('12345') }]);
    const [ok, big] = (await reply).items;
    assert.equal(ok.status, 200);
    assert.equal(big.status, 500);
    assert.equal(big.requestId, 'a22');
    assert.match(readErrorItem(big)!.message, /5 bytes exceeds max_response_size \(4 bytes\)/);
    assert.equal(readErrorItem(big)!.code, 'RESPONSE_TOO_LARGE');
    assert.equal(readErrorItem(ok), undefined);
  });

  it('answers an empty frame at once without running the handler', async () => {
    const { former, started } = setup();
    assert.deepEqual(await former.submit(A, []), { code: 200, message: 'Prediction success', items: [] });
    assert.deepEqual(await started(), []);
  });
});
