// Back-pressure: each inference front admits at most
//   job_queue_size + workers × 2 × batch_size
// requests per model that it has not answered yet (router-state.ts admissionLimit: the job queue plus
// what each worker runs and holds next). Past that, a request is refused at once with
// 503 ServiceUnavailableException + Retry-After instead of waiting; other models keep serving, the
// admitted ones are answered once the workers free up, and the /metrics gauge mms_queue_depth (admitted
// and unanswered, per model, summed over the fronts) shows the count. Bodies over max_request_size get 413.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { writeHandlerModelDir } from '../helpers/fixtures.js';
import { metricValue } from '../helpers/metrics.js';
import { eventually, request, startTestServer, type TestServer } from '../helpers/server.js';

const MAX_REQUEST_SIZE = 1024;
const JOB_QUEUE_SIZE = 2;

/** The admission rule, per front (frontend/inference/router-state.ts `admissionLimit`). */
const admittedPerFront = (o: { workers: number; batchSize: number }) => JOB_QUEUE_SIZE + o.workers * 2 * o.batchSize;

describe('back-pressure', () => {
  let server: TestServer;
  let releases = 0;
  const releaseFiles: string[] = [];

  const probe = (model: string, text: string) =>
    request(`${server.inferenceUrl}/predictions/${model}`, { method: 'POST', body: text, headers: { 'content-type': 'text/plain' } });
  const depth = (model: string) => metricValue(server.metricsUrl, 'mms_queue_depth', { model });

  before(async () => {
    server = await startTestServer({ job_queue_size: String(JOB_QUEUE_SIZE), max_request_size: String(MAX_REQUEST_SIZE) });
    writeHandlerModelDir(path.join(server.store, 'probe'), 'probe', 'batch-probe.mjs');
    for (const query of [
      'model_name=busy&initial_workers=1',
      'model_name=wide&initial_workers=2&batch_size=2&max_batch_delay=50',
      'model_name=other&initial_workers=1',
    ]) {
      const r = await request(`${server.managementUrl}/models?url=probe&${query}`, { method: 'POST' });
      assert.equal(r.status, 200, JSON.stringify(r.body));
    }
  });
  after(async () => {
    // Frees every held request, so a failed assertion does not leave the close waiting.
    for (const file of releaseFiles) writeFileSync(file, '');
    await server.close();
  });

  /**
   * Fills `model` with exactly its limit of held requests (all of them are admitted: none reaches the
   * limit), then checks the next ones are refused at once while the held ones still wait.
   */
  async function fillAndOverflow(model: string, expected: number) {
    const release = path.join(server.store, `release-${++releases}`);
    releaseFiles.push(release);
    const texts = Array.from({ length: expected }, (_, i) => `wait:${release}#${i}`);
    const held = texts.map((text) => probe(model, text));
    // Admission happens in the front process: its gauge is the only view of it.
    await eventually(async () => (await depth(model)) === expected);
    for (let i = 0; i < 3; i++) {
      const r = await probe(model, `one too many ${i}`);
      assert.equal(r.status, 503, JSON.stringify(r.body));
      assert.match(r.headers.get('retry-after') ?? '', /^\d+$/, 'Retry-After is a number of seconds');
      assert.match(r.headers.get('content-type') ?? '', /application\/json/);
      assert.equal(r.body.code, 503);
      assert.equal(r.body.type, 'ServiceUnavailableException');
      assert.match(r.body.message, new RegExp(model));
    }
    assert.equal(await depth(model), expected, 'refused requests are not admitted');
    return { held, texts, release };
  }

  it('a full model answers 503 with Retry-After at once; other models keep serving; the admitted ones are answered', async () => {
    const fronts = server.frontPids().length;
    assert.equal(fronts, 1, 'a test server on this host runs one inference front');
    // busy: 1 worker, batch_size 1 → 2 + 1×2×1 = 4 admitted requests.
    const expected = admittedPerFront({ workers: 1, batchSize: 1 });
    assert.equal(expected, 4);
    const busy = await fillAndOverflow('busy', expected);

    // Another model on the same server is not affected by the full one.
    for (let i = 0; i < 3; i++) {
      const r = await probe('other', `other ${i}`);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.text, `other ${i}`);
    }
    assert.equal(await depth('other'), 0);
    assert.equal(await depth('busy'), expected, 'the full model still holds its requests');

    writeFileSync(busy.release, '');
    const done = await Promise.all(busy.held);
    assert.deepEqual(done.map((r) => r.status), Array(expected).fill(200));
    assert.deepEqual(done.map((r) => r.body.text), busy.texts, 'each admitted request gets its own answer');
    assert.ok(done.every((r) => r.body.batch === 1), 'batch_size 1: one request per batch');
    assert.equal(new Set(done.map((r) => r.body.pid)).size, 1, 'all served by the one worker of "busy"');
    assert.equal(await depth('busy'), 0, 'answered requests leave the count');

    // Room again.
    const again = await probe('busy', 'after');
    assert.equal(again.status, 200);
    assert.equal(again.body.text, 'after');
  });

  it('the limit grows with workers and batch_size', async () => {
    // wide: 2 workers, batch_size 2 → 2 + 2×2×2 = 10 admitted requests.
    const expected = admittedPerFront({ workers: 2, batchSize: 2 });
    assert.equal(expected, 10);
    const wide = await fillAndOverflow('wide', expected);
    writeFileSync(wide.release, '');
    const done = await Promise.all(wide.held);
    assert.deepEqual(done.map((r) => r.status), Array(expected).fill(200));
    assert.deepEqual(done.map((r) => r.body.text), wide.texts);
    assert.ok(done.every((r) => r.body.batch >= 1 && r.body.batch <= 2), 'batches of at most batch_size');
    assert.equal(new Set(done.map((r) => r.body.pid)).size, 2, 'both workers took requests');
    assert.equal(await depth('wide'), 0);
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
