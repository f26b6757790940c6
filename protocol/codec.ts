// Encode and decode every wire message (layouts in docs/protocol.md, after MMS 1.1.x).
// Encoders return buffer lists for one corked socket write; decoders walk a ByteCursor and are used
// through FrameReader, which handles partial frames.
import { ByteCursor, FrameError } from './frame-reader.js';
import { FrameEncodeError, FrameWriter } from './frame-writer.js';
import {
  Command,
  type CancelRequest,
  type LoadRequest,
  type OutgoingValue,
  type PingRequest,
  type PredictRequest,
  type ReplyItem,
  type RequestItem,
  type RequestParameter,
  type WorkerReply,
  type WorkerRequest,
  V2_HEADER_LENGTH,
} from './messages.js';

export { FrameEncodeError };

const END = -1;

export function encodeLoad(m: LoadRequest): Buffer[] {
  return new FrameWriter()
    .u8(Command.load)
    .string(m.modelName)
    .string(m.modelPath)
    .i32(m.batchSize)
    .string(m.handler)
    .i32(m.gpuId)
    .string(m.ioDescriptor)
    .finish();
}

export function encodePredict(m: PredictRequest<OutgoingValue>): Buffer[] {
  const w = new FrameWriter(1024).u8(Command.predict);
  for (const item of m.batch) {
    w.string(item.requestId);
    for (const [name, value] of item.headers) w.string(name).string(value);
    w.i32(END);
    for (const p of item.parameters) w.string(p.name).string(p.contentType).bytes(p.value);
    w.i32(END);
  }
  return w.i32(END).finish();
}

export function encodePing(): Buffer[] {
  return new FrameWriter().u8(Command.ping).finish();
}

export function encodeCancel(m: CancelRequest): Buffer[] {
  return new FrameWriter().u8(Command.cancel).string(m.requestId).finish();
}

/** One frame's buffers, or FrameEncodeError (nothing else) for a message that cannot be one. */
export function encodeRequest(m: LoadRequest | PredictRequest<OutgoingValue> | PingRequest | CancelRequest): Buffer[] {
  try {
    if (m.kind === 'ping') return encodePing();
    if (m.kind === 'cancel') return encodeCancel(m);
    return m.kind === 'load' ? encodeLoad(m) : encodePredict(m);
  } catch (err) {
    throw asEncodeError(err);
  }
}

/** One frame's buffers, or FrameEncodeError (nothing else) for a reply that cannot be one. */
export function encodeReply(m: WorkerReply): Buffer[] {
  try {
    return encodeReplyFields(m);
  } catch (err) {
    throw asEncodeError(err);
  }
}

/** A message of the wrong shape (a list that is not one, an item missing) is a FrameEncodeError too. */
function asEncodeError(err: unknown): FrameEncodeError {
  return err instanceof FrameEncodeError ? err : new FrameEncodeError(`malformed message: ${(err as Error)?.message ?? err}`);
}

function encodeReplyFields(m: WorkerReply): Buffer[] {
  const w = new FrameWriter(512).i32(m.code).string(m.message);
  for (const item of m.items) {
    w.string(item.requestId).string(item.contentType).i32(item.status).string(item.reason);
    w.i32(item.headers.length);
    for (const [k, v] of item.headers) w.string(k).string(v);
    w.bytes(item.body);
  }
  return w.i32(END).finish();
}

/** Reads a length-prefixed string, or returns undefined at the -1 end marker. */
function stringOrEnd(c: ByteCursor): string | undefined {
  const n = c.length();
  return n === END ? undefined : c.take(n).toString('utf8');
}

// The decoders below are resumable (see frame-reader.ts): what they have decoded lives in a state
// object, and they commit after each field, so a short read resumes at the field it stopped in.
// Each field is read whole and only then recorded and committed, so a retry never records it twice.

interface RequestState {
  command?: number;
  batch: RequestItem[];
  /** The batch item being decoded, and whether its headers have ended. */
  item?: RequestItem;
  inParameters: boolean;
}

export function decodeRequest(c: ByteCursor): WorkerRequest {
  const s = c.state<RequestState>(() => ({ batch: [], inParameters: false }));
  if (s.command === undefined) {
    s.command = c.u8();
    if (s.command === Command.ping) return { kind: 'ping' };
    if (s.command !== Command.load && s.command !== Command.predict && s.command !== Command.cancel) {
      throw new FrameError(`unknown command 0x${s.command.toString(16)}`);
    }
    c.commit();
  }
  if (s.command === Command.cancel) return { kind: 'cancel', requestId: c.string() };
  if (s.command === Command.load) {
    // A handful of fields: re-read from the command byte after a short read.
    return {
      kind: 'load',
      modelName: c.string(),
      modelPath: c.string(),
      batchSize: c.i32(),
      handler: c.string(),
      gpuId: c.i32(),
      ioDescriptor: c.string(),
    };
  }
  for (;;) {
    if (s.item === undefined) {
      const requestId = stringOrEnd(c);
      if (requestId === undefined) return { kind: 'predict', batch: s.batch };
      s.item = { requestId, headers: [], parameters: [] };
      s.inParameters = false;
      c.commit();
    }
    const item = s.item;
    if (!s.inParameters) {
      for (let name = stringOrEnd(c); name !== undefined; name = stringOrEnd(c)) {
        item.headers.push([name, c.string()]);
        c.commit();
      }
      s.inParameters = true;
      c.commit();
    }
    // A KServe v2 binary body's tensors start after its JSON header: placed at an 8-byte boundary when
    // the body is copied out of the socket's chunks, the worker views them in place instead of copying
    // them again (backend-worker/handlers/tensor-types.ts viewBytes).
    const tensorsAt = binaryHeaderLength(item.headers);
    for (let name = stringOrEnd(c); name !== undefined; name = stringOrEnd(c)) {
      item.parameters.push({ name, contentType: c.string(), value: c.bytes(tensorsAt) });
      c.commit();
    }
    s.batch.push(item);
    s.item = undefined;
    c.commit();
  }
}

/** The Inference-Header-Content-Length of a request (header names arrive lower-cased): where a v2 binary body's tensors start, else 0. */
function binaryHeaderLength(headers: Array<[string, string]>): number {
  for (const [name, value] of headers) {
    if (name === V2_HEADER_LENGTH) {
      const n = Number(value);
      return Number.isSafeInteger(n) && n > 0 ? n : 0;
    }
  }
  return 0;
}

interface ReplyState {
  head?: { code: number; message: string };
  items: ReplyItem[];
  /** The item being decoded (body still to come) and how many of its headers are left. */
  item?: Omit<ReplyItem, 'body'>;
  headersLeft: number;
}

export function decodeReply(c: ByteCursor): WorkerReply {
  const s = c.state<ReplyState>(() => ({ items: [], headersLeft: 0 }));
  if (s.head === undefined) {
    s.head = { code: c.i32(), message: c.string() };
    c.commit();
  }
  for (;;) {
    if (s.item === undefined) {
      const requestId = stringOrEnd(c);
      if (requestId === undefined) return { ...s.head, items: s.items };
      const contentType = c.string();
      const status = c.i32();
      const reason = c.string();
      const count = c.length();
      if (count < 0) throw new FrameError(`invalid header count ${count}`);
      s.item = { requestId, contentType, status, reason, headers: [] };
      s.headersLeft = count;
      c.commit();
    }
    const item = s.item;
    while (s.headersLeft > 0) {
      item.headers.push([c.string(), c.string()]);
      s.headersLeft--;
      c.commit();
    }
    s.items.push({ ...item, body: c.bytes() });
    s.item = undefined;
    c.commit();
  }
}
