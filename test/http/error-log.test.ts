// What the server logs for an error it answers (docs/configuration.md, "Logs"): a refusal (503 NO_WORKER)
// or a client error (404) is no error line with a stack trace, only short lines (a flood of them, e.g.
// requests to a model without workers, must not grow the log by a kilobyte each); a handler's failure
// (500) is a fault and keeps its stack. Inference and management share one address, so the controller
// serves inference itself and its log (captured here) holds every line of a request.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { writeHandlerModelDir } from '../helpers/fixtures.js';
import { captureLogs } from '../helpers/raw-http.js';
import { request, sharedAddress, startTestServer, type TestServer } from '../helpers/server.js';

describe('error log lines', { timeout: 60_000 }, () => {
  let server: TestServer;
  const logs = captureLogs();

  /** The log lines written for the request with this id (every line that names it, or its path). */
  const linesOf = (requestId: string, p: string) =>
    logs.records.filter((r) => r.requestId === requestId || r.path === p).map((r) => JSON.stringify(r));

  before(async () => {
    const address = await sharedAddress();
    server = await startTestServer({ inference_address: address, management_address: address }, undefined, logs.log);
    writeHandlerModelDir(path.join(server.store, 'idle'), 'idle');
    writeHandlerModelDir(path.join(server.store, 'echo'), 'echo');
    assert.equal((await request(`${server.managementUrl}/models?url=idle&initial_workers=0`, { method: 'POST' })).status, 200);
    assert.equal((await request(`${server.managementUrl}/models?url=echo&initial_workers=1&synchronous=true`, { method: 'POST' })).status, 200);
  });
  after(() => server?.close());

  for (const [what, p, status, code] of [
    ['503 NO_WORKER', '/predictions/idle', 503, 'NO_WORKER'],
    ['404', '/no/such/path', 404, 'RESOURCE_NOT_FOUND'],
  ] as const) {
    it(`a ${what} is logged in short lines without a stack`, async () => {
      const access = logs.next((r) => r.component === 'access' && r.path === p);
      const r = await request(`${server.inferenceUrl}${p}`, { method: 'POST', body: 'x' });
      assert.equal(r.status, status);
      assert.equal(r.body.errorCode, code);
      const line = await access;
      assert.equal(line.errorCode, code, 'the access line names the error');
      const lines = linesOf(line.requestId, p);
      assert.ok(lines.length > 0);
      for (const l of lines) {
        assert.doesNotMatch(l, /"stack"|"err"/, `a stack logged: ${l.slice(0, 300)}`);
        assert.ok(l.length < 400, `a ${l.length}-byte line: ${l.slice(0, 300)}`);
      }
      assert.ok(!logs.records.some((rec) => rec.level >= 50 && rec.path === p), 'no error-level line');
    });
  }

  it("a handler's failure (500) keeps its error line with the stack", async () => {
    const logged = logs.next((r) => r.level >= 50 && r.path === '/predictions/echo');
    const r = await request(`${server.inferenceUrl}/predictions/echo`, { method: 'POST', body: 'throw' });
    assert.equal(r.status, 500);
    const line = await logged;
    assert.equal(line.errorCode, 'HANDLER_ERROR');
    assert.match(String(line.err?.stack), /\n\s+at /);
  });
});
