// The Open Inference Protocol's gRPC service, `inference.GRPCInferenceService`, over the same worker
// router, admission limits, response timeouts, token keys and error catalogue as the REST routes:
// a ServerError becomes its gRPC status (errors.ts grpcStatus) with the message shown to REST clients
// (at most DETAILS_MAX bytes) and the catalogue's code in the `mms-error-code` trailer (docs/api.md,
// "Open Inference Protocol: gRPC").
import { randomUUID } from 'node:crypto';
import type { ModelRef } from '../../protocol/grpc-proto.js';
import type { ChunkedInferRequest } from './grpc-infer-decode.js';
import { ServerError, badRequest, grpcStatus, internal, unauthorized } from '../errors.js';
import type { RequestMetrics } from '../inference/front-metrics.js';
import type { WorkerRouter } from '../inference/worker-router.js';
import type { Logger } from '../logging/logger.js';
import { bearerCheck } from '../http/token-auth.js';
import { logAnsweredError } from '../http/log-error.js';
import type { SubmitOptions } from '../inference/worker-router.js';
import { MalformedMessage } from './grpc-inbound.js';
import type { UnaryCall, UnaryOutcome } from './grpc-transport.js';
import { fromV2Reply, toV2Item } from './grpc-tensors.js';
import { answer } from '../inference/pipeline-runner.js';
import { inferenceRoute, modelMetadata, modelReady, serverMetadata, serverReady } from './v2-model.js';

export interface GrpcServiceOptions {
  workers: WorkerRouter;
  drain: { active: boolean };
  log: Logger;
  /** With token authorization: the Inference API's key, required on ModelMetadata and ModelInfer. */
  inferenceKey?: string;
  metrics?: RequestMetrics;
}

/** `state.model`: set once the call names a registered model (its requests are counted in the metrics). */
type Handler = (call: UnaryCall, state: { model?: string }) => Promise<unknown> | unknown;

/** The service's methods by name, each answering a call with its value or its status. */
export function inferenceServiceHandlers(o: GrpcServiceOptions): Record<string, (call: UnaryCall) => Promise<UnaryOutcome>> {
  const accepts = o.inferenceKey ? bearerCheck(o.inferenceKey) : undefined;
  const { workers } = o;
  const access = o.log.child({ component: 'access' });

  /** A unary handler: its result, or its error as a gRPC status; one access line per call, like REST's. */
  const unary = (method: string, run: Handler, guarded = false) => (call: UnaryCall): Promise<UnaryOutcome> => {
    const start = performance.now();
    const state: { model?: string } = {};
    const finish = (code: number, httpStatus: number, errorCode?: string) => {
      const ms = performance.now() - start;
      if (state.model) o.metrics?.request(state.model, httpStatus, ms / 1000);
      if (access.isLevelEnabled('info')) access.info({ grpc: method, code, ms: Math.round(ms * 100) / 100, model: state.model, errorCode }, 'request');
    };
    return (async () => {
      if (guarded && accepts && !accepts(call.metadata('authorization') ?? '')) throw unauthorized();
      if (call.request instanceof MalformedMessage) throw badRequest(`Malformed protobuf message: ${call.request.reason}.`);
      return run(call, state);
    })().then(
      (value) => {
        finish(0, 200);
        return { value };
      },
      (err: unknown) => {
        const e = err instanceof ServerError ? err : internal((err as Error)?.message || String(err));
        logAnsweredError(o.log, err, e, { grpc: method });
        const code = grpcStatus(e);
        finish(code, e.status, e.code);
        return { status: code, details: truncateUtf8(e.shown, DETAILS_MAX), trailers: { 'mms-error-code': e.code } };
      },
    );
  };

  return {
    ServerLive: unary('ServerLive', () => ({ live: true })),
    ServerReady: unary('ServerReady', () => ({ ready: serverReady(workers, o.drain) })),
    ModelReady: unary('ModelReady', (call) => {
      const r = call.request as ModelRef;
      return { ready: modelReady(workers.route(r.name ?? '', r.version || undefined)) };
    }),
    ServerMetadata: unary('ServerMetadata', () => serverMetadata()),
    ModelMetadata: unary('ModelMetadata', (call) => {
      const r = call.request as ModelRef;
      return modelMetadata(workers.route(r.name ?? '', r.version || undefined), workers);
    }, true),
    ModelInfer: unary('ModelInfer', async (call, state) => {
      const req = call.request as ChunkedInferRequest;
      const route = inferenceRoute(workers, req.model_name ?? '', req.model_version);
      state.model = route.name;
      const item = toV2Item(req, randomUUID());
      return fromV2Reply(await answer(workers, route, item, callOptions(call)));
    }, true),
  };
}

/**
 * Details travel percent-encoded in the `grpc-message` trailer, and peers bound a header block (gRPC's
 * usual metadata limit is 8 KiB; the grpc-js client never completed a call whose details echoed a
 * 100 KB model name). 1 KiB of UTF-8 is at most 3 KiB percent-encoded.
 */
const DETAILS_MAX = 1024;

/** `text` cut to at most `max` UTF-8 bytes at a character boundary, `…` marking the cut. */
export function truncateUtf8(text: string, max: number): string {
  if (Buffer.byteLength(text) <= max) return text;
  let bytes = 3; // the ellipsis
  let end = 0;
  for (const ch of text) {
    bytes += Buffer.byteLength(ch);
    if (bytes > max) break;
    end += ch.length;
  }
  return `${text.slice(0, end)}…`;
}

/**
 * The call's deadline (grpc-timeout) and cancellation as the router takes them: past the deadline, or
 * once the client cancels or goes away, a request still queued is dropped and never runs.
 */
function callOptions(call: UnaryCall): SubmitOptions {
  return { deadline: call.deadline, whenGone: (cancel) => call.onCancel(cancel) };
}
