// What a gRPC client sends that grpc-js itself would mishandle before our handlers run
// (docs/api.md, "Open Inference Protocol: gRPC"):
// - a `grpc-timeout` beyond the longest Node timer (2^31 − 1 ms, about 24.8 days): grpc-js truncates
//   it to 32 bits, so 30 days becomes a negative timeout and the call ends DEADLINE_EXCEEDED at once.
//   Such a deadline is dropped: the call has no deadline of its own (the response timeout still holds).
// - bytes that are not a protobuf message: grpc-js answers INTERNAL. The deserializers here hand the
//   handler a MalformedMessage instead, which it answers as the client error it is (INVALID_ARGUMENT).
import type http2 from 'node:http2';
import type * as grpc from '@grpc/grpc-js';
import { MAX_TIMER_MS } from '../config/keys.js';

/** grpc-timeout: up to 8 digits and a unit (gRPC over HTTP/2, "Timeout"), read exactly as grpc-js reads it. */
const TIMEOUT = /(\d{1,8})\s*([HMSmun])/;
const UNIT_MS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000001 };

/** The timeout in ms; undefined if malformed (then grpc-js refuses the call itself). */
export function grpcTimeoutMs(value: string): number | undefined {
  const m = TIMEOUT.exec(value);
  return m ? Number(m[1]) * UNIT_MS[m[2]] : undefined;
}

/** Removes, before grpc-js reads it, every call's `grpc-timeout` that no timer can hold. */
export function dropUnboundedDeadlines(server: http2.Http2Server | http2.Http2SecureServer): void {
  server.prependListener('stream', (_stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => {
    const value = headers['grpc-timeout'];
    if (typeof value !== 'string') return;
    const ms = grpcTimeoutMs(value);
    if (ms !== undefined && ms > MAX_TIMER_MS) delete headers['grpc-timeout'];
  });
}

/** A request whose bytes did not decode; the handler answers it INVALID_ARGUMENT. */
export class MalformedMessage {
  constructor(readonly reason: string) {}
}

/** The service with deserializers that return a MalformedMessage where the stock ones throw. */
export function tolerantDeserializers(definition: grpc.ServiceDefinition): grpc.ServiceDefinition {
  const tolerant = (method: grpc.MethodDefinition<unknown, unknown>) => ({
    ...method,
    requestDeserialize: (bytes: Buffer) => {
      try {
        return method.requestDeserialize(bytes);
      } catch (err) {
        return new MalformedMessage((err as Error)?.message || String(err));
      }
    },
  });
  return Object.fromEntries(Object.entries(definition).map(([name, method]) => [name, tolerant(method)]));
}
