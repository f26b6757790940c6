// The gRPC listener of an inference front (or of the controller when it serves inference itself):
// grpc_inference_address, message limits from max_request_size / max_response_size, TLS from the same
// keystore or key and certificate files as https listeners, and a graceful stop that lets calls in
// flight finish up to the shutdown deadline. Calls are served by grpc-transport.ts over node:http2.
import { readFileSync } from 'node:fs';
import { once } from 'node:events';
import http2 from 'node:http2';
import { loadInferenceService } from '../../protocol/grpc-proto.js';
import type { Address } from '../config/address.js';
import type { ServerConfig } from '../config/server-config.js';
import { LISTEN_BACKLOG } from '../http/listen.js';
import { decodeInferRequest } from './grpc-infer-decode.js';
import { inferenceServiceHandlers, type GrpcServiceOptions } from './grpc-service.js';
import { unaryCalls, type UnaryMethod } from './grpc-transport.js';

export interface GrpcListener {
  /** Where it listens: `host:port` (port 0 resolved) or `unix:/path`. */
  url: string;
  /** Stops taking calls; those in flight finish until the deadline, then every stream is cut. */
  close(deadlineMs: number): Promise<void>;
}

type Limits = Pick<ServerConfig, 'maxRequestSize' | 'maxResponseSize' | 'tls'>;

export async function startGrpc(address: Address, config: Limits, service: GrpcServiceOptions): Promise<GrpcListener> {
  const { definition } = loadInferenceService();
  const handlers = inferenceServiceHandlers(service);
  const methods = new Map<string, UnaryMethod>(Object.entries(handlers).map(([name, handle]) => {
    const m = definition[name];
    const whole = (chunks: Buffer[], start: number) => m.requestDeserialize((chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)).subarray(start));
    // ModelInfer's tensors stay in the chunks they came in (grpc-infer-decode.ts); the rest are small.
    const deserialize = name === 'ModelInfer' ? (chunks: Buffer[], start: number) => decodeInferRequest(chunks, start, m.requestDeserialize) : whole;
    return [m.path, { deserialize, serialize: m.responseSerialize as (v: unknown) => Buffer, handle }];
  }));
  const { stream, connection } = flowControl(config.maxRequestSize);
  const options: http2.ServerOptions = {
    // One DATA frame may carry a whole message: fewer frames to parse.
    settings: { initialWindowSize: stream, maxFrameSize: 2 ** 24 - 1 },
    // Node refuses streams once a session buffers 10 MB; tensors are that large. (grpc-js lifts it too.)
    maxSessionMemory: Number.MAX_SAFE_INTEGER,
  };
  const server = address.scheme === 'https' ? http2.createSecureServer({ ...options, ...tlsOptions(config) }) : http2.createServer(options);
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on('session', (session: http2.ServerHttp2Session) => {
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
    session.on('error', () => undefined); // a connection reset; its streams' calls are cancelled
    session.setLocalWindowSize(connection);
  });
  server.on('stream', unaryCalls(methods, { maxReceive: config.maxRequestSize, maxSend: config.maxResponseSize }));

  const listening = Promise.race([once(server, 'listening'), once(server, 'error').then(([err]) => Promise.reject(err))]);
  if (address.kind === 'unix') server.listen({ path: address.path, backlog: LISTEN_BACKLOG });
  else server.listen({ host: address.host, port: address.port, backlog: LISTEN_BACKLOG });
  await listening;
  const bound = server.address();
  const port = typeof bound === 'object' && bound ? bound.port : 0;
  const url = address.kind === 'unix' ? `unix:${address.path}` : `${address.host.includes(':') ? `[${address.host}]` : address.host}:${port}`;
  return {
    url,
    close: async (deadlineMs) => {
      const closed = once(server, 'close');
      server.close();
      for (const s of sessions) s.close(); // GOAWAY: no new calls, those in flight finish
      const timer = setTimeout(() => {
        for (const s of sessions) s.destroy();
      }, deadlineMs);
      await closed;
      clearTimeout(timer);
    },
  };
}

/**
 * HTTP/2 lets a client send only 64 KiB per stream and per connection until the server acknowledges
 * it; a tensor message is larger (cls: 110 KB), so each call would wait for the front's event loop to
 * send WINDOW_UPDATEs, a delay of a whole scheduling slice on a busy host (HTTP/1.1 bodies just fill the
 * kernel's socket buffers). Windows of one largest request per stream, eight per connection, let a
 * message arrive in one go.
 */
function flowControl(maxRequestSize: number): { stream: number; connection: number } {
  const MAX_WINDOW = 2 ** 31 - 1;
  const stream = Math.min(MAX_WINDOW, Math.max(65_535, maxRequestSize + 1024));
  return { stream, connection: Math.min(MAX_WINDOW, stream * 8) };
}

function tlsOptions(config: Limits): http2.SecureServerOptions {
  const { keystore, keystorePass, privateKeyFile, certificateFile } = config.tls;
  if (keystore) return { pfx: readFileSync(keystore), passphrase: keystorePass };
  if (privateKeyFile && certificateFile) return { key: readFileSync(privateKeyFile), cert: readFileSync(certificateFile) };
  throw new Error('an https grpc_inference_address needs keystore, or private_key_file and certificate_file');
}
