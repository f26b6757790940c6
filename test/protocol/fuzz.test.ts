// Deterministic fuzzing of the framing layer: random valid frames, mutated frames, random bytes and
// random chunkings through FrameReader with both decoders. Invariants checked:
//  - push() returns normally or throws FrameError, nothing else;
//  - the reader never calls the decoder more than (frames it completes + 1) times per push (no spin);
//  - the outcome (frames, error, bytes left buffered) does not depend on how the input is chunked;
//  - a decoded frame re-encodes to exactly the bytes it was decoded from (when its strings were valid
//    UTF-8), so the decoder consumes exactly one frame's bytes;
//  - a proper prefix of a valid frame never emits a frame and never throws; the rest completes it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeReply, decodeRequest, encodeReply, encodeRequest } from '../../protocol/codec.js';
import { FrameError, FrameReader, type Decoder } from '../../protocol/frame-reader.js';
import type { LoadRequest, PredictRequest, WorkerReply, WorkerRequest } from '../../protocol/messages.js';

const MAX_LENGTH = 1 << 20;
/**
 * Only a guard against a hang: a spinning reader is caught by counting decoder calls, not by time, and
 * the CPU-bound fuzzing can take many times its usual second on a loaded 2-core host.
 */
const TEST_TIMEOUT_MS = 120_000;

// ---- PRNG -------------------------------------------------------------------------------------

