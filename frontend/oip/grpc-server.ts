// The gRPC listener of an inference front (or of the controller when it serves inference itself):
// grpc_inference_address, message limits from max_request_size / max_response_size (grpc-js would
// allow 4 MiB in), TLS from the same key and certificate files as https listeners, and a graceful
// stop that lets calls in flight finish up to the shutdown deadline.
import { readFileSync } from 'node:fs';
import type http2 from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import { loadInferenceService } from '../../protocol/grpc-proto.js';
import type { Address } from '../config/address.js';
import type { ServerConfig } from '../config/server-config.js';
import { LISTEN_BACKLOG } from '../http/listen.js';
import { inferenceServiceHandlers, type GrpcServiceOptions } from './grpc-service.js';
import { dropUnboundedDeadlines, tolerantDeserializers } from './grpc-inbound.js';

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
    // Channelz's per-call bookkeeping costs a few per cent of a front's time per call; nothing reads it.
    'grpc.enable_channelz': 0,
  });
  server.addService(tolerantDeserializers(loadInferenceService().definition), inferenceServiceHandlers(service));
  const target = address.kind === 'unix' ? `unix:${address.path}` : `${address.host.includes(':') ? `[${address.host}]` : address.host}:${address.port}`;
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(target, credentials(address, config), (err, p) => (err ? reject(err) : resolve(p))),
  );
  const url = address.kind === 'unix' ? target : target.replace(/:\d+$/, `:${port}`);
  // grpc-js's own HTTP/2 listeners: a private field, the only way to reach them.
  const listeners = (server as unknown as { http2Servers?: Map<http2.Http2Server, unknown> }).http2Servers;
  for (const h of listeners?.keys() ?? []) {
    widenFlowControl(h, config.maxRequestSize);
    widenBacklog(h);
    dropUnboundedDeadlines(h);
  }
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

/**
 * HTTP/2 lets a client send only 64 KiB per stream and per connection until the server acknowledges
 * it; a tensor message is larger (cls: 110 KB), so each call would wait for the front's event loop to
 * send WINDOW_UPDATEs, a delay of a whole scheduling slice on a busy host (HTTP/1.1 bodies just fill the
 * kernel's socket buffers). Windows of one largest request per stream, eight per connection, let a
 * message arrive in one go. grpc-js has no server option for it: its listeners (its `http2Servers`)
 * get the settings here (Node's Http2Server.updateSettings and Http2Session.setLocalWindowSize).
 */
function widenFlowControl(h: http2.Http2Server, maxRequestSize: number): void {
  const MAX_WINDOW = 2 ** 31 - 1;
  const MAX_FRAME = 2 ** 24 - 1; // one DATA frame may carry a whole message: fewer frames to parse
  const stream = Math.min(MAX_WINDOW, Math.max(65_535, maxRequestSize + 1024));
  const connection = Math.min(MAX_WINDOW, stream * 8);
  h.updateSettings({ initialWindowSize: stream, maxFrameSize: MAX_FRAME });
  h.on('session', (session: http2.ServerHttp2Session) => session.setLocalWindowSize(connection));
}

/**
 * grpc-js listens with Node's default accept queue (511) and has no option for it. listen(2) again on
 * the listening socket (through Node's handle, a private field) only sets its backlog: the HTTP
 * listeners' LISTEN_BACKLOG, capped by the kernel at net.core.somaxconn.
 */
function widenBacklog(h: http2.Http2Server): void {
  const handle = (h as unknown as { _handle?: { listen?(backlog: number): number } })._handle;
  handle?.listen?.(LISTEN_BACKLOG);
}

function credentials(address: Address, config: Limits): grpc.ServerCredentials {
  if (address.scheme === 'http') return grpc.ServerCredentials.createInsecure();
  const { privateKeyFile, certificateFile } = config.tls;
  if (!privateKeyFile || !certificateFile) throw new Error('an https grpc_inference_address needs private_key_file and certificate_file');
  return grpc.ServerCredentials.createSsl(null, [{ private_key: readFileSync(privateKeyFile), cert_chain: readFileSync(certificateFile) }]);
}
