// What a gRPC client sends that must not be taken at face value (docs/api.md, "Open Inference
// Protocol: gRPC"), read by the transport (grpc-transport.ts):
// - `grpc-timeout`: a deadline beyond the longest Node timer (2^31 − 1 ms, about 24.8 days) is none;
//   the call has no deadline of its own (the response timeout still holds).
// - bytes that are not a protobuf message: the handler gets a MalformedMessage and answers it as the
//   client error it is (INVALID_ARGUMENT), where a stock server answers INTERNAL.

/** grpc-timeout: up to 8 digits and a unit (gRPC over HTTP/2, "Timeout"). */
const TIMEOUT = /^(\d{1,8})\s*([HMSmun])$/;
const UNIT_MS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000001 };

/** The timeout in ms; undefined if malformed. */
export function grpcTimeoutMs(value: string): number | undefined {
  const m = TIMEOUT.exec(value.trim());
  return m ? Number(m[1]) * UNIT_MS[m[2]] : undefined;
}

/** A request whose bytes did not decode; the handler answers it INVALID_ARGUMENT. */
export class MalformedMessage {
  constructor(readonly reason: string) {}
}
