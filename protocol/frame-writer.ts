// Builds one frame as a list of buffers for a single corked write. Small fields are packed into
// shared scratch segments; large values (tensor bytes, images) are referenced, never copied.

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
    this.ensure(4);
    this.buf.writeInt32BE(v, this.pos);
    this.pos += 4;
    return this;
  }

  string(s: string): this {
    const len = Buffer.byteLength(s);
    this.i32(len);
    this.ensure(len);
    this.pos += this.buf.write(s, this.pos, 'utf8');
    return this;
  }

  bytes(b: Buffer): this {
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
