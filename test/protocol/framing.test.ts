// Framing tests: FrameReader over arbitrary chunkings, and decoded values that are zero-copy views
// on the chunks they arrived in.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeReply, decodeRequest, encodeLoad, encodePredict, encodeReply } from '../../protocol/codec.js';
import { FrameReader } from '../../protocol/frame-reader.js';
import type { WorkerReply, WorkerRequest } from '../../protocol/messages.js';
import {
  BIG,
  loads,
  predicts,
  replies,
  SPEC_ERROR_REPLY,
  SPEC_LOAD_REPLY,
  SPEC_LOAD_REQUEST,
  SPEC_PREDICT_REPLY,
  SPEC_PREDICT_REQUEST,
  specErrorReply,
  specLoad,
  specLoadReply,
  specPredict,
  specPredictReply,
} from './fixtures.js';
import { copy, feed, MAX } from './helpers.js';

// ---- chunking ---------------------------------------------------------------------------------

function splitAt(b: Buffer, ...cuts: number[]): Buffer[] {
  const out: Buffer[] = [];
  let prev = 0;
  for (const c of cuts) {
    out.push(b.subarray(prev, c));
    prev = c;
  }
  out.push(b.subarray(prev));
  return out;
}

function bytewise(b: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < b.length; i++) out.push(copy(b.subarray(i, i + 1)));
  return out;
}

describe('chunking', () => {
  const requestCases: Array<[string, Buffer, WorkerRequest]> = [
    ['load', SPEC_LOAD_REQUEST, specLoad],
    ['predict', SPEC_PREDICT_REQUEST, specPredict],
    // docs/protocol.md "Cancel": 'C', then the request id as a string.
    ['cancel', Buffer.from([0x43, 0, 0, 0, 2, 0x72, 0x31]), { kind: 'cancel', requestId: 'r1' }],
  ];
  const replyCases: Array<[string, Buffer, WorkerReply]> = [
    ['load reply', SPEC_LOAD_REPLY, specLoadReply],
    ['predict reply', SPEC_PREDICT_REPLY, specPredictReply],
    ['error reply', SPEC_ERROR_REPLY, specErrorReply],
  ];

  it('decodes requests split at every byte boundary', () => {
    for (const [name, bytes, msg] of requestCases) {
      for (let i = 0; i <= bytes.length; i++) {
        const { frames, reader } = feed(decodeRequest, splitAt(bytes, i));
        assert.deepEqual(frames, [msg], `${name} split at ${i}`);
        assert.equal(reader.buffered, 0);
      }
    }
  });

  it('decodes replies split at every byte boundary', () => {
    for (const [name, bytes, msg] of replyCases) {
      for (let i = 0; i <= bytes.length; i++) {
        const { frames, reader } = feed(decodeReply, splitAt(bytes, i));
        assert.deepEqual(frames, [msg], `${name} split at ${i}`);
        assert.equal(reader.buffered, 0);
      }
    }
  });

  it('decodes frames split at every pair of boundaries', () => {
    for (const [name, bytes, msg] of requestCases) {
      for (let i = 0; i <= bytes.length; i++) {
        for (let j = i; j <= bytes.length; j++) {
          assert.deepEqual(feed(decodeRequest, splitAt(bytes, i, j)).frames, [msg], `${name} split at ${i},${j}`);
        }
      }
    }
    for (const [name, bytes, msg] of replyCases) {
      for (let i = 0; i <= bytes.length; i++) {
        for (let j = i; j <= bytes.length; j++) {
          assert.deepEqual(feed(decodeReply, splitAt(bytes, i, j)).frames, [msg], `${name} split at ${i},${j}`);
        }
      }
    }
  });

  it('emits nothing before the last byte, and exactly one frame at it, when fed one byte at a time', () => {
    for (const [name, bytes, msg] of requestCases) {
      const frames: WorkerRequest[] = [];
      const reader = new FrameReader(decodeRequest, (m) => frames.push(m), MAX);
      bytewise(bytes).forEach((b, i) => {
        reader.push(b);
        if (i < bytes.length - 1) {
          assert.equal(frames.length, 0, `${name}: frame emitted early at byte ${i}`);
          assert.equal(reader.buffered, i + 1);
        }
      });
      assert.deepEqual(frames, [msg]);
      assert.equal(reader.buffered, 0);
    }
    for (const [name, bytes, msg] of replyCases) {
      const frames: WorkerReply[] = [];
      const reader = new FrameReader(decodeReply, (m) => frames.push(m), MAX);
      bytewise(bytes).forEach((b, i) => {
        reader.push(b);
        if (i < bytes.length - 1) assert.equal(frames.length, 0, `${name}: frame emitted early at byte ${i}`);
      });
      assert.deepEqual(frames, [msg]);
    }
  });

  it('decodes the round-trip frames one byte at a time', () => {
    for (const m of loads) assert.deepEqual(feed(decodeRequest, bytewise(Buffer.concat(encodeLoad(m)))).frames, [m]);
    for (const m of [...predicts.slice(0, 3), specPredict]) {
      assert.deepEqual(feed(decodeRequest, bytewise(Buffer.concat(encodePredict(m)))).frames, [m]);
    }
    for (const m of replies.slice(0, 5)) {
      assert.deepEqual(feed(decodeReply, bytewise(Buffer.concat(encodeReply(m)))).frames, [m]);
    }
  });

  it('decodes the 200 KB frames in small odd-sized chunks', () => {
    // Not one byte at a time: FrameReader.consume() shifts its chunk array once per chunk, which is
    // quadratic in the number of chunks a frame spans (200 K one-byte chunks take seconds).
    const inChunks = (b: Buffer, size: number): Buffer[] => {
      const out: Buffer[] = [];
      for (let i = 0; i < b.length; i += size) out.push(copy(b.subarray(i, i + size)));
      return out;
    };
    const req = Buffer.concat(encodePredict(predicts[3]));
    const rep = Buffer.concat(encodeReply(replies[5]));
    for (const size of [13, 1000, 4099, 65536]) {
      assert.deepEqual(feed(decodeRequest, inChunks(req, size)).frames, [predicts[3]], `request, chunk size ${size}`);
      assert.deepEqual(feed(decodeReply, inChunks(rep, size)).frames, [replies[5]], `reply, chunk size ${size}`);
    }
  });

  it('ignores empty chunks', () => {
    const parts = [Buffer.alloc(0), ...splitAt(SPEC_LOAD_REQUEST, 10), Buffer.alloc(0)];
    parts.splice(2, 0, Buffer.alloc(0));
    const { frames, reader } = feed(decodeRequest, parts);
    assert.deepEqual(frames, [specLoad]);
    assert.equal(reader.buffered, 0);
  });

  it('decodes several frames in one chunk, in order', () => {
    const all = Buffer.concat([
      SPEC_LOAD_REQUEST,
      SPEC_PREDICT_REQUEST,
      ...encodePredict(predicts[3]),
      ...encodeLoad(loads[2]),
      ...encodePredict(predicts[1]),
    ]);
    const expected = [specLoad, specPredict, predicts[3], loads[2], predicts[1]];
    assert.deepEqual(feed(decodeRequest, [all]).frames, expected);

    const allReplies = Buffer.concat([SPEC_LOAD_REPLY, SPEC_PREDICT_REPLY, SPEC_ERROR_REPLY, ...encodeReply(replies[5])]);
    assert.deepEqual(feed(decodeReply, [allReplies]).frames, [specLoadReply, specPredictReply, specErrorReply, replies[5]]);
  });

  it('decodes several frames whose boundaries straddle chunks, keeping the remainder buffered', () => {
    const all = Buffer.concat([SPEC_LOAD_REQUEST, SPEC_PREDICT_REQUEST, SPEC_LOAD_REQUEST]);
    const expected = [specLoad, specPredict, specLoad];
    for (let i = 0; i <= all.length; i += 3) {
      for (let j = i; j <= all.length; j += 7) {
        assert.deepEqual(feed(decodeRequest, splitAt(all, i, j)).frames, expected, `split at ${i},${j}`);
      }
    }
    // Two frames plus a partial third: the partial bytes stay buffered until the rest arrives.
    const frames: WorkerRequest[] = [];
    const reader = new FrameReader(decodeRequest, (m) => frames.push(m), MAX);
    const cut = SPEC_LOAD_REQUEST.length + SPEC_PREDICT_REQUEST.length + 20;
    reader.push(all.subarray(0, cut));
    assert.deepEqual(frames, [specLoad, specPredict]);
    assert.equal(reader.buffered, 20);
    reader.push(all.subarray(cut));
    assert.deepEqual(frames, expected);
    assert.equal(reader.buffered, 0);
  });
});

