// Builds one frame as a list of buffers for a single corked write. Small fields are packed into
// shared scratch segments; large values (tensor bytes, images) are referenced, never copied.
// A field of the wrong type or size throws FrameEncodeError before anything is written: a caller
// encodes a whole frame first, so a bad field fails its own request, never the stream.

/** A message that cannot become a frame (a field missing, of the wrong type, or too long). */
export class FrameEncodeError extends Error {
  override name = 'FrameEncodeError';
}

const SEGMENT = 4096;
const INLINE_LIMIT = 1024;

export class FrameWriter {
  private readonly parts: Buffer[] = [];
  private buf: Buffer;
  private start = 0;
  private pos = 0;

  constructor(sizeHint = 256) {
    this.buf = Buffer.allocUnsafe(Math.max(sizeHint, 64));
  }

  u8(v: number): this {
    this.ensure(1);
    this.buf[this.pos++] = v;
    return this;
  }

  i32(v: number): this {
    if (!Number.isInteger(v) || v < -0x80000000 || v > 0x7fffffff) throw new FrameEncodeError(`not a 32-bit integer: ${String(v).slice(0, 40)}`);
    this.ensure(4);
    this.buf.writeInt32BE(v, this.pos);
    this.pos += 4;
    return this;
  }

  string(s: string): this {
    if (typeof s !== 'string') throw new FrameEncodeError(`a string field is ${s === undefined ? 'missing' : `a ${typeof s}`}`);
    const len = Buffer.byteLength(s);
    this.i32(len);
    this.ensure(len);
    this.pos += this.buf.write(s, this.pos, 'utf8');
    return this;
  }

  /** A length-prefixed value, given whole or in pieces (sent back to back, not joined). */
  bytes(value: Buffer | readonly Buffer[]): this {
    if (!Buffer.isBuffer(value)) {
      const pieces = value as readonly Buffer[];
      if (!Array.isArray(pieces) || !pieces.every(Buffer.isBuffer)) throw new FrameEncodeError('a bytes field is neither a Buffer nor a list of them');
      if (pieces.length === 1) return this.bytes(pieces[0]);
      this.i32(pieces.reduce((a, p) => a + p.length, 0));
      this.cut();
      for (const p of pieces) if (p.length) this.parts.push(p);
      return this;
    }
    const b = value;
    this.i32(b.length);
    if (b.length >= INLINE_LIMIT) {
      this.cut();
      this.parts.push(b);
    } else {
      this.ensure(b.length);
      b.copy(this.buf, this.pos);
      this.pos += b.length;
    }
    return this;
  }

  finish(): Buffer[] {
    this.cut();
    return this.parts;
  }

  private cut(): void {
    if (this.pos > this.start) this.parts.push(this.buf.subarray(this.start, this.pos));
    this.start = this.pos;
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    this.cut();
    this.buf = Buffer.allocUnsafe(Math.max(n, SEGMENT));
    this.start = this.pos = 0;
  }
}
