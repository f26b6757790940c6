// Corrupt-frame tests: bad command bytes, negative and oversized lengths, misplaced end markers,
// and the good frames delivered before a corrupt one.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeReply, decodeRequest, encodeLoad, encodePredict, encodeReply } from '../../protocol/codec.js';
import { FrameError, FrameReader } from '../../protocol/frame-reader.js';
import type { PredictRequest, WorkerReply, WorkerRequest } from '../../protocol/messages.js';
import { SPEC_LOAD_REPLY, SPEC_LOAD_REQUEST, SPEC_PREDICT_REPLY, specLoad, specLoadReply, specPredictReply } from './fixtures.js';
import { decodeOneReply, decodeOneRequest, feed, hex, MAX } from './helpers.js';

// ---- corrupt frames ---------------------------------------------------------------------------

function i32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
}

function str(s: string): Buffer {
  return Buffer.concat([i32(Buffer.byteLength(s)), Buffer.from(s)]);
}

function throwsFrameError(fn: () => unknown, message?: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof FrameError, `expected FrameError, got ${String(err)}`);
    assert.equal(err.name, 'FrameError');
    if (message) assert.match(err.message, message);
    return true;
  });
}

describe('corrupt frames', () => {
  it('rejects an unknown command byte', () => {
    for (const cmd of [0x00, 0x41, 0x4b, 0x4d, 0x48, 0x4a, 0xff]) {
      throwsFrameError(() => feed(decodeRequest, [Buffer.from([cmd, 0, 0, 0, 0])]), /unknown command/);
      // The command byte alone is enough to fail.
      throwsFrameError(() => feed(decodeRequest, [Buffer.from([cmd])]), /unknown command/);
    }
  });

  it('rejects lengths below -1 in requests', () => {
    for (const bad of [-2, -3, -1000, -2_147_483_648]) {
      // Load: model name length.
      throwsFrameError(() => feed(decodeRequest, [Buffer.concat([hex('4c'), i32(bad)])]), /invalid length/);
      // Predict: request id, header name, header value, parameter name, content type, value.
      throwsFrameError(() => feed(decodeRequest, [Buffer.concat([hex('49'), i32(bad)])]), /invalid length/);
      throwsFrameError(() => feed(decodeRequest, [Buffer.concat([hex('49'), str('r'), i32(bad)])]));
      throwsFrameError(() => feed(decodeRequest, [Buffer.concat([hex('49'), str('r'), str('h'), i32(bad)])]));
      throwsFrameError(() => feed(decodeRequest, [Buffer.concat([hex('49'), str('r'), i32(-1), i32(bad)])]));
      throwsFrameError(() => feed(decodeRequest, [Buffer.concat([hex('49'), str('r'), i32(-1), str('p'), i32(bad)])]));
      throwsFrameError(() =>
        feed(decodeRequest, [Buffer.concat([hex('49'), str('r'), i32(-1), str('p'), str(''), i32(bad)])]),
      );
    }
  });

  it('rejects lengths below -1 in replies', () => {
    for (const bad of [-2, -7, -2_147_483_648]) {
      const head = Buffer.concat([i32(200), str('m'), str('r1'), str('ct'), i32(200), str('')]);
      throwsFrameError(() => feed(decodeReply, [Buffer.concat([i32(200), i32(bad)])]), /invalid length/);
      throwsFrameError(() => feed(decodeReply, [Buffer.concat([i32(200), str('m'), i32(bad)])]));
      throwsFrameError(() => feed(decodeReply, [Buffer.concat([i32(200), str('m'), str('r1'), i32(bad)])]));
      throwsFrameError(() => feed(decodeReply, [Buffer.concat([head, i32(bad)])]));
      throwsFrameError(() => feed(decodeReply, [Buffer.concat([head, i32(1), i32(bad)])]));
      throwsFrameError(() => feed(decodeReply, [Buffer.concat([head, i32(1), str('k'), i32(bad)])]));
      throwsFrameError(() => feed(decodeReply, [Buffer.concat([head, i32(0), i32(bad)])]));
    }
  });

  it('rejects -1 where a value (not an end marker) is required', () => {
    throwsFrameError(() => feed(decodeRequest, [Buffer.concat([hex('4c'), i32(-1)])]), /end marker/);
    throwsFrameError(() => feed(decodeRequest, [Buffer.concat([hex('49'), str('r'), str('h'), i32(-1)])]), /end marker/);
    throwsFrameError(() =>
      feed(decodeRequest, [Buffer.concat([hex('49'), str('r'), i32(-1), str('p'), str(''), i32(-1)])]),
    );
    throwsFrameError(() => feed(decodeReply, [Buffer.concat([i32(200), i32(-1)])]), /end marker/);
    // A -1 header count is corrupt (response headers are count-prefixed).
    const head = Buffer.concat([i32(200), str('m'), str('r1'), str(''), i32(200), str('')]);
    throwsFrameError(() => feed(decodeReply, [Buffer.concat([head, i32(-1)])]), /header count/);
  });

  it('enforces maxLength on every length field, inclusive', () => {
    const max = 16;
    const ok = { kind: 'load', modelName: 'x'.repeat(max), modelPath: '', batchSize: 1, handler: '', gpuId: -1, ioDescriptor: '' } as const;
    assert.deepEqual(decodeOneRequest(Buffer.concat(encodeLoad(ok)), max), ok);
    const tooLong = { ...ok, modelName: 'x'.repeat(max + 1) };
    throwsFrameError(() => feed(decodeRequest, [Buffer.concat(encodeLoad(tooLong))], max), /invalid length 17/);
    // The check fires on the length field alone, before the bytes arrive.
    throwsFrameError(() => feed(decodeRequest, [Buffer.concat([hex('4c'), i32(max + 1)])], max));
    throwsFrameError(() => feed(decodeRequest, [Buffer.concat([hex('4c'), i32(2_147_483_647)])], max));

    const value: PredictRequest = {
      kind: 'predict',
      batch: [{ requestId: 'r', headers: [], parameters: [{ name: 'body', contentType: '', value: Buffer.alloc(max) }] }],
    };
    assert.deepEqual(decodeOneRequest(Buffer.concat(encodePredict(value)), max), value);
    const bigValue: PredictRequest = {
      kind: 'predict',
      batch: [{ requestId: 'r', headers: [], parameters: [{ name: 'body', contentType: '', value: Buffer.alloc(max + 1) }] }],
    };
    throwsFrameError(() => feed(decodeRequest, [Buffer.concat(encodePredict(bigValue))], max));

    const reply: WorkerReply = {
      code: 200,
      message: 'm',
      items: [{ requestId: 'r', contentType: '', status: 200, reason: '', headers: [], body: Buffer.alloc(max) }],
    };
    assert.deepEqual(decodeOneReply(Buffer.concat(encodeReply(reply)), max), reply);
    const bigReply: WorkerReply = { ...reply, items: [{ ...reply.items[0], body: Buffer.alloc(max + 1) }] };
    throwsFrameError(() => feed(decodeReply, [Buffer.concat(encodeReply(bigReply))], max));
    // Header count above maxLength is corrupt too.
    const head = Buffer.concat([i32(200), str('m'), str('r1'), str(''), i32(200), str('')]);
    throwsFrameError(() => feed(decodeReply, [Buffer.concat([head, i32(max + 1)])], max));
  });

  it('throws FrameError from push when the bad field arrives in a later chunk', () => {
    const frames: WorkerRequest[] = [];
    const reader = new FrameReader(decodeRequest, (m) => frames.push(m), MAX);
    reader.push(SPEC_LOAD_REQUEST);
    reader.push(hex('49 ff'));
    reader.push(hex('ff'));
    assert.equal(reader.buffered, 3);
    throwsFrameError(() => reader.push(hex('ff fe')), /invalid length -2/);
    assert.deepEqual(frames, [specLoad], 'the good frame before the bad one is still delivered');
  });

  it('delivers the good frames that precede a corrupt one in the same chunk', () => {
    const frames: WorkerReply[] = [];
    const reader = new FrameReader(decodeReply, (m) => frames.push(m), MAX);
    throwsFrameError(() => reader.push(Buffer.concat([SPEC_LOAD_REPLY, SPEC_PREDICT_REPLY, i32(200), i32(-5)])));
    assert.deepEqual(frames, [specLoadReply, specPredictReply]);
  });
});
