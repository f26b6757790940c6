// Shared by the protocol tests: hex dumps, feeding chunks to a FrameReader, decoding exactly one frame.
import assert from 'node:assert/strict';
import { decodeReply, decodeRequest } from '../../protocol/codec.js';
import { FrameReader, type Decoder } from '../../protocol/frame-reader.js';
import type { WorkerReply, WorkerRequest } from '../../protocol/messages.js';

export const MAX = 6_553_500;

/** Parses a hex dump: whitespace-separated byte pairs, no offsets or annotations. */
export function hex(s: string): Buffer {
  const clean = s.replace(/\s+/g, '');
  assert.equal(clean.length % 2, 0, 'odd hex digit count');
  return Buffer.from(clean, 'hex');
}

/** Feeds `chunks` to a fresh reader; returns the emitted frames and the reader. */
export function feed<T>(decode: Decoder<T>, chunks: Buffer[], maxLength = MAX): { frames: T[]; reader: FrameReader<T> } {
  const frames: T[] = [];
  const reader = new FrameReader<T>(decode, (m) => frames.push(m), maxLength);
  for (const c of chunks) reader.push(c);
  return { frames, reader };
}

export function decodeOneRequest(bytes: Buffer, maxLength = MAX): WorkerRequest {
  const { frames, reader } = feed(decodeRequest, [bytes], maxLength);
  assert.equal(frames.length, 1, 'expected exactly one frame');
  assert.equal(reader.buffered, 0, 'frame must consume every byte');
  return frames[0];
}

export function decodeOneReply(bytes: Buffer, maxLength = MAX): WorkerReply {
  const { frames, reader } = feed(decodeReply, [bytes], maxLength);
  assert.equal(frames.length, 1, 'expected exactly one frame');
  assert.equal(reader.buffered, 0, 'frame must consume every byte');
  return frames[0];
}

/** Copies a buffer into its own fresh ArrayBuffer (nothing pooled, nothing aliased). */
export function copy(b: Buffer): Buffer {
  const out = Buffer.allocUnsafeSlow(b.length);
  b.copy(out);
  return out;
}
