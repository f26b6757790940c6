// Incremental decoding: a frame that arrives in many chunks costs work linear in its size. The reader
// counts the bytes its decoder walks over (re-reads after short reads included), so linearity is
// checked by counting, not by timing.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeReply, decodeRequest, encodePredict, encodeReply } from '../../protocol/codec.js';
import type { Decoder } from '../../protocol/frame-reader.js';
import type { PredictRequest, RequestItem, WorkerReply } from '../../protocol/messages.js';
import { copy, feed } from './helpers.js';

const CHUNK = 64 * 1024;

function inChunks(b: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < b.length; i += size) out.push(copy(b.subarray(i, i + size)));
  return out;
}

/** Feeds the frame in chunks; checks it decodes as in one chunk and returns the bytes scanned. */
function scanned<T>(decode: Decoder<T>, bytes: Buffer, size: number, expected: T): number {
  const { frames, reader } = feed(decode, inChunks(bytes, size));
  assert.deepEqual(frames, [expected]);
  assert.equal(reader.buffered, 0);
  return reader.scannedBytes;
}

/** What a 200k-field urlencoded form becomes: one item with 200k small parameters. */
function manyParameters(n: number): PredictRequest {
  const parameters: RequestItem['parameters'] = [];
  for (let i = 0; i < n; i++) parameters.push({ name: `f${i}`, contentType: '', value: Buffer.from(String(i % 10)) });
  return { kind: 'predict', batch: [{ requestId: 'r1', headers: [['host', 'x']], parameters }] };
}

describe('incremental decoding', () => {
  it('decodes 200k parameters in 64 KiB chunks scanning each byte about once', () => {
    const msg = manyParameters(200_000);
    const bytes = Buffer.concat(encodePredict(msg));
    assert.ok(bytes.length > 50 * CHUNK, `frame of ${bytes.length} bytes spans many chunks`);
    const whole = scanned(decodeRequest, bytes, bytes.length, msg);
    assert.equal(whole, bytes.length);
    // A restart after a short read re-reads at most the field being decoded (here < 32 bytes).
    const chunked = scanned(decodeRequest, bytes, CHUNK, msg);
    assert.ok(chunked <= bytes.length + 64 * Math.ceil(bytes.length / CHUNK), `scanned ${chunked} of ${bytes.length} bytes`);
  });

  it('decodes many headers and batch items in small chunks linearly', () => {
    const batch: RequestItem[] = [];
    for (let i = 0; i < 5_000; i++) {
      const headers: Array<[string, string]> = [];
      for (let h = 0; h < 10; h++) headers.push([`h${h}`, `v${i}`]);
      batch.push({ requestId: `r${i}`, headers, parameters: [{ name: 'body', contentType: 'text/plain', value: Buffer.from(`x${i}`) }] });
    }
    const msg: PredictRequest = { kind: 'predict', batch };
    const bytes = Buffer.concat(encodePredict(msg));
    const chunked = scanned(decodeRequest, bytes, 1000, msg);
    assert.ok(chunked <= bytes.length + 64 * Math.ceil(bytes.length / 1000), `scanned ${chunked} of ${bytes.length} bytes`);
  });

  it('decodes a reply with many items and headers in 64 KiB chunks linearly', () => {
    const items: WorkerReply['items'] = [];
    for (let i = 0; i < 2_000; i++) {
      const headers: Array<[string, string]> = [];
      for (let h = 0; h < 50; h++) headers.push([`x-h${h}`, `${i}`]);
      items.push({ requestId: `r${i}`, contentType: 'text/plain', status: 200, reason: '', headers, body: Buffer.from(`ok${i}`) });
    }
    const msg: WorkerReply = { code: 200, message: 'Prediction success', items };
    const bytes = Buffer.concat(encodeReply(msg));
    assert.ok(bytes.length > 20 * CHUNK);
    const chunked = scanned(decodeReply, bytes, CHUNK, msg);
    assert.ok(chunked <= bytes.length + 64 * Math.ceil(bytes.length / CHUNK), `scanned ${chunked} of ${bytes.length} bytes`);
  });

  it('reads a large value spanning many chunks once, after it has fully arrived', () => {
    const value = Buffer.alloc(3 * 1024 * 1024, 7);
    const msg: PredictRequest = { kind: 'predict', batch: [{ requestId: 'r1', headers: [], parameters: [{ name: 'body', contentType: '', value }] }] };
    const bytes = Buffer.concat(encodePredict(msg));
    const chunked = scanned(decodeRequest, bytes, CHUNK, msg);
    assert.ok(chunked <= bytes.length + 64 * Math.ceil(bytes.length / CHUNK), `scanned ${chunked} of ${bytes.length} bytes`);
  });

  it("places a v2 binary body's tensors on an 8-byte boundary when the body is copied out of the chunks", () => {
    // JSON headers of every length mod 8: the worker views the tensors in place only when aligned.
    for (const jsonLength of [13, 64, 97, 1001, 1006]) {
      const value = Buffer.alloc(110_592 + jsonLength, 3);
      const msg: PredictRequest = {
        kind: 'predict',
        batch: [{ requestId: 'r1', headers: [['inference-header-content-length', String(jsonLength)]], parameters: [{ name: 'body', contentType: 'application/octet-stream', value }] }],
      };
      const { frames } = feed(decodeRequest, inChunks(Buffer.concat(encodePredict(msg)), CHUNK));
      assert.deepEqual(frames, [msg]);
      const body = (frames[0] as PredictRequest).batch[0].parameters[0].value;
      assert.equal((body.byteOffset + jsonLength) % 8, 0, `tensors at byte ${body.byteOffset + jsonLength} of their buffer`);
    }
  });

  it('stays linear when every byte is its own chunk', () => {
    const msg = manyParameters(2_000);
    const bytes = Buffer.concat(encodePredict(msg));
    const chunked = scanned(decodeRequest, bytes, 1, msg);
    // Each restart re-reads only the current field, and a field is retried at most once per primitive.
    assert.ok(chunked <= 8 * bytes.length, `scanned ${chunked} of ${bytes.length} bytes`);
  });
});
