// ModelInferRequest read where it arrived: a message of a few hundred KB comes in several HTTP/2 DATA
// chunks, and joining them to hand protobufjs one buffer cost a copy of every tensor and, with it,
// most of a front's garbage collection under gRPC load (docs/performance-profile.md, "gRPC against
// REST"). Here the top-level fields are walked across the chunks: raw_input_contents (field 7, the
// tensors' bytes) stays as views of the chunks, and every other field, a few hundred bytes, is copied
// out and decoded by protobufjs as a message of its own (protobuf lets a message's fields be split so).
import { ByteCursor } from '../../protocol/frame-reader.js';
import type { ModelInferRequest } from '../../protocol/grpc-proto.js';

const RAW_INPUT_CONTENTS = 7;

/** A request whose raw_input_contents are each a list of views of the received chunks. */
export type ChunkedInferRequest = Omit<ModelInferRequest, 'raw_input_contents'> & { raw_input_contents?: Buffer[][] };

/** Reads the message's fields across its chunks; past its end is not a message. */
class FieldReader {
  private readonly cursor: ByteCursor;
  constructor(chunks: Buffer[], private readonly total: number, start: number) {
    this.cursor = new ByteCursor(chunks, total, 0);
    this.cursor.take(start);
  }

  get done(): boolean {
    return this.cursor.position >= this.total;
  }

  /**
   * A varint of at most `maxBytes` (5: a tag or a length; 10: any 64-bit value), its bytes copied to
   * `into`; returns its value (exact for tags and lengths).
   */
  varint(into: number[], maxBytes = 5): number {
    let value = 0;
    for (let i = 0; i < maxBytes; i++) {
      const b = this.byte();
      into.push(b);
      value += (b & 0x7f) * 2 ** (7 * i);
      if (b < 0x80) return value;
    }
    throw new Error(`a varint longer than ${maxBytes} bytes`);
  }

  views(n: number): Buffer[] {
    this.need(n);
    return this.cursor.views(n);
  }

  private byte(): number {
    this.need(1);
    return this.cursor.u8();
  }

  private need(n: number): void {
    if (this.cursor.position + n > this.total) throw new Error('the message ends inside a field');
  }
}

/**
 * The request in `chunks` from byte `start` (after gRPC's 5-byte prefix) to their end. `decodeRest`:
 * protobufjs's decoder of ModelInferRequest. Throws where the bytes are not a message.
 */
export function decodeInferRequest(chunks: Buffer[], start: number, decodeRest: (bytes: Buffer) => unknown): ChunkedInferRequest {
  const r = new FieldReader(chunks, chunks.reduce((n, c) => n + c.length, 0), start);
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
      r.varint(head, 10);
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
