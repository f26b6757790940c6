// Incremental framing for the MMS wire format. MMS frames carry no total length: they are a run of
// nested length-prefixed fields, so a frame is complete only when its decoder reaches the end. The
// reader keeps socket chunks as they arrive (no concatenation) and lets the decoder walk them with a
// cursor. Decoding is resumable: a decoder keeps what it has decoded so far in a per-frame state
// (cursor.state) and calls cursor.commit() after each field; on a short read the reader drops the
// committed bytes, remembers how many more it needs, and the next attempt resumes at the last commit.
// So a frame arriving in many chunks costs work linear in its size, not a restart from the frame
// start per chunk. Fields that lie inside one chunk are returned as views, not copies.

/** Thrown by a decoder for malformed input; the connection carrying it cannot be trusted further. */
export class FrameError extends Error {
  override name = 'FrameError';
}

/** Internal signal: the frame is not complete yet; `needed` is the total byte count required. */
const EMPTY = Buffer.alloc(0);

class NeedMore {
  constructor(readonly needed: number) {}
}

/** Holds one frame's partial decoding between attempts; emptied when the frame completes. */
interface FrameSlot {
  state: object | undefined;
}

export class ByteCursor {
  private chunk = 0; // index of the chunk holding `pos`
  private offset = 0; // position inside that chunk
  private pos = 0;
  private committedAt = 0;

  constructor(
    private readonly chunks: readonly Buffer[],
    private readonly total: number,
    private readonly maxLength: number,
    private readonly slot: FrameSlot = { state: undefined },
  ) {}

  /** Bytes read in this attempt. */
  get position(): number {
    return this.pos;
  }

  /** Bytes read in this attempt up to the last commit(); the next attempt starts after them. */
  get committed(): number {
    return this.committedAt;
  }

  /**
   * The decoder's state for the current frame: created by `init` on the frame's first attempt and
   * handed back unchanged on later ones. One reader runs one decoder, so the type is the decoder's.
   */
  state<S extends object>(init: () => S): S {
    return (this.slot.state ??= init()) as S;
  }

  /**
   * Marks everything read so far as recorded in the state: a short read after this point resumes
   * here. Call it only once the state reflects every field read since the last commit.
   */
  commit(): void {
    this.committedAt = this.pos;
  }

  private require(n: number): void {
    if (this.pos + n > this.total) throw new NeedMore(this.pos + n);
  }

  u8(): number {
    this.require(1);
    const v = this.chunks[this.chunk][this.offset];
    this.advance(1);
    return v;
  }

  i32(): number {
    this.require(4);
    const c = this.chunks[this.chunk];
    if (this.offset + 4 <= c.length) {
      const v = c.readInt32BE(this.offset);
      this.advance(4);
      return v;
    }
    return this.take(4).readInt32BE(0);
  }

  /** A length field: -1 (the end marker) or 0..maxLength; anything else is a corrupt frame. */
  length(): number {
    const n = this.i32();
    if (n < -1 || n > this.maxLength) throw new FrameError(`invalid length ${n}`);
    return n;
  }

  /**
   * A length-prefixed byte string; -1 is not allowed here. `alignAt`: where a copy is made, the offset
   * within the value that should fall on an 8-byte boundary (typed-array views need it).
   */
  bytes(alignAt = 0): Buffer {
    const n = this.length();
    if (n === -1) throw new FrameError('unexpected end marker');
    return this.take(n, alignAt);
  }

  string(): string {
    return this.bytes().toString('utf8');
  }