// ---- zero-copy views --------------------------------------------------------------------------

function within(view: Buffer, chunk: Buffer): boolean {
  return (
    view.buffer === chunk.buffer &&
    view.byteOffset >= chunk.byteOffset &&
    view.byteOffset + view.length <= chunk.byteOffset + chunk.length
  );
}

describe('views', () => {
  it('a large parameter inside one chunk is a view on that chunk', () => {
    const chunk = copy(Buffer.concat(encodePredict(predicts[3])));
    const [m] = feed(decodeRequest, [chunk]).frames;
    assert.equal(m.kind, 'predict');
    if (m.kind !== 'predict') return;
    const body = m.batch[0].parameters[0].value;
    assert.deepEqual(body, BIG);
    assert.ok(within(body, chunk), 'body should share the chunk\'s ArrayBuffer');
    // Writing through the chunk is visible in the decoded value: it really is a view.
    chunk[body.byteOffset - chunk.byteOffset] ^= 0xff;
    assert.equal(body[0], BIG[0] ^ 0xff);
  });

  it('a large reply body inside one chunk is a view on that chunk', () => {
    const chunk = copy(Buffer.concat(encodeReply(replies[5])));
    const [m] = feed(decodeReply, [chunk]).frames;
    const body = m.items[2].body;
    assert.deepEqual(body, BIG);
    assert.ok(within(body, chunk));
  });

  it('a body in a later chunk, after a consumed frame prefix, is a view on its own chunk', () => {
    const first = Buffer.concat([SPEC_PREDICT_REPLY]);
    const second = copy(Buffer.concat(encodeReply(replies[5])));
    // Chunk 1: the whole first frame and the first 10 bytes of the second; chunk 2: the rest.
    const c1 = copy(Buffer.concat([first, second.subarray(0, 10)]));
    const c2 = copy(second.subarray(10));
    const { frames } = feed(decodeReply, [c1, c2]);
    assert.equal(frames.length, 2);
    assert.deepEqual(frames[1], replies[5]);
    assert.ok(within(frames[1].items[2].body, c2), 'body lying wholly in chunk 2 should be a view on it');
  });

  it('a body split across chunks is still decoded correctly (as a copy)', () => {
    const bytes = copy(Buffer.concat(encodeReply(replies[5])));
    const mid = bytes.indexOf(BIG.subarray(0, 64)) + 100_000;
    const c1 = copy(bytes.subarray(0, mid));
    const c2 = copy(bytes.subarray(mid));
    const [m] = feed(decodeReply, [c1, c2]).frames;
    assert.deepEqual(m, replies[5]);
    assert.ok(!within(m.items[2].body, c1) && !within(m.items[2].body, c2));
  });
});
