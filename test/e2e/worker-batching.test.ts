// Batching beside the model (docs/protocol.md "Worker-side batching"): one real worker process, three
// connections to its socket as three frontends would open, each sending single-item predict frames.
// The process runs two sessions (two batches at once). While a held batch (sent on a fourth connection)
// runs on one of them, the frames of the three queue in the process's one batch former; a partial batch
// waits (the delay is longer than the test takes), so the six run together once they fill a batch of
// six, whatever order and timing they arrive in. Every reply still reaches its own connection, in its
// request order.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { WorkerReply } from '../../protocol/messages.js';
import { WORKER_ARG_DEFAULTS } from '../../protocol/worker-args.js';
import { WorkerConnection } from '../../protocol/worker-connection.js';
import { WorkerProcess } from '../../frontend/control/workers/worker-process.js';
import { writeHandlerModelDir } from '../helpers/fixtures.js';

interface Answer {
  requestId: string;
  origin: string;
  text: string;
  batch: { seq: number; size: number; origins: string[] };
}

/** A logger whose messages are emitted as 'line' events (the worker's stdout lines arrive here). */
function lineLogger() {
  const lines = new EventEmitter();
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const json of chunk.toString().split('\n').filter(Boolean)) lines.emit('line', (JSON.parse(json) as { msg: string }).msg);
      done();
    },
  });
  return { log: pino({ level: 'info' }, stream), lines };
}

/** Resolves when `text` is logged. */
function lineSeen(lines: EventEmitter, text: string): Promise<void> {
  return new Promise((resolve) => {
    const on = (line: string) => {
      if (line !== text) return;
      lines.off('line', on);
      resolve();
    };
    lines.on('line', on);
  });
}

describe('worker-side batching across connections', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mms-worker-batching-'));
  const modelDir = writeHandlerModelDir(path.join(dir, 'origin'), 'origin', 'batch-origin.mjs');
  const { log, lines } = lineLogger();
  let worker: WorkerProcess;
  const connections: WorkerConnection[] = [];
  const sockName = path.join(os.tmpdir(), `.mms.sock.test.${process.pid}.wb`);

  before(async () => {
    worker = await WorkerProcess.start({
      args: { ...WORKER_ARG_DEFAULTS, sockName, runtime: 'node', sessions: 2, maxBatchDelay: 20_000 },
      cwd: modelDir, env: process.env, startTimeoutMs: 30_000, log,
    });
    for (let i = 0; i < 4; i++) connections.push(await WorkerConnection.connect(sockName, WORKER_ARG_DEFAULTS.maxResponseSize));
    const loads = await Promise.all(connections.map((c, i) =>
      c.send({ kind: 'load', modelName: 'origin', modelPath: modelDir, batchSize: 6, handler: 'batch-origin.mjs', gpuId: -1, ioDescriptor: `origin-${i}` })));
    for (const r of loads) assert.equal(r.code, 200, r.message);
    // One model per process: every connection's Load names the same pid.
    assert.equal(new Set(loads.map((r) => r.message)).size, 1);
  });

  after(async () => {
    for (const c of connections) c.close();
    await worker?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const predict = (c: number, requestId: string, text: string) =>
    connections[c].send({
      kind: 'predict',
      batch: [{ requestId, headers: [['x-origin', `c${c}`]], parameters: [{ name: 'body', contentType: 'text/plain', value: Buffer.from(text) }] }],
    });
  const answers = (reply: WorkerReply): Answer[] => {
    assert.equal(reply.code, 200, reply.message);
    return reply.items.map((item) => JSON.parse(item.body.toString()) as Answer);
  };

  it('joins frames from several connections into one batch and answers each on its own connection', async () => {
    const marker = path.join(dir, 'release');
    const holding = lineSeen(lines, 'batch-origin: holding');
    const held = predict(3, 'hold', `wait:${marker}`);
    await holding;

    // Interleaved across three connections, two frames each, while the held batch runs.
    const sent: Array<{ c: number; requestId: string; reply: Promise<WorkerReply> }> = [];
    for (let k = 0; k < 2; k++) {
      for (let c = 0; c < 3; c++) {
        const requestId = `c${c}-r${k}`;
        sent.push({ c, requestId, reply: predict(c, requestId, `go#${requestId}`) });
      }
    }
    const got = await Promise.all(sent.map(async (s) => ({ ...s, answer: answers(await s.reply) })));
    writeFileSync(marker, '');
    const [first] = answers(await held);
    assert.deepEqual({ size: first.batch.size, origins: first.batch.origins }, { size: 1, origins: ['c3'] });
    for (const { c, requestId, answer } of got) {
      assert.equal(answer.length, 1, 'one item per frame');
      assert.equal(answer[0].requestId, requestId, 'the reply to this frame came back on this connection');
      assert.equal(answer[0].origin, `c${c}`);
    }
    // The six queued frames met in one batch of the process's one former (batch size 6).
    const batches = new Set(got.map(({ answer }) => JSON.stringify(answer[0].batch)));
    assert.equal(batches.size, 1, `one batch: ${[...batches].join(' ')}`);
    const [batch] = got[0].answer.map((a) => a.batch);
    assert.deepEqual({ size: batch.size, origins: batch.origins.sort() }, { size: 6, origins: ['c0', 'c1', 'c2'] });
  });

  it('keeps answering each connection after the joined batch', async () => {
    const replies = await Promise.all([0, 1, 2].map((c) => predict(c, `solo-${c}`, 'go')));
    replies.forEach((r, c) => assert.equal(answers(r)[0].requestId, `solo-${c}`));
  });
});