class Rng {
  private s: number;
  /**
   * @param small keep generated strings and values short (for mutation tests, where long values
   *   only make mutations land in payload bytes)
   */
  constructor(
    seed: number,
    readonly small = false,
  ) {
    this.s = seed >>> 0;
  }
  /** mulberry32: uniform in [0, 2^32). */
  u32(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  /** Uniform in [0, n). */
  int(n: number): number {
    return n <= 0 ? 0 : Math.floor((this.u32() / 2 ** 32) * n);
  }
  /** Uniform in [lo, hi]. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }
  chance(p: number): boolean {
    return this.u32() / 2 ** 32 < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)];
  }
  i32(): number {
    return this.u32() | 0;
  }
  bytes(n: number): Buffer {
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i += 4) {
      const v = this.u32();
      for (let k = 0; k < 4 && i + k < n; k++) b[i + k] = (v >>> (8 * k)) & 0xff;
    }
    return b;
  }
}

// ---- random messages --------------------------------------------------------------------------

const ALPHABET = ['a', 'b', 'Z', '0', '9', '-', '_', '/', ' ', ':', 'é', '€', '模', '😀', '\u0000', '\n'];

function randLength(rng: Rng): number {
  const r = rng.int(100);
  if (rng.small) return r < 70 ? rng.int(6) : rng.int(40);
  if (r < 60) return rng.int(8);
  if (r < 90) return rng.int(64);
  if (r < 97) return rng.range(1020, 1030); // around FrameWriter's inline limit
  return rng.int(3000);
}

function randString(rng: Rng): string {
  let s = '';
  const n = randLength(rng) >> (rng.chance(0.8) ? 2 : 0);
  for (let i = 0; i < n; i++) s += rng.pick(ALPHABET);
  return s;
}

function randBytes(rng: Rng): Buffer {
  return rng.bytes(randLength(rng));
}

function randInt(rng: Rng): number {
  return rng.pick([0, 1, -1, 200, 500, 503, 507, 2_147_483_647, -2_147_483_648, rng.i32()]);
}

function randLoad(rng: Rng): LoadRequest {
  return {
    kind: 'load',
    modelName: randString(rng),
    modelPath: randString(rng),
    batchSize: randInt(rng),
    handler: randString(rng),
    gpuId: randInt(rng),
    ioDescriptor: randString(rng),
  };
}

function randPredict(rng: Rng): PredictRequest {
  const batch = [];
  for (let i = rng.int(4); i > 0; i--) {
    const headers: Array<[string, string]> = [];
    for (let h = rng.int(4); h > 0; h--) headers.push([randString(rng), randString(rng)]);
    const parameters = [];
    for (let p = rng.int(4); p > 0; p--) {
      parameters.push({ name: randString(rng), contentType: randString(rng), value: randBytes(rng) });
    }
    batch.push({ requestId: randString(rng), headers, parameters });
  }
  return { kind: 'predict', batch };
}

function randRequest(rng: Rng): WorkerRequest {
  if (rng.chance(0.1)) return { kind: 'cancel', requestId: randString(rng) };
  return rng.chance(0.3) ? randLoad(rng) : randPredict(rng);
}

function randReply(rng: Rng): WorkerReply {
  const items = [];
  for (let i = rng.chance(0.3) ? 0 : rng.int(4); i > 0; i--) {
    const headers: Array<[string, string]> = [];
    for (let h = rng.int(3); h > 0; h--) headers.push([randString(rng), randString(rng)]);
    items.push({
      requestId: randString(rng),
      contentType: randString(rng),
      status: randInt(rng),
      reason: randString(rng),
      headers,
      body: randBytes(rng),
    });
  }
  return { code: randInt(rng), message: randString(rng), items };
}

// ---- chunking and feeding ---------------------------------------------------------------------

/** Splits `b` into random pieces (copies, so no piece aliases another). */
function randChunks(rng: Rng, b: Buffer): Buffer[] {
  // One byte at a time costs a re-decode per byte; keep that mode for inputs of modest size.
  const mode = b.length > 1500 ? rng.range(2, 4) : rng.int(5);
  const out: Buffer[] = [];
  let i = 0;
  while (i < b.length) {
    let n: number;
    if (mode === 0) n = b.length;
    else if (mode === 1) n = 1;
    else if (mode === 2) n = rng.range(1, 8);
    else if (mode === 3) n = rng.range(1, 300);
    else n = rng.chance(0.2) ? 0 : rng.range(1, 4096); // empty chunks too
    n = Math.min(n, b.length - i);
    out.push(Buffer.from(b.subarray(i, i + n)));
    i += n;
  }
  return out;
}

interface Outcome<T> {
  frames: T[];
  /** The error push() threw, if any. */
  error: unknown;
  buffered: number;
  pushed: number;
}

/**
 * Feeds chunks to a fresh reader until one push throws. Checks that the reader calls the decoder at
 * most (frames completed + 1) times per push.
 */
function run<T>(decode: Decoder<T>, chunks: Buffer[]): Outcome<T> {
  const frames: T[] = [];
  let calls = 0;
  const counted: Decoder<T> = (c) => {
    calls++;
    return decode(c);
  };
  const reader = new FrameReader<T>(counted, (m) => frames.push(m), MAX_LENGTH);
  let pushed = 0;
  let error: unknown;
  for (const chunk of chunks) {
    const before = frames.length;
    calls = 0;
    pushed += chunk.length;
    try {
      reader.push(chunk);
    } catch (err) {
      error = err;
    }
    assert.ok(calls <= frames.length - before + 1, `decoder ran ${calls} times for ${frames.length - before} frames in one push`);
    if (error !== undefined) break;
  }
  if (error !== undefined && !(error instanceof FrameError)) {
    assert.fail(`push threw a non-FrameError: ${error instanceof Error ? error.stack : String(error)}`);
  }
  assert.ok(reader.buffered >= 0 && reader.buffered <= pushed);
  return { frames, error, buffered: reader.buffered, pushed };
}

function hasReplacementChar(x: unknown): boolean {
  if (typeof x === 'string') return x.includes('\ufffd');
  if (Buffer.isBuffer(x) || typeof x !== 'object' || x === null) return false;
  return Object.values(x).some(hasReplacementChar);
}

function checkShape(kind: 'request' | 'reply', m: unknown): void {
  const isI32 = (n: unknown) => Number.isInteger(n) && (n as number) >= -(2 ** 31) && (n as number) < 2 ** 31;
  const isStr = (s: unknown) => typeof s === 'string';
  const isPair = (p: unknown) => Array.isArray(p) && p.length === 2 && isStr(p[0]) && isStr(p[1]);
  if (kind === 'request') {
    const r = m as WorkerRequest;
    if (r.kind === 'load') {
      assert.ok([r.modelName, r.modelPath, r.handler, r.ioDescriptor].every(isStr) && isI32(r.batchSize) && isI32(r.gpuId));
    } else if (r.kind === 'cancel') {
      assert.ok(isStr(r.requestId));
    } else if (r.kind !== 'ping') {
      assert.equal(r.kind, 'predict');
      for (const item of r.batch) {
        assert.ok(isStr(item.requestId) && item.headers.every(isPair));
        for (const p of item.parameters) assert.ok(isStr(p.name) && isStr(p.contentType) && Buffer.isBuffer(p.value));
      }
    }
  } else {
    const r = m as WorkerReply;
    assert.ok(isI32(r.code) && isStr(r.message));
    for (const item of r.items) {
      assert.ok([item.requestId, item.contentType, item.reason].every(isStr) && isI32(item.status) && item.headers.every(isPair));
      assert.ok(Buffer.isBuffer(item.body) && item.body.length <= MAX_LENGTH);
    }
  }
}

const DECODERS = {
  request: { decode: decodeRequest as Decoder<unknown>, encode: (m: unknown) => encodeRequest(m as WorkerRequest) },
  reply: { decode: decodeReply as Decoder<unknown>, encode: (m: unknown) => encodeReply(m as WorkerReply) },
} as const;

/**
 * Runs `input` through one decoder twice (one chunk, random chunks) and checks every invariant.
 * Returns the one-chunk outcome.
 */
function check(rng: Rng, kind: 'request' | 'reply', input: Buffer): Outcome<unknown> {
  const { decode, encode } = DECODERS[kind];
  const whole = run(decode, input.length ? [Buffer.from(input)] : []);
  const pieces = run(decode, randChunks(rng, input));

  // Chunking independence.
  assert.deepEqual(pieces.frames, whole.frames, 'frames depend on chunking');
  assert.equal(pieces.error !== undefined, whole.error !== undefined, 'error depends on chunking');
  if (whole.error !== undefined) {
    assert.equal((pieces.error as Error).message, (whole.error as Error).message);
    assert.equal(pieces.pushed - pieces.buffered, whole.pushed - whole.buffered, 'consumed bytes depend on chunking');
  } else {
    assert.equal(pieces.buffered, whole.buffered);
  }

  // Exact consumption: decoded frames re-encode to the bytes they came from.
  const consumed = whole.pushed - whole.buffered;
  for (const f of whole.frames) checkShape(kind, f);
  if (!whole.frames.some(hasReplacementChar)) {
    const reencoded = Buffer.concat(whole.frames.flatMap(encode));
    assert.equal(reencoded.length, consumed, 'consumed byte count differs from the frames\' encoded size');
    assert.ok(reencoded.equals(input.subarray(0, consumed)), 're-encoded frames differ from the input');
  }
  return whole;
}

// ---- mutations --------------------------------------------------------------------------------

function interestingLength(rng: Rng): number {
  return rng.pick([-1, -2, -3, 0, 1, 4, 255, MAX_LENGTH, MAX_LENGTH + 1, 0x7fffffff, -0x80000000, rng.i32(), rng.int(64)]);
}

function mutate(rng: Rng, input: Buffer): Buffer {
  let b: Buffer = Buffer.from(input);
  for (let k = rng.range(1, 3); k > 0; k--) {
    const op = rng.int(8);
    if (b.length === 0) {
      b = rng.bytes(rng.range(1, 16));
      continue;
    }
    const at = rng.int(b.length);
    switch (op) {
      case 0: // bit flip
        b[at] ^= 1 << rng.int(8);
        break;
      case 1: // random byte
        b[at] = rng.int(256);
        break;
      case 2: // truncate
        b = b.subarray(0, at);
        break;
      case 3: // overwrite an int32 with a random or boundary length
      case 4: {
        if (b.length < 4) break;
        b.writeInt32BE(interestingLength(rng), rng.int(b.length - 3));
        break;
      }
      case 5: // insert random bytes
        b = Buffer.concat([b.subarray(0, at), rng.bytes(rng.range(1, 8)), b.subarray(at)]);
        break;
      case 6: // delete a range
        b = Buffer.concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + rng.range(1, 8)))]);
        break;
      case 7: // duplicate a range
        b = Buffer.concat([b.subarray(0, at), b.subarray(at, at + rng.range(1, 16)), b.subarray(at)]);
        break;
    }
  }
  return b;
}

