// Client errors that Node or a bare listener used to answer in their own way now have the documented
// shape (docs/api.md, "Common behaviour"): a JSON body with its errorCode, x-request-id, and the
// connection closed. An HTTP/1.1 request without Host (Node's bare 400) on every listener; the
// metrics listener's 404, which left the connection open.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../helpers/server.js';

interface Exchange {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * Writes `bytes` on a fresh connection, keeping its side open, and reads until the server ends the
 * connection; fails if it has not within `graceMs` (keep-alive would hold it for 65 s).
 */
function exchange(base: string, bytes: string, graceMs = 5000): Promise<Exchange> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(url.port), url.hostname);
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the server left the connection open; it answered: ${JSON.stringify(Buffer.concat(chunks).toString('latin1').slice(0, 300))}`));
    }, graceMs);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on('end', () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(parse(Buffer.concat(chunks).toString('latin1')));
    });
    socket.write(bytes);
  });
}

function parse(text: string): Exchange {
  const split = text.indexOf('\r\n\r\n');
  const [statusLine, ...lines] = text.slice(0, split).split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const at = line.indexOf(':');
    headers[line.slice(0, at).trim().toLowerCase()] = line.slice(at + 1).trim();
  }
  let body = text.slice(split + 4);
  if (headers['transfer-encoding'] === 'chunked') body = body.replace(/^[0-9a-f]+\r\n|\r\n[0-9a-f]+\r\n(\r\n)?/gi, '');
  return { status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? 0), headers, body: Buffer.from(body, 'latin1').toString('utf8') };
}

/** The documented error: JSON with its code, a request id, the connection closed. */
function assertError(r: Exchange, status: number, errorCode: string, message: RegExp): void {
  assert.equal(r.status, status, JSON.stringify(r));
  assert.match(r.headers['content-type'] ?? '', /^application\/json/);
  assert.match(r.headers['x-request-id'] ?? '', /^[0-9a-f-]{36}$/);
  assert.equal(r.headers.connection, 'close');
  const body = JSON.parse(r.body);
  assert.deepEqual(Object.keys(body), ['code', 'type', 'message', 'errorCode']);
  assert.equal(body.code, status);
  assert.equal(body.errorCode, errorCode);
  assert.match(body.message, message);
}

describe('error shapes', { timeout: 60_000 }, () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(async () => {
    await server?.close();
  });

  it('an HTTP/1.1 request without Host: a JSON 400 on every listener', async () => {
    const listeners = { inference: ['/ping', server.inferenceUrl], management: ['/models', server.managementUrl], metrics: ['/metrics', server.metricsUrl] };
    for (const [name, [path, base]] of Object.entries(listeners)) {
      const r = await exchange(base, `GET ${path} HTTP/1.1\r\n\r\n`);
      assertError(r, 400, 'BAD_REQUEST', /Host header/);
      assert.ok(r.headers['x-request-id'], name);
    }
    // /v2 paths answer the protocol's own error shape, same status.
    const v2 = await exchange(server.inferenceUrl, 'GET /v2/health/live HTTP/1.1\r\n\r\n');
    assert.equal(v2.status, 400);
    assert.match(JSON.parse(v2.body).error, /Host header/);
    // HTTP/1.0 needs no Host; with one, HTTP/1.1 is served as before.
    assert.equal((await exchange(server.inferenceUrl, 'GET /ping HTTP/1.0\r\n\r\n')).status, 200);
    assert.equal((await exchange(server.inferenceUrl, 'GET /ping HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n')).status, 200);
  });

  it('the metrics listener: a JSON 404 with x-request-id for other paths and methods, the connection closed', async () => {
    for (const req of ['GET /other HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n', 'POST /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\n\r\nhello']) {
      const r = await exchange(server.metricsUrl, req);
      assertError(r, 404, 'RESOURCE_NOT_FOUND', /GET \/metrics/);
    }
    const ok = await exchange(server.metricsUrl, 'GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
    assert.equal(ok.status, 200);
    assert.match(ok.headers['x-request-id'] ?? '', /^[0-9a-f-]{36}$/);
    assert.match(ok.body, /mms_frontend_process_cpu_seconds_total/);
  });
});
