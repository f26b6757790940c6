// Listeners for every process that serves HTTP (controller and fronts): http or https by the
// address's scheme, JSON answers to requests Node's parser refuses, listen on host:port or a Unix
// socket, and a graceful close that lets in-flight requests finish up to a deadline.
import http from 'node:http';
import https from 'node:https';
import { readFileSync } from 'node:fs';
import { once } from 'node:events';
import type { ServerConfig } from '../config/server-config.js';
import { formatAddress, type Address } from '../config/address.js';
import type { Logger } from '../logging/logger.js';
import { answerUnparsableRequests } from './client-error.js';

export function createHttpServer(address: Address, config: Pick<ServerConfig, 'tls'>, handler: http.RequestListener): http.Server {
  const server = createNodeServer(address, config, handler);
  answerUnparsableRequests(server);
  return server;
}

/** A missing Host is answered by the handler, as a JSON 400 (client-error.ts missingHost), not Node's bare one. */
const HOST_CHECKED_BY_HANDLER = { requireHostHeader: false };

function createNodeServer(address: Address, config: Pick<ServerConfig, 'tls'>, handler: http.RequestListener): http.Server {
  if (address.scheme === 'http') return http.createServer({ keepAliveTimeout: 65_000, ...HOST_CHECKED_BY_HANDLER }, handler);
  const { tls } = config;
  if (tls.keystore) return https.createServer({ pfx: readFileSync(tls.keystore), passphrase: tls.keystorePass, ...HOST_CHECKED_BY_HANDLER }, handler);
  if (tls.privateKeyFile && tls.certificateFile) {
    return https.createServer({ key: readFileSync(tls.privateKeyFile), cert: readFileSync(tls.certificateFile), ...HOST_CHECKED_BY_HANDLER }, handler);
  }
  throw new Error('https addresses need keystore, or private_key_file and certificate_file');
}

/**
 * The accept queue every listener asks for. Node's default, 511, overflowed at 3,000 connections
 * opened at once (a few were reset); the kernel caps what is asked at net.core.somaxconn (4096 on
 * Linux 5.4 and later), so that sysctl is the one setting an operator tunes (docs/configuration.md,
 * "Listen backlog"). Under node:cluster each front listens on the shared socket with it too.
 */
export const LISTEN_BACKLOG = 65_535;

/** Listens; resolves with the bound address as a URL (with port 0, the chosen port). */
export async function listen(server: http.Server, address: Address): Promise<string> {
  const done = Promise.race([once(server, 'listening'), once(server, 'error').then(([err]) => Promise.reject(err))]);
  if (address.kind === 'unix') server.listen({ path: address.path, backlog: LISTEN_BACKLOG });
  else server.listen({ port: address.port, host: address.host, backlog: LISTEN_BACKLOG });
  await done;
  if (address.kind === 'unix') return formatAddress(address);
  const bound = server.address();
  return formatAddress({ ...address, port: typeof bound === 'object' && bound ? bound.port : address.port });
}

/** Stops accepting, closes idle connections, waits for the rest up to `deadlineMs`, then cuts them. */
export async function closeGracefully(servers: http.Server[], deadlineMs: number, log: Logger): Promise<void> {
  const closed = Promise.all(servers.map((s) => {
    const done = once(s, 'close');
    s.close();
    s.closeIdleConnections();
    return done;
  }));
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), deadlineMs)));
  if ((await Promise.race([closed, deadline])) === 'late') {
    log.warn('graceful shutdown deadline passed; closing open connections');
    for (const s of servers) s.closeAllConnections();
    await closed;
  }
  clearTimeout(timer);
}