/** A smallish valid frame of the given kind (big values are rare, to keep the run fast). */
function randFrame(rng: Rng, kind: 'request' | 'reply'): { message: unknown; bytes: Buffer } {
  const message = kind === 'request' ? randRequest(rng) : randReply(rng);
  return { message, bytes: Buffer.concat(DECODERS[kind].encode(message)) };
}

// ---- tests ------------------------------------------------------------------------------------

describe('protocol fuzz', { timeout: TEST_TIMEOUT_MS }, () => {
  it('random valid streams round-trip under random chunking', () => {
    const rng = new Rng(0xc0ffee);
    for (let i = 0; i < 300; i++) {
      const kind = i % 2 === 0 ? 'request' : 'reply';
      const frames = Array.from({ length: rng.range(1, 4) }, () => randFrame(rng, kind));
      const input = Buffer.concat(frames.map((f) => f.bytes));
      const out = check(rng, kind, input);
      assert.equal(out.error, undefined);
      assert.deepEqual(out.frames, frames.map((f) => f.message));
      assert.equal(out.buffered, 0);
    }
  });

  it('proper prefixes of valid frames never emit or throw, and the rest completes them', () => {
    const rng = new Rng(0x5eed);
    for (let i = 0; i < 400; i++) {
      const kind = i % 2 === 0 ? 'request' : 'reply';
      const whole = Array.from({ length: rng.int(3) }, () => randFrame(rng, kind));
      const last = randFrame(rng, kind);
      const head = Buffer.concat(whole.map((f) => f.bytes));
      const cut = rng.chance(0.5) ? rng.int(last.bytes.length) : rng.int(Math.min(last.bytes.length, 24));
      const input = Buffer.concat([head, last.bytes.subarray(0, cut)]);

      const { decode } = DECODERS[kind];
      const out = run(decode, randChunks(rng, input));
      assert.equal(out.error, undefined, `prefix of length ${cut} threw`);
      assert.deepEqual(out.frames, whole.map((f) => f.message), `prefix of length ${cut} emitted a frame`);
      assert.equal(out.buffered, cut);

      // The same reader state, completed: exactly one more frame.
      const frames: unknown[] = [];
      const reader = new FrameReader<unknown>(decode, (m) => frames.push(m), MAX_LENGTH);
      for (const c of randChunks(rng, input)) reader.push(c);
      assert.equal(frames.length, whole.length);
      for (const c of randChunks(rng, last.bytes.subarray(cut))) reader.push(c);
      assert.deepEqual(frames, [...whole.map((f) => f.message), last.message]);
      assert.equal(reader.buffered, 0);
    }
  });

  it('every prefix of small valid frames is silent', () => {
    const rng = new Rng(42);
    for (let i = 0; i < 60; i++) {
      const kind = i % 2 === 0 ? 'request' : 'reply';
      const { bytes } = randFrame(rng, kind);
      if (bytes.length > 400) continue;
      for (let cut = 0; cut < bytes.length; cut++) {
        const out = run(DECODERS[kind].decode, [bytes.subarray(0, cut)]);
        assert.equal(out.error, undefined);
        assert.equal(out.frames.length, 0, `prefix ${cut}/${bytes.length} emitted a frame`);
      }
    }
  });

  it('mutated frames decode or throw FrameError, independent of chunking', () => {
    const rng = new Rng(0xdecaf, true);
    let errors = 0;
    let decoded = 0;
    for (let i = 0; i < 2000; i++) {
      const source = rng.chance(0.5) ? 'request' : 'reply';
      const input = mutate(rng, randFrame(rng, source).bytes);
      // Feed it to both decoders: a reply parsed as a request (and vice versa) is also garbage.
      for (const kind of ['request', 'reply'] as const) {
        const out = check(rng, kind, input);
        if (out.error !== undefined) errors++;
        decoded += out.frames.length;
      }
    }
    // The fuzzer must actually reach both outcomes, or it tests nothing.
    assert.ok(errors > 1000, `only ${errors} FrameErrors`);
    assert.ok(decoded > 150, `only ${decoded} frames decoded`);
  });

  it('every int32 position of valid frames overwritten with boundary lengths', () => {
    const rng = new Rng(7, true);
    const values = [-1, -2, -0x80000000, 0, 1, 0x7fffffff, MAX_LENGTH, MAX_LENGTH + 1];
    let frames = 0;
    for (let i = 0; frames < 8; i++) {
      const kind = i % 2 === 0 ? 'request' : 'reply';
      const { bytes } = randFrame(rng, kind);
      if (bytes.length < 20 || bytes.length > 120) continue;
      frames++;
      for (let at = 0; at + 4 <= bytes.length; at++) {
        for (const v of values) {
          const b = Buffer.from(bytes);
          b.writeInt32BE(v, at);
          check(rng, kind, b);
        }
      }
    }
  });

  it('random bytes decode or throw FrameError', () => {
    const rng = new Rng(0xbadf00d, true);
    for (let i = 0; i < 1500; i++) {
      const b = rng.bytes(rng.int(200));
      // Bias toward the real command bytes and small lengths, so decoding gets past the first field.
      if (b.length > 0 && rng.chance(0.6)) b[0] = rng.pick([0x4c, 0x49]);
      for (let j = 1; j + 4 <= b.length; j += 4) if (rng.chance(0.5)) b.writeInt32BE(rng.range(-1, 6), j);
      check(rng, 'request', b);
      check(rng, 'reply', b);
    }
  });
});
