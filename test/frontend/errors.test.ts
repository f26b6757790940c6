// The error catalogue (frontend/errors.ts): stable codes, one status and type each, and the one
// mapping of a worker's failure report.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CATALOGUE, ServerError, errorJson, fromWorker, internal, noWorker, queueFull, type ErrorCode } from '../../frontend/errors.js';

describe('error catalogue', () => {
  const codes = Object.keys(CATALOGUE) as ErrorCode[];

  it('has unique stable codes, each with a 4xx/5xx status and an MMS type', () => {
    assert.equal(new Set(codes).size, codes.length);
    assert.equal(new Set(codes.map((c) => c.toLowerCase())).size, codes.length);
    for (const code of codes) {
      const e = CATALOGUE[code];
      assert.match(code, /^[A-Z][A-Z_]*[A-Z]$/, code);
      assert.ok(Number.isInteger(e.status) && e.status >= 400 && e.status <= 599, `${code}: ${e.status}`);
      assert.match(e.type, /^[A-Z][A-Za-z]+$/, `${code}: type`);
      // Only server failures may hide their message.
      if (!e.expose) assert.ok(e.status >= 500, `${code}: unexposed 4xx`);
    }
  });

  it('renders {code, type, message, errorCode}, hiding unexposed messages', () => {
    for (const code of codes) {
      const body = new ServerError(code, 'detail').toJSON();
      assert.deepEqual(Object.keys(body), ['code', 'type', 'message', 'errorCode']);
      assert.equal(body.errorCode, code);
      assert.equal(body.code, CATALOGUE[code].status);
      assert.equal(body.message, CATALOGUE[code].expose ? 'detail' : 'Internal server error');
    }
    const leak = internal('ENOENT: /srv/secret/path');
    assert.equal(leak.code, 'INTERNAL');
    assert.doesNotMatch(errorJson(leak), /secret/);
    assert.match(errorJson(leak), /^\{\n {2}"code": 500,\n[\s\S]*\}\n$/);
  });

  it('tells a full queue from a model without workers', () => {
    assert.equal(queueFull('m').code, 'QUEUE_FULL');
    assert.equal(noWorker('m').code, 'NO_WORKER');
    for (const e of [queueFull('m'), noWorker('m')]) {
      assert.equal(e.status, 503);
      assert.equal(e.headers['Retry-After'], '1');
    }
  });

  it('maps a worker failure to HANDLER_ERROR with the handler status and type', () => {
    assert.deepEqual(fromWorker(422, 'BadRequestException', 'bad input').toJSON(),
      { code: 422, type: 'BadRequestException', message: 'bad input', errorCode: 'HANDLER_ERROR' });
    assert.deepEqual(fromWorker(503, '', 'number of batch response mismatched').toJSON(),
      { code: 503, type: 'InternalServerException', message: 'number of batch response mismatched', errorCode: 'HANDLER_ERROR' });
    assert.equal(fromWorker(200, '', '').status, 500);
    assert.equal(fromWorker(200, '', '').message, 'Prediction failed');
  });
});
