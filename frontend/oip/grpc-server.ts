// The gRPC listener of an inference front (or of the controller when it serves inference itself):
// grpc_inference_address, message limits from max_request_size / max_response_size (grpc-js would
// allow 4 MiB in), TLS from the same key and certificate files as https listeners, and a graceful
// stop that lets calls in flight finish up to the shutdown deadline.
import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { loadInferenceService } from '../../protocol/grpc-proto.js';
import type { Address } from '../config/address.js';
import type { ServerConfig } from '../config/server-config.js';
import { inferenceServiceHandlers, type GrpcServiceOptions } from './grpc-service.js';

export interface GrpcListener {
  /** Where it listens: `host:port` (port 0 resolved) or `unix:/path`. */
  url: string;
  /** Stops taking calls; those in flight finish until the deadline, then every stream is cut. */
  close(deadlineMs: number): Promise<void>;
}

type Limits = Pick<ServerConfig, 'maxRequestSize' | 'maxResponseSize' | 'tls'>;

export async function startGrpc(address: Address, config: Limits, service: GrpcServiceOptions): Promise<GrpcListener> {
  const server = new grpc.Server({
    'grpc.max_receive_message_length': config.maxRequestSize,
    'grpc.max_send_message_length': config.maxResponseSize,
  });
  server.addService(loadInferenceService().definition, inferenceServiceHandlers(service));
  const target = address.kind === 'unix' ? `unix:${address.path}` : `${address.host.includes(':') ? `[${address.host}]` : address.host}:${address.port}`;
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(target, credentials(address, config), (err, p) => (err ? reject(err) : resolve(p))),
  );
  const url = address.kind === 'unix' ? target : target.replace(/:\d+$/, `:${port}`);
  return {
    url,
    close: (deadlineMs) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(() => server.forceShutdown(), deadlineMs);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      }),
  };
}

function credentials(address: Address, config: Limits): grpc.ServerCredentials {
  if (address.scheme === 'http') return grpc.ServerCredentials.createInsecure();
  const { privateKeyFile, certificateFile } = config.tls;
  if (!privateKeyFile || !certificateFile) throw new Error('an https grpc_inference_address needs private_key_file and certificate_file');
  return grpc.ServerCredentials.createSsl(null, [{ private_key: readFileSync(privateKeyFile), cert_chain: readFileSync(certificateFile) }]);
}
