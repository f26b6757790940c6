// Encode and decode every wire message (layouts in docs/protocol.md, after MMS 1.1.x).
// Encoders return buffer lists for one corked socket write; decoders walk a ByteCursor and are used
// through FrameReader, which handles partial frames.
import { ByteCursor, FrameError } from './frame-reader.js';
import { FrameWriter } from './frame-writer.js';
import {
  Command,
  type LoadRequest,
  type OutgoingValue,
  type PingRequest,
  type PredictRequest,
  type ReplyItem,
  type RequestItem,
  type RequestParameter,
  type WorkerReply,
  type WorkerRequest,
} from './messages.js';

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

export function encodeRequest(m: LoadRequest | PredictRequest<OutgoingValue> | PingRequest): Buffer[] {
  if (m.kind === 'ping') return encodePing();
  return m.kind === 'load' ? encodeLoad(m) : encodePredict(m);
}

export function encodeReply(m: WorkerReply): Buffer[] {
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

export function decodeRequest(c: ByteCursor): WorkerRequest {
  const command = c.u8();
  if (command === Command.load) {
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
  if (command === Command.ping) return { kind: 'ping' };
  if (command !== Command.predict) throw new FrameError(`unknown command 0x${command.toString(16)}`);
  const batch: RequestItem[] = [];
  for (let requestId = stringOrEnd(c); requestId !== undefined; requestId = stringOrEnd(c)) {
    const headers: Array<[string, string]> = [];
    for (let name = stringOrEnd(c); name !== undefined; name = stringOrEnd(c)) headers.push([name, c.string()]);
    const parameters: RequestParameter[] = [];
    for (let name = stringOrEnd(c); name !== undefined; name = stringOrEnd(c)) {
      parameters.push({ name, contentType: c.string(), value: c.bytes() });
    }
    batch.push({ requestId, headers, parameters });
  }
  return { kind: 'predict', batch };
}

export function decodeReply(c: ByteCursor): WorkerReply {
  const code = c.i32();
  const message = c.string();
  const items: ReplyItem[] = [];
  for (let requestId = stringOrEnd(c); requestId !== undefined; requestId = stringOrEnd(c)) {
    const contentType = c.string();
    const status = c.i32();
    const reason = c.string();
    const count = c.length();
    if (count < 0) throw new FrameError(`invalid header count ${count}`);
    const headers: Array<[string, string]> = [];
    for (let i = 0; i < count; i++) headers.push([c.string(), c.string()]);
    items.push({ requestId, contentType, status, reason, headers, body: c.bytes() });
  }
  return { code, message, items };
}
