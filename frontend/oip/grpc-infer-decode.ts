// ModelInferRequest read where it arrived: a message of a few hundred KB comes in several HTTP/2 DATA
// chunks, and joining them to hand protobufjs one buffer cost a copy of every tensor and, with it,
// most of a front's garbage collection under gRPC load (docs/performance-profile.md, "gRPC against
// REST"). Here the top-level fields are walked across the chunks: raw_input_contents (field 7, the
// tensors' bytes) stays as views of the chunks, and every other field, a few hundred bytes, is copied
// out and decoded by protobufjs as a message of its own (protobuf lets a message's fields be split so).
import type { ModelInferRequest } from '../../protocol/grpc-proto.js';

const RAW_INPUT_CONTENTS = 7;

/** A request whose raw_input_contents are each a list of views of the received chunks. */
export type ChunkedInferRequest = Omit<ModelInferRequest, 'raw_input_contents'> & { raw_input_contents?: Buffer[][] };

/** Reads forward through a message split over chunks. */
class ChunkReader {
  private chunk = 0;
  private at: number;
  constructor(private readonly chunks: Buffer[], start: number) {
    this.at = start;
    this.settle();
  }

  get done(): boolean {
    return this.chunk >= this.chunks.length;
  }

  byte(): number {
    if (this.done) throw new Error('the message ends inside a field');
    const b = this.chunks[this.chunk][this.at++];
    this.settle();
    return b;
  }

  /** A varint of up to 32 significant bits (tags and lengths); its bytes go to `into` as well. */
  varint(into?: number[]): number {
    let value = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      const b = this.byte();
      into?.push(b);
      value += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return value;
    }
    throw new Error('a varint longer than 5 bytes');
  }

  /** A varint of any value (up to 10 bytes), its bytes copied to `into`. */
  skipVarint(into: number[]): void {
    for (let i = 0; i < 10; i++) if (into[into.push(this.byte()) - 1] < 0x80) return;
    throw new Error('a varint longer than 10 bytes');
  }

  /** The next `n` bytes as views of the chunks. */
  views(n: number): Buffer[] {
    const out: Buffer[] = [];
    while (n > 0) {
      if (this.done) throw new Error('the message ends inside a field');
      const c = this.chunks[this.chunk];
      const take = Math.min(n, c.length - this.at);
      out.push(c.subarray(this.at, this.at + take));
      this.at += take;
      n -= take;
      this.settle();
    }
    return out;
  }

  private settle(): void {
    while (this.chunk < this.chunks.length && this.at >= this.chunks[this.chunk].length) {
      this.at -= this.chunks[this.chunk].length;
      this.chunk++;
    }
  }
}

/**
 * The request in `chunks` from byte `start` (after gRPC's 5-byte prefix) to their end. `decodeRest`:
 * protobufjs's decoder of ModelInferRequest. Throws where the bytes are not a message.
 */
export function decodeInferRequest(chunks: Buffer[], start: number, decodeRest: (bytes: Buffer) => unknown): ChunkedInferRequest {
  const r = new ChunkReader(chunks, start);
  const rest: Buffer[] = [];
  const raw: Buffer[][] = [];
  while (!r.done) {
    const head: number[] = [];
    const tag = r.varint(head);
    const wire = tag & 7;
    if (wire === 2) {
      const length = r.varint(head);
      const body = r.views(length);
      if (tag >>> 3 === RAW_INPUT_CONTENTS) raw.push(body);
      else rest.push(Buffer.from(head), ...body);
    } else if (wire === 0) {
      r.skipVarint(head);
      rest.push(Buffer.from(head));
    } else if (wire === 1 || wire === 5) {
      rest.push(Buffer.from(head), ...r.views(wire === 1 ? 8 : 4));
    } else {
      throw new Error(`invalid wire type ${wire} at field ${tag >>> 3}`);
    }
  }
  const request = decodeRest(Buffer.concat(rest)) as ChunkedInferRequest;
  if (raw.length > 0) request.raw_input_contents = raw;
  return request;
}
