// Each failure a worker reports keeps its own catalogue code on the wire (frontend/errors.ts
// `fromWorker`): bad handler output, an answer over max_response_size and out of memory are not
// collapsed into HANDLER_ERROR; a handler's own error still is.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { CATALOGUE, GRPC, ServerError, fromWorker, grpcStatus, type ErrorCode } from '../../frontend/errors.js';
import { writeHandlerModelDir } from '../helpers/fixtures.js';
import { request, startTestServer, type TestServer } from '../helpers/server.js';

describe('worker failures keep their codes', { timeout: 120_000 }, () => {
  let server: TestServer;
  const predict = (body: string) =>
    request(`${server.inferenceUrl}/predictions/fail`, { method: 'POST', body, headers: { 'content-type': 'text/plain' } });

  const expectCode = async (body: string, errorCode: ErrorCode, message: RegExp, status: number = CATALOGUE[errorCode].status) => {
    const r = await predict(body);
    assert.equal(r.status, status, JSON.stringify(r.body));
    assert.equal(r.body.errorCode, errorCode, JSON.stringify(r.body));
    assert.equal(r.body.code, status);
    assert.equal(r.body.type, CATALOGUE[errorCode].type);
    assert.match(r.body.message, message);
  };

  before(async () => {
    server = await startTestServer({ max_response_size: '4096' });
    writeHandlerModelDir(path.join(server.store, 'fail'), 'fail', 'failures.mjs');
    const r = await request(`${server.managementUrl}/models?url=fail&initial_workers=1&synchronous=true`, { method: 'POST' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
  });
  after(() => server?.close());

  it('HANDLER_BAD_OUTPUT (503): not a list, the wrong length, a result JSON cannot write', async () => {
    await expectCode('not-a-list', 'HANDLER_BAD_OUTPUT', /^Invalid model predict output$/);
    await expectCode('short', 'HANDLER_BAD_OUTPUT', /^number of batch response mismatched$/);
    await expectCode('bigint', 'HANDLER_BAD_OUTPUT', /^Unsupported model output data type: .*BigInt/);
  });

  it('RESPONSE_TOO_LARGE (500): an answer over max_response_size, the connection serving on', async () => {
    await expectCode('big:5000', 'RESPONSE_TOO_LARGE', /^Response of 5000 bytes exceeds max_response_size \(4096 bytes\)\.$/);
    const ok = await predict('big:4000');
    assert.equal(ok.status, 200);
  });

  it('OUT_OF_MEMORY (507): a failed allocation, or a handler that chose 507', async () => {
    await expectCode('oom', 'OUT_OF_MEMORY', /allocation failed/);
    await expectCode('status:507', 'OUT_OF_MEMORY', /^handler failed with 507 on purpose$/);
  });

  it("a handler's own failure stays HANDLER_ERROR with its status", async () => {
    await expectCode('status:503', 'HANDLER_ERROR', /^handler failed with 503 on purpose$/, 503);
    assert.equal((await predict('fine')).body, 'fine');
  });

  it('a frame the worker dropped names CLIENT_CLOSED or DEADLINE_EXCEEDED; gRPC statuses follow the codes', () => {
    // The front answered these requests already (the client left, the deadline passed), so no client
    // sees them; the worker's reply still says why (batch-former.test.ts) and maps to its own entry.
    assert.equal(fromWorker(499, 'RequestCancelledException', 'Request cancelled before its batch ran', 'CLIENT_CLOSED').code, 'CLIENT_CLOSED');
    assert.equal(fromWorker(499, 'RequestCancelledException', 'Request deadline passed before its batch ran', 'DEADLINE_EXCEEDED').status, 504);
    const grpc = (code: ErrorCode) => grpcStatus(new ServerError(code, 'x'));
    assert.deepEqual(
      [grpc('CLIENT_CLOSED'), grpc('HANDLER_BAD_OUTPUT'), grpc('RESPONSE_TOO_LARGE'), grpc('OUT_OF_MEMORY')],
      [GRPC.CANCELLED, GRPC.UNAVAILABLE, GRPC.INTERNAL, GRPC.RESOURCE_EXHAUSTED],
    );
  });
});
