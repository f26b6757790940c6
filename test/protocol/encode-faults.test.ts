// The encoders with every field missing, empty, huge and of the wrong type: each message either
// becomes a frame that decodes back to itself or throws FrameEncodeError, nothing else. And over a
// real socket, a request that cannot be framed fails alone: the connection's replies stay matched.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FrameEncodeError, decodeReply, decodeRequest, encodeReply, encodeRequest } from '../../protocol/codec.js';
import { readFrames, writeFrame } from '../../protocol/frame-socket.js';
import { StatusCode, type WorkerReply, type WorkerRequest } from '../../protocol/messages.js';
import { WorkerConnection } from '../../protocol/worker-connection.js';
import { decodeOneReply, decodeOneRequest, MAX } from './helpers.js';
import { specLoad, specPredict, specPredictReply } from './fixtures.js';

/** Values a field may wrongly hold; `huge` are valid but large. */
const WRONG: unknown[] = [undefined, null, 0, -1, 1.5, NaN, 2 ** 31, -(2 ** 31) - 1, '', 'x', {}, [], [1], [[1]], [[1, 2]], true, Symbol('s'), 10n, () => 1, Buffer.alloc(3), 'é'.repeat(100_000), Buffer.alloc(100_000)];

type Path = Array<string | number>;

/** Every path to a field (or list element) of a message. */
function paths(v: unknown, at: Path = []): Path[] {
  const out: Path[] = at.length ? [at] : [];
  if (Buffer.isBuffer(v) || v === null || typeof v !== 'object') return out;
  for (const [k, child] of Object.entries(v)) {
    if (k === 'kind' && at.length === 0) continue; // the message's kind picks the encoder; it is ours, not a client's
    out.push(...paths(child, [...at, Array.isArray(v) ? Number(k) : k]));
  }
  return out;
}

/** A deep copy of `m` with the field at `p` set to `value` (or deleted for undefined). */
function mutate<T>(m: T, p: Path, value: unknown): T {
  const copy = structuredClone(m, {}) as any;
  restoreBuffers(m, copy);
  let node = copy;
  for (const k of p.slice(0, -1)) node = node[k];
  const last = p[p.length - 1];
  if (value === undefined && !Array.isArray(node)) delete node[last];
  else node[last] = value;
  return copy;
}

/** structuredClone turns Buffers into Uint8Arrays: put Buffers back where the original had them. */
function restoreBuffers(src: any, dst: any): void {
  if (src === null || typeof src !== 'object') return;
  for (const k of Object.keys(src)) {
    if (Buffer.isBuffer(src[k])) dst[k] = Buffer.from(src[k]);
    else restoreBuffers(src[k], dst[k]);
  }
}

function check<T>(label: string, m: T, encode: (m: T) => Buffer[], decodeOne: (b: Buffer) => unknown): void {
  let frame: Buffer[];
  try {
    frame = encode(m);
  } catch (err) {
    assert.ok(err instanceof FrameEncodeError, `${label}: threw ${(err as Error)?.name}: ${(err as Error)?.message}`);
    return;
  }
  // Encoded: it must be exactly one well-formed frame, whose message encodes to the same bytes.
  const bytes = Buffer.concat(frame);
  const back = decodeOne(bytes) as T;
  assert.deepEqual(Buffer.concat(encode(back)), bytes, label);
}

describe('encoders with malformed messages', () => {
  const requests: WorkerRequest[] = [specLoad, specPredict, { kind: 'cancel', requestId: 'r1' }];
  const replies: WorkerReply[] = [specPredictReply];
  const big = 1 << 21;

  it('every request field missing, empty, huge or of the wrong type: a frame or FrameEncodeError', () => {
    let cases = 0;
    for (const m of requests) {
      for (const p of paths(m)) {
        for (const v of WRONG) {
          cases++;
          check(`${m.kind} ${p.join('.')} = ${String(typeof v === 'symbol' ? 'symbol' : v).slice(0, 20)}`, mutate(m, p, v), encodeRequest as (m: WorkerRequest) => Buffer[], (b) => decodeOneRequest(b, big));
        }
      }
    }
    assert.ok(cases > 400, `${cases} cases`);
  });

  it('every reply field likewise', () => {
    for (const m of replies) {
      for (const p of paths(m)) {
        for (const v of WRONG) check(`reply ${p.join('.')}`, mutate(m, p, v), encodeReply, (b) => decodeOneReply(b, big));
      }
    }
  });
});

describe('WorkerConnection: a request that cannot be framed fails alone', () => {
  const socketPath = path.join(os.tmpdir(), `mms-encode-faults-${process.pid}.sock`);
  let server: net.Server;
  const peers: net.Socket[] = [];
  before(async () => {
    // A peer that answers every request frame with its request id, in order.
    server = net.createServer((peer) => {
      peers.push(peer);
      readFrames(peer, decodeRequest, MAX, (req) => {
        const id = req.kind === 'predict' ? req.batch[0].requestId : req.kind;
        writeFrame(peer, encodeReply({ code: StatusCode.ok, message: id, items: [] }));
      });
    }).listen(socketPath);
    await once(server, 'listening');
  });
  after(() => {
    for (const p of peers) p.destroy();
    server.close();
  });

  it('bad and good requests interleaved in one turn: each good one gets its own reply', async () => {
    const conn = await WorkerConnection.connect(socketPath, MAX);
    const item = (requestId: string, name: unknown) => ({ requestId, headers: [], parameters: [{ name: name as string, contentType: '', value: Buffer.from('v') }] });
    const sent = Array.from({ length: 20 }, (_, i) => conn.send({ kind: 'predict', batch: [item(`r${i}`, i % 3 === 1 ? undefined : 'body')] }));
    const results = await Promise.allSettled(sent);
    results.forEach((r, i) => {
      if (i % 3 === 1) assert.ok(r.status === 'rejected' && r.reason instanceof FrameEncodeError, `r${i}: ${JSON.stringify(r)}`);
      else assert.equal(r.status === 'fulfilled' && r.value.message, `r${i}`);
    });
    conn.close();
  });
});
