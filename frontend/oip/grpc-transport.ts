// gRPC's unary calls over node:http2, without a gRPC library between (gRPC over HTTP/2: a POST to
// /<service>/<method> with `content-type: application/grpc…`; one length-prefixed message each way;
// the status in `grpc-status` / `grpc-message` trailers, or in the headers alone for an error). This is
// all of gRPC a unary service uses, and what grpc-js's server did for it cost a front about twice the
// CPU a call in its interceptors, metadata, decoders and timers (docs/performance-profile.md, "gRPC
// against REST"). What it keeps of grpc-js's behaviour: 415 for a foreign content type, UNIMPLEMENTED
// for an unknown method, `grpc-timeout` deadlines (one no timer can hold is none: grpc-js truncated it
// to 32 bits and failed the call at once), gzip and deflate requests, RESOURCE_EXHAUSTED past the
// message limits, and cancellation when the client resets the stream or goes away.
import type http2 from 'node:http2';
import { constants } from 'node:http2';
import zlib from 'node:zlib';
import { MAX_TIMER_MS } from '../config/keys.js';
import { GRPC } from '../errors.js';
import { MalformedMessage, grpcTimeoutMs } from './grpc-inbound.js';

/** One unary call as a method's handler sees it. */
export interface UnaryCall {
  /** The decoded request, or a MalformedMessage where its bytes were not one. */
  readonly request: unknown;
  /** The first value of a request header (metadata), by lower-case name. */
  metadata(name: string): string | undefined;
  /** When the client's `grpc-timeout` runs out, on performance.now()'s clock; undefined: none. */
  readonly deadline: number | undefined;
  /** The client cancelled, went away or ran out of time: no answer will reach it. */
  readonly cancelled: boolean;
  /** Calls `fn` once when the call is cancelled (at once if it is); returns its removal. */
  onCancel(fn: () => void): () => void;
}

export type UnaryOutcome = { value: unknown } | { status: number; details: string; trailers?: Record<string, string> };

export interface UnaryMethod {
  /** The request message: the bytes of `chunks` from `start` on, as they arrived (not joined). */
  deserialize(chunks: Buffer[], start: number): unknown;
  serialize(value: unknown): Buffer;
  handle(call: UnaryCall): Promise<UnaryOutcome>;
}

export interface MessageLimits {
  maxReceive: number;
  maxSend: number;
}

const PREFIX = 5; // compressed flag, then the message's length (big-endian uint32)
const CONTENT_TYPE = 'application/grpc+proto';
const ACCEPTS = 'identity,deflate,gzip';
const INFLATE: Record<string, typeof zlib.gunzip> = { gzip: zlib.gunzip, deflate: zlib.inflate };
const ignore = () => undefined;

/** The `stream` listener of an HTTP/2 server that serves `methods` (by path) as unary gRPC calls. */
export function unaryCalls(methods: ReadonlyMap<string, UnaryMethod>, limits: MessageLimits) {
  return (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): void => {
    stream.on('error', ignore); // a reset stream; its 'close' cancels the call
    const type = headers['content-type'];
    if (typeof type !== 'string' || !type.startsWith('application/grpc')) {
      stream.respond({ ':status': 415 }, { endStream: true });
      return;
    }
    const path = headers[':path'] ?? '';
    const method = methods.get(path);
    const call = new Call(stream, headers, limits);
    if (!method) return call.fail(GRPC.UNIMPLEMENTED, `The server does not implement the method ${path}`);
    const timeout = headers['grpc-timeout'];
    if (typeof timeout === 'string') {
      const ms = grpcTimeoutMs(timeout);
      if (ms === undefined) return call.fail(GRPC.INTERNAL, `Invalid grpc-timeout value "${timeout}"`);
      if (ms <= MAX_TIMER_MS) call.expireIn(ms);
    }
    readMessage(stream, call, limits.maxReceive, (message) => decode(message, headers, call, method, limits.maxReceive));
  };
}

/** Gathers the request's one message; `done` gets its chunks, prefix first, unless the call failed first. */
function readMessage(stream: http2.ServerHttp2Stream, call: Call, max: number, done: (chunks: Buffer[]) => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  let declared = -1;
  stream.on('data', (chunk: Buffer) => {
    if (call.answered || chunk.length === 0) return;
    chunks.push(chunk);
    size += chunk.length;
    if (declared < 0 && size >= PREFIX) {
      declared = (chunks[0].length >= PREFIX ? chunks[0] : Buffer.concat(chunks)).readUInt32BE(1);
      if (declared > max) call.fail(GRPC.RESOURCE_EXHAUSTED, `Received message larger than max (${declared} vs. ${max})`, true);
    }
    if (size > PREFIX + max && !call.answered) call.fail(GRPC.RESOURCE_EXHAUSTED, `Received more than one message, over max (${max})`, true);
  });
  stream.once('end', () => {
    if (call.answered) return;
    if (size === 0) return call.fail(GRPC.UNIMPLEMENTED, 'Received no request message for a unary method');
    if (size < PREFIX || size < PREFIX + declared) return call.fail(GRPC.INTERNAL, 'Received an incomplete message');
    if (size > PREFIX + declared) return call.fail(GRPC.UNIMPLEMENTED, 'Received a second request message for a unary method');
    done(chunks);
  });
}

