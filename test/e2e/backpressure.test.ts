// Back-pressure: a model's queue is bounded by job_queue_size; once full, the next request is refused
// at once with 503 + Retry-After instead of waiting, other models keep serving, and the queued ones
// are answered when the worker frees up. Bodies over max_request_size get 413.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { writeHandlerModelDir } from '../helpers/fixtures.js';
import { eventually, request, startTestServer, type JsonResponse, type TestServer } from '../helpers/server.js';

const MAX_REQUEST_SIZE = 1024;

describe('back-pressure', () => {
  let server: TestServer;

  const probe = (model: string, text: string) =>
    request(`${server.inferenceUrl}/predictions/${model}`, { method: 'POST', body: text, headers: { 'content-type': 'text/plain' } });
  const pool = (model: string) => server.registry.get(model).pool;

  before(async () => {
    server = await startTestServer({ job_queue_size: '2', max_request_size: String(MAX_REQUEST_SIZE) });
    writeHandlerModelDir(path.join(server.store, 'probe'), 'probe', 'batch-probe.mjs');
    for (const name of ['busy', 'other']) {
      const r = await request(`${server.managementUrl}/models?url=probe&model_name=${name}&initial_workers=1`, { method: 'POST' });
      assert.equal(r.status, 200, JSON.stringify(r.body));
    }
  });
  after(() => server.close());

  it('a full queue answers 503 with Retry-After at once; other models keep serving; the queued ones are answered', async () => {
    const release = path.join(server.store, 'release-busy');
    // Frees the held worker on the way out too, so a failed assertion does not leave requests hanging.
    try {
      // The only worker of "busy" is held until the file exists.
      const blocker = probe('busy', `wait:${release}`);
      await eventually(() => pool('busy').workers[0].state === 'BUSY');
      // A worker holds two batches (one running, one waiting in its socket) and batch_size is 1: of
      // the next three, whichever arrives first is sent behind the blocker at once, the other two
      // fill the queue (job_queue_size 2). Nothing leaves the queue while the blocker is held.
      const texts = ['q1', 'q2', 'q3'];
      const queued = texts.map((text) => probe('busy', text));
      await eventually(() => pool('busy').queue.length === 2);
      const described = await request(`${server.managementUrl}/models/busy`);
      assert.equal(described.status, 200);
      assert.equal(described.body.queueDepth, 2, 'describe reports the full queue');

      // Refused while the worker is still held: it was not queued behind it.
      for (let i = 0; i < 3; i++) {
        const r = await probe('busy', 'one too many');
        assert.equal(r.status, 503, JSON.stringify(r.body));
        assert.match(r.headers.get('retry-after') ?? '', /^\d+$/, 'Retry-After is a number of seconds');
        assert.match(r.headers.get('content-type') ?? '', /application\/json/);
        assert.equal(r.body.code, 503);
        assert.equal(r.body.type, 'ServiceUnavailableException');
        assert.match(r.body.message, /busy/);
      }
      assert.equal(pool('busy').queue.length, 2, 'refused requests take no queue slot');
      assert.equal(pool('busy').workers[0].state, 'BUSY');

      // Another model on the same server is not affected by the full queue.
      for (let i = 0; i < 3; i++) {
        const r = await probe('other', `other ${i}`);
        assert.equal(r.status, 200, JSON.stringify(r.body));
        assert.equal(r.body.text, `other ${i}`);
      }

      writeFileSync(release, '');
      const done = await Promise.all([blocker, ...queued]);
      assert.deepEqual(done.map((r) => r.status), [200, 200, 200, 200]);
      assert.deepEqual(done.map((r) => r.body.text), [`wait:${release}`, ...texts]);
      assert.equal(new Set(done.map((r) => r.body.pid)).size, 1, 'all served by the one worker of "busy"');
    } finally {
      writeFileSync(release, '');
    }

    // Room again.
    const again = await probe('busy', 'after');
    assert.equal(again.status, 200);
    assert.equal(again.body.text, 'after');
  });

  it('a body over max_request_size (by Content-Length) gets 413 JSON; one at the limit is served', async () => {
    const big = await probe('other', 'x'.repeat(MAX_REQUEST_SIZE + 1));
    assert.equal(big.status, 413, JSON.stringify(big.body));
    assert.match(big.headers.get('content-type') ?? '', /application\/json/);
    assert.equal(big.body.code, 413);
    assert.equal(big.body.type, 'RequestEntityTooLargeException');
    assert.match(big.body.message, /max_request_size/);

    const atLimit = await probe('other', 'y'.repeat(MAX_REQUEST_SIZE));
    assert.equal(atLimit.status, 200);
    assert.equal(atLimit.body.text.length, MAX_REQUEST_SIZE);
  });

  it('a chunked body (no Content-Length) that grows past max_request_size gets 413 JSON', async () => {
    const { hostname, port } = new URL(server.inferenceUrl);
    const res = await new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>((resolve, reject) => {
      const req = http.request({ host: hostname, port, method: 'POST', path: '/predictions/other', headers: { 'content-type': 'text/plain' } });
      req.on('response', (r) => {
        let body = '';
        r.setEncoding('utf8');
        r.on('data', (c: string) => (body += c));
        r.on('end', () => resolve({ status: r.statusCode ?? 0, headers: r.headers, body }));
        r.on('error', reject);
      });
      req.on('error', reject);
      // Chunked: the server only learns the size as it reads.
      req.write('a'.repeat(700));
      req.end('b'.repeat(700));
    });
    assert.equal(res.status, 413, res.body);
    assert.match(String(res.headers['content-type']), /application\/json/);
    const body = JSON.parse(res.body);
    assert.equal(body.code, 413);
    assert.equal(body.type, 'RequestEntityTooLargeException');
  });
});
