// A stock gRPC client of the Open Inference Protocol for tests: grpc-js with the service loaded by
// proto-loader from the server's own grpc_predict_v2.proto, and a promise per unary call.
import * as grpc from '@grpc/grpc-js';
import { loadInferenceService } from '../../protocol/grpc-proto.js';

export interface GrpcFailure {
  code: number;
  details: string;
  errorCode?: string;
}

export type GrpcResult<T> = { ok: true; value: T } | { ok: false; error: GrpcFailure };

export class InferenceClient {
  private readonly client: grpc.Client & Record<string, grpc.requestCallback<unknown> | unknown>;

  /** `options`: TLS credentials (else plain text) and more channel options (e.g. compression). */
  constructor(
    target: string,
    private readonly metadata: Record<string, string> = {},
    options: { credentials?: grpc.ChannelCredentials; channel?: grpc.ChannelOptions } = {},
  ) {
    const pkg = grpc.loadPackageDefinition(loadInferenceService().pkg) as unknown as { inference: { GRPCInferenceService: grpc.ServiceClientConstructor } };
    const Client = pkg.inference.GRPCInferenceService;
    this.client = new Client(target, options.credentials ?? grpc.credentials.createInsecure(), {
      'grpc.max_receive_message_length': -1,
      'grpc.max_send_message_length': -1,
      ...options.channel,
    }) as never;
  }

  /** A unary call's answer or its status (code, details, and the server's `mms-error-code` trailer). */
  /** `options`: grpc-js call options, e.g. a `deadline`. */
  call<T = any>(method: string, request: unknown, options: grpc.CallOptions = {}): Promise<GrpcResult<T>> {
    const md = new grpc.Metadata();
    for (const [k, v] of Object.entries(this.metadata)) md.set(k, v);
    return new Promise((resolve) => {
      const fn = this.client[method] as (req: unknown, md: grpc.Metadata, o: grpc.CallOptions, cb: (err: grpc.ServiceError | null, v: T) => void) => void;
      fn.call(this.client, request, md, options, (err, value) => {
        if (!err) return resolve({ ok: true, value });
        resolve({ ok: false, error: { code: err.code, details: err.details, errorCode: err.metadata?.get('mms-error-code')[0]?.toString() } });
      });
    });
  }

  /** The answer; a failed call throws with its status. */
  async ok<T = any>(method: string, request: unknown): Promise<T> {
    const r = await this.call<T>(method, request);
    if (!r.ok) throw new Error(`${method} failed: ${r.error.code} ${r.error.details}`);
    return r.value;
  }

  /** The status of a call that must fail. */
  async fails(method: string, request: unknown): Promise<GrpcFailure> {
    const r = await this.call(method, request);
    if (r.ok) throw new Error(`${method} succeeded: ${JSON.stringify(r.value)}`);
    return r.error;
  }

  close(): void {
    this.client.close();
  }
}