  /** The next `n` bytes: a view when they sit in one chunk, else one copy (`alignAt`: see bytes). */
  take(n: number, alignAt = 0): Buffer {
    if (n === 0) return EMPTY;
    this.require(n);
    const c = this.chunks[this.chunk];
    if (this.offset + n <= c.length) {
      const view = c.subarray(this.offset, this.offset + n);
      this.advance(n);
      return view;
    }
    const pad = (8 - (alignAt % 8)) % 8;
    // Its own ArrayBuffer (offset 0) when padded; small copies may come from Node's pool as before.
    const out = pad === 0 ? Buffer.allocUnsafe(n) : Buffer.allocUnsafeSlow(n + pad).subarray(pad);
    if (n >= UNPOOLED_MIN) OWNED.add(out.buffer);
    let filled = 0;
    while (filled < n) {
      const cur = this.chunks[this.chunk];
      const k = Math.min(n - filled, cur.length - this.offset);
      cur.copy(out, filled, this.offset, this.offset + k);
      filled += k;
      this.advance(k);
    }
    return out;
  }

  /** The next `n` bytes as views of the chunks they lie in, never copied. */
  views(n: number): Buffer[] {
    this.require(n);
    const out: Buffer[] = [];
    while (n > 0) {
      const c = this.chunks[this.chunk];
      const k = Math.min(n, c.length - this.offset);
      out.push(c.subarray(this.offset, this.offset + k));
      this.advance(k);
      n -= k;
    }
    return out;
  }

  private advance(n: number): void {
    this.pos += n;
    this.offset += n;
    while (this.chunk < this.chunks.length && this.offset >= this.chunks[this.chunk].length) {
      this.offset -= this.chunks[this.chunk].length;
      this.chunk++;
    }
  }
}

/**
 * Buffers of this size and up have an ArrayBuffer of their own: Buffer.allocUnsafe (and so
 * Buffer.concat) takes only smaller ones from its shared pool. Such memory can be moved to a thread
 * (transferred) instead of copied (backend-worker/session-threads.ts, session-thread.ts).
 */
export const UNPOOLED_MIN = Buffer.poolSize >>> 1;
const OWNED = new WeakSet<ArrayBufferLike>();

/** Whether `b` is a copy the reader made (of UNPOOLED_MIN bytes or more), whose memory nothing else shares. */
export const ownsMemory = (b: Uint8Array): boolean => OWNED.has(b.buffer);

export type Decoder<T> = (cursor: ByteCursor) => T;

export class FrameReader<T> {
  private chunks: Buffer[] = [];
  private total = 0;
  private needed = 1;
  private scanned = 0;
  /** Bytes of the current frame already decoded and dropped from `chunks`. */
  private done = 0;
  private readonly slot: FrameSlot = { state: undefined };

  constructor(
    private readonly decode: Decoder<T>,
    private readonly onFrame: (message: T) => void,
    private readonly maxLength: number,
  ) {}

  /** Bytes received but not yet part of a whole frame. */
  get buffered(): number {
    return this.done + this.total;
  }

  /** Bytes the decoder has walked over so far, re-reads after short reads included (for tests). */
  get scannedBytes(): number {
    return this.scanned;
  }

  /** Feed one socket chunk; calls onFrame for each frame it completes. Throws FrameError. */
  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.total += chunk.length;
    while (this.total >= this.needed) {
      const cursor = new ByteCursor(this.chunks, this.total, this.maxLength, this.slot);
      let message: T;
      try {
        message = this.decode(cursor);
      } catch (err) {
        this.scanned += cursor.position;
        if (err instanceof NeedMore) {
          // Keep only what the decoder has not recorded yet; `needed` counts from the same start.
          this.consume(cursor.committed);
          this.done += cursor.committed;
          this.needed = err.needed - cursor.committed;
          return;
        }
        throw err;
      }
      this.scanned += cursor.position;
      this.consume(cursor.position);
      this.done = 0;
      this.slot.state = undefined;
      this.needed = 1;
      this.onFrame(message);
    }
  }

  private consume(n: number): void {
    this.total -= n;
    let whole = 0;
    while (whole < this.chunks.length && this.chunks[whole].length <= n) n -= this.chunks[whole++].length;
    // One splice, not a shift per chunk: a frame that came in many small chunks stays linear.
    if (whole > 0) this.chunks.splice(0, whole);
    if (n > 0) this.chunks[0] = this.chunks[0].subarray(n);
  }
}
