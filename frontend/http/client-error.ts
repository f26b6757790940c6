// Requests Node's HTTP parser refuses (bytes that are not HTTP, headers over the size limit, broken
// framing) and CONNECT never reach Koa. Node's own answer is a bare status line; ours carries the JSON
// error body of every other 4xx (docs/api.md, "Common behaviour") and closes the connection.
// An HTTP/1.1 request without Host is Node's to refuse too (a bare 400), unless the server is made with
// `requireHostHeader: false`, as ours are: each listener answers it (missingHost) as any other 400.
import http from 'node:http';
import type { Duplex } from 'node:stream';
import { badRequest, errorJson, headersTooLarge, methodNotAllowed, requestTimeout, type ServerError } from '../errors.js';

export function answerUnparsableRequests(server: http.Server): void {
  server.on('clientError', (err: NodeJS.ErrnoException & { reason?: string }, socket: Duplex) => {
    // A response already under way on this connection cannot be replaced; a gone peer needs none.
    const pending = (socket as Duplex & { _httpMessage?: http.ServerResponse })._httpMessage;
    if (err.code === 'ECONNRESET' || !socket.writable || pending?.headersSent) {
      socket.destroy();
      return;
    }
    writeAndClose(socket, toError(err));
  });
  server.on('connect', (_req: http.IncomingMessage, socket: Duplex) => writeAndClose(socket, methodNotAllowed()));
}

/** HTTP/1.1 requires a Host header (RFC 9112, section 3.2); HTTP/1.0 does not. */
export function missingHost(req: http.IncomingMessage): ServerError | undefined {
  if (req.httpVersion !== '1.1' || req.headers.host !== undefined) return undefined;
  return badRequest('Malformed HTTP request: an HTTP/1.1 request needs a Host header.');
}

function toError(err: NodeJS.ErrnoException & { reason?: string }): ServerError {
  if (err.code === 'HPE_HEADER_OVERFLOW') return headersTooLarge(http.maxHeaderSize);
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') return requestTimeout('The request was not received in time.');
  return badRequest(`Malformed HTTP request: ${err.reason ?? err.message}.`);
}

function writeAndClose(socket: Duplex, e: ServerError): void {
  const body = errorJson(e);
  socket.on('error', () => socket.destroy()); // the peer may be gone already
  socket.end(
    `HTTP/1.1 ${e.status} ${http.STATUS_CODES[e.status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
