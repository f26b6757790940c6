// A client that goes away in the middle of its request body is not a server error: no error line with
// a stack, no 500 in the access log or the request metrics (docs/api.md, Metrics).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import path from 'node:path';
import { once } from 'node:events';
import { writeHandlerModelDir } from '../helpers/fixtures.js';
import { request, sharedAddress, startTestServer, type TestServer } from '../helpers/server.js';
import { captureLogs } from '../helpers/raw-http.js';

describe('client aborts mid-body', () => {
  let s: TestServer;
  const logs = captureLogs();
  before(async () => {
    // One shared listener: inference is served by the controller, whose logs the test captures.
    const address = await sharedAddress();
    s = await startTestServer({ inference_address: address, management_address: address }, undefined, logs.log);
    writeHandlerModelDir(path.join(s.store, 'echo'), 'echo');
    const reg = await request(`${s.managementUrl}/models?url=echo&initial_workers=0`, { method: 'POST' });
    assert.equal(reg.status, 200);
  });
  after(() => s.close());

  /** Sends the headers and half of the declared body, then destroys the socket once the server has the half. */
  async function abortMidBody(pathname: string, contentType: string): Promise<void> {
    const { hostname, port } = new URL(s.inferenceUrl);
    const socket = net.connect(Number(port), hostname);
    await once(socket, 'connect');
    const closed = once(socket, 'close');
    const accessLogged = logs.next((r) => r.component === 'access' && r.path === pathname);
    socket.write(`POST ${pathname} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nContent-Type: ${contentType}\r\nContent-Length: 1000\r\n\r\n`);
    socket.write(Buffer.alloc(500, 1), () => socket.destroy());
    await closed;
    await accessLogged; // the server has finished with the request
  }

  it('is neither logged as an error with a stack nor counted as a 500', async () => {
    const start = logs.records.length;
    await abortMidBody('/predictions/echo', 'application/octet-stream');
    await abortMidBody('/models', 'application/json'); // management body reader too
    const errors = logs.records.filter((r) => r.level >= 50 || r.err?.stack);
    assert.deepEqual(errors, []);
    const access = logs.records.slice(start).filter((r) => r.component === 'access' && (r.path === '/predictions/echo' || r.path === '/models') && r.method === 'POST');
    assert.equal(access.length, 2);
    for (const r of access) assert.equal(r.status, 499, JSON.stringify(r));
    const metrics = await (await fetch(`${s.metricsUrl}/metrics`)).text();
    assert.doesNotMatch(metrics, /mms_requests_total\{[^}]*status="5\d\d"/);
    assert.match(metrics, /mms_requests_total\{model="echo",status="499"\} 1/);
  });
});