function decode(chunks: Buffer[], headers: http2.IncomingHttpHeaders, call: Call, method: UnaryMethod, max: number): void {
  const run = (parts: Buffer[], start: number) => {
    try {
      call.request = method.deserialize(parts, start);
    } catch (err) {
      call.request = new MalformedMessage((err as Error)?.message || String(err));
    }
    method.handle(call).then(
      (outcome) => call.answer(outcome, method),
      (err: unknown) => call.answer({ status: GRPC.INTERNAL, details: (err as Error)?.message || String(err) }, method),
    );
  };
  const compressed = chunks[0][0];
  if (compressed === 0) return run(chunks, PREFIX);
  const encoding = String(headers['grpc-encoding'] ?? 'identity');
  const inflate = INFLATE[encoding];
  if (compressed !== 1 || !inflate) return call.fail(GRPC.UNIMPLEMENTED, `Received message compressed with unsupported encoding "${encoding}"`);
  inflate(Buffer.concat(chunks).subarray(PREFIX), { maxOutputLength: Math.max(1, max) }, (err, bytes) => {
    if (call.answered) return;
    if (!err) return run([bytes], 0);
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') call.fail(GRPC.RESOURCE_EXHAUSTED, `Received message that decompresses to a size larger than ${max}`);
    else call.fail(GRPC.INTERNAL, 'Failed to decompress message');
  });
}

class Call implements UnaryCall {
  request: unknown = undefined;
  deadline: number | undefined = undefined;
  cancelled = false;
  /** A status or the answer went out (or the stream is gone): nothing more is sent. */
  answered = false;
  private timer: NodeJS.Timeout | undefined = undefined;
  private listeners: Array<() => void> | undefined = undefined;

  constructor(
    private readonly stream: http2.ServerHttp2Stream,
    private readonly headers: http2.IncomingHttpHeaders,
    private readonly limits: MessageLimits,
  ) {
    stream.once('close', () => {
      if (!this.answered) this.cancel();
      this.answered = true;
      clearTimeout(this.timer);
    });
  }

  metadata(name: string): string | undefined {
    const v = this.headers[name];
    return Array.isArray(v) ? v[0] : v;
  }

  onCancel(fn: () => void): () => void {
    if (this.cancelled) {
      fn();
      return ignore;
    }
    (this.listeners ??= []).push(fn);
    return () => {
      const i = this.listeners?.indexOf(fn) ?? -1;
      if (i >= 0) this.listeners!.splice(i, 1);
    };
  }

  expireIn(ms: number): void {
    this.deadline = performance.now() + ms;
    this.timer = setTimeout(() => {
      this.fail(GRPC.DEADLINE_EXCEEDED, 'Deadline exceeded');
      this.cancel();
    }, ms);
  }

  answer(outcome: UnaryOutcome, method: UnaryMethod): void {
    if (this.done()) return;
    if (!('value' in outcome)) return this.fail(outcome.status, outcome.details, false, outcome.trailers);
    let bytes: Buffer;
    try {
      bytes = method.serialize(outcome.value);
    } catch (err) {
      return this.fail(GRPC.INTERNAL, `Failed to serialize the response: ${(err as Error)?.message}`);
    }
    if (bytes.length > this.limits.maxSend) {
      return this.fail(GRPC.RESOURCE_EXHAUSTED, `Sent message larger than max (${bytes.length} vs. ${this.limits.maxSend})`);
    }
    this.end();
    const prefix = Buffer.allocUnsafe(PREFIX);
    prefix[0] = 0;
    prefix.writeUInt32BE(bytes.length, 1);
    const { stream } = this;
    stream.respond({ ':status': 200, 'content-type': CONTENT_TYPE, 'grpc-accept-encoding': ACCEPTS, 'grpc-encoding': 'identity' }, { waitForTrailers: true });
    stream.once('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0', 'grpc-message': 'OK' }));
    stream.cork(); // prefix and message in one write
    stream.write(prefix);
    stream.end(bytes);
  }

  /**
   * Ends the call with a status alone ("trailers-only"). `unread`: the client may still be sending;
   * it is asked to stop (RST_STREAM NO_ERROR after a complete response, as HTTP/2 allows).
   */
  fail(code: number, details: string, unread = false, trailers?: Record<string, string>): void {
    if (this.done()) return;
    this.end();
    const { stream } = this;
    stream.respond({
      ':status': 200, 'content-type': CONTENT_TYPE, 'grpc-accept-encoding': ACCEPTS,
      'grpc-status': String(code), 'grpc-message': encodeURI(details), ...trailers,
    }, { endStream: true });
    if (unread) stream.close(constants.NGHTTP2_NO_ERROR);
  }

  /** Answered already, or the stream is gone (its 'close' may not have come yet). */
  private done(): boolean {
    return this.answered || this.stream.destroyed || this.stream.closed;
  }

  private end(): void {
    this.answered = true;
    clearTimeout(this.timer);
  }

  private cancel(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    const fns = this.listeners ?? [];
    this.listeners = undefined;
    for (const fn of fns) fn();
  }
}
