// The console's routes on the management listener (docs/api.md, "Console"): the page and its files
// are open and carry a same-origin-only Content-Security-Policy; the summary the page samples sits
// behind the Management API's token and Host/Origin checks, and holds every model as describe shows
// it with the fronts' request counters summed per model.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { traffic } from '../../frontend/control/console-summary.js';
import { fakeNvidiaSmi, h200Rows } from '../helpers/fake-nvidia-smi.js';
import { writeModelDir } from '../helpers/onnx-models.js';
import { rawRequest } from '../helpers/raw-http.js';
import { eventually, postJson, request, sharedAddress, startTestServer, v2Request, type TestServer } from '../helpers/server.js';

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

describe('console routes', { timeout: 120_000 }, () => {
  let s: TestServer;
  let dir: string;
  let keys: { management: { key: string }; inference: { key: string } };

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'mms-console-'));
    const keyFile = path.join(dir, 'key_file.json');
    // Another loopback address: separate listeners, so request figures come from a front process.
    s = await startTestServer({ enable_token_auth: 'true', key_file: keyFile, management_address: 'http://127.0.0.2:0' });
    keys = JSON.parse(readFileSync(keyFile, 'utf8'));
    writeModelDir(path.join(s.store, 'scale'), { name: 'scale' });
  });
  after(async () => {
    await s?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('serves the page and its files without a key, same-origin only, and nothing else of the folder', async () => {
    for (const [file, type] of [['', 'text/html'], ['/console.js', 'text/javascript'], ['/charts.js', 'text/javascript'], ['/console.css', 'text/css']]) {
      const res = await request(`${s.managementUrl}/console${file}`, { headers: { origin: 'http://evil.example' } });
      assert.equal(res.status, 200, file);
      assert.match(res.headers.get('content-type') ?? '', new RegExp(type));
      assert.match(res.headers.get('content-security-policy') ?? '', /default-src 'self'/);
      assert.ok(String(res.body).length > 100, `${file} has content`);
    }
    const page = await request(`${s.managementUrl}/console`);
    assert.match(page.body, /<script src="\/console\/console.js">/);
    assert.doesNotMatch(page.body, /https?:\/\//, 'the page names no other origin');
    for (const file of ['nope.js', '..%2Fconsole-routes.js', '%2E%2E%2Fmetrics.js', 'console-routes.js']) {
      assert.equal((await request(`${s.managementUrl}/console/${file}`)).status, 404, file);
    }
    // The inference listener has no console.
    assert.equal((await request(`${s.inferenceUrl}/console`, { headers: bearer(keys.inference.key) })).status, 404);
  });

  it('answers the summary only with the management key, and refuses a foreign Origin or Host', async () => {
    const url = `${s.managementUrl}/console/api/summary`;
    const none = await request(url);
    assert.equal(none.status, 401);
    assert.equal(none.body.type, 'UnauthorizedException');
    assert.equal((await request(url, { headers: bearer(keys.inference.key) })).status, 401);
    const ok = await request(url, { headers: bearer(keys.management.key) });
    assert.equal(ok.status, 200);
    assert.deepEqual(Object.keys(ok.body).sort(), ['gpus', 'models', 'time', 'traffic']);
    const foreignOrigin = await request(url, { headers: { ...bearer(keys.management.key), origin: 'http://evil.example' } });
    assert.equal(foreignOrigin.status, 403);
    const port = new URL(s.managementUrl).port;
    const foreignHost = await rawRequest(url, { headers: { ...bearer(keys.management.key), host: `attacker.example:${port}` } });
    assert.equal(foreignHost.status, 403);
    const sameOrigin = await request(url, { headers: { ...bearer(keys.management.key), origin: new URL(s.managementUrl).origin } });
    assert.equal(sameOrigin.status, 200);
  });

  it('lists a model as describe shows it, with its requests, latency and queue wait summed over the fronts', async () => {
    const m = bearer(keys.management.key);
    const reg = await request(`${s.managementUrl}/models?url=scale&model_name=cls&initial_workers=1&synchronous=true`, { method: 'POST', headers: m });
    assert.equal(reg.status, 200);
    for (let i = 0; i < 3; i++) {
      const res = await request(`${s.inferenceUrl}/predictions/cls`, {
        method: 'POST',
        headers: { ...bearer(keys.inference.key), 'content-type': 'application/json' },
        body: JSON.stringify(v2Request('x', [2, 4], [1, 2, 3, 4, 5, 6, 7, 8])),
      });
      assert.equal(res.status, 200);
    }
    const summary = await eventually(async () => {
      const body = (await request(`${s.managementUrl}/console/api/summary`, { headers: m })).body;
      return body.traffic.cls?.requests === 3 ? body : undefined;
    });
    const described = (await request(`${s.managementUrl}/models/cls`, { headers: m })).body;
    assert.equal(summary.models.length, 1);
    assert.equal(summary.models[0].modelName, 'cls');
    assert.deepEqual(summary.models[0].workers.map((w: { id: string }) => w.id), described.workers.map((w: { id: string }) => w.id));
    assert.equal(summary.models[0].workers[0].status, 'READY');
    assert.equal(summary.models[0].workers[0].restarts, 0);
    const t = summary.traffic.cls;
    assert.equal(t.errors, 0);
    assert.equal(t.latency.count, 3);
    assert.ok(t.latency.sum > 0);
    assert.equal(t.queueWait.count, 3);
    assert.ok(t.latency.buckets.length > 5 && t.latency.buckets.every(([le, n]: [number, number], i: number, all: Array<[number, number]>) => n <= 3 && (i === 0 || le > all[i - 1][0])));
    assert.equal(t.latency.buckets.at(-1)[1], 3, 'the largest bucket holds every request');
    assert.deepEqual(summary.gpus, []);
    assert.ok(Math.abs(summary.time - Date.now()) < 60_000);
  });
});

describe('console on one listener for both APIs', { timeout: 60_000 }, () => {
  let s: TestServer;
  before(async () => {
    const address = await sharedAddress();
    s = await startTestServer({ inference_address: address, management_address: address });
    writeModelDir(path.join(s.store, 'scale'), { name: 'scale' });
  });
  after(() => s?.close());

  it("takes the request figures from the controller's own router (no fronts)", async () => {
    assert.equal(s.frontPids().length, 0);
    assert.equal((await request(`${s.managementUrl}/models?url=scale&model_name=cls&initial_workers=1&synchronous=true`, { method: 'POST' })).status, 200);
    assert.equal((await postJson(`${s.inferenceUrl}/predictions/cls`, v2Request('x', [2, 4], [1, 2, 3, 4, 5, 6, 7, 8]))).status, 200);
    const t = await eventually(async () => (await request(`${s.managementUrl}/console/api/summary`)).body.traffic.cls);
    assert.equal(t.requests, 1);
    assert.equal(t.queueWait.count, 1);
    assert.equal((await request(`${s.managementUrl}/console`)).status, 200);
  });
});

describe('console GPU figures', { timeout: 60_000 }, () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer({ nvidia_smi: fakeNvidiaSmi({ gpus: h200Rows(2), usage: '0, 815, 143771, 37\n1, 1700, 143771, 5' }) });
  });
  after(() => s?.close());

  it("gives each GPU's memory in bytes and its utilisation", async () => {
    const summary = (await request(`${s.managementUrl}/console/api/summary`)).body;
    const MiB = 1024 * 1024;
    assert.deepEqual(summary.gpus, [
      { id: 0, name: 'NVIDIA H200', memoryUsedBytes: 815 * MiB, memoryTotalBytes: 143771 * MiB, utilization: 0.37 },
      { id: 1, name: 'NVIDIA H200', memoryUsedBytes: 1700 * MiB, memoryTotalBytes: 143771 * MiB, utilization: 0.05 },
    ]);
  });
});

describe('console traffic figures', () => {
  it('sums counters and histogram buckets of several fronts per model, errors by status', () => {
    const front = (ok: number, bad: number, sum: number) => [
      { name: 'mms_requests_total', values: [{ value: ok, labels: { model: 'a', status: '200' } }, { value: bad, labels: { model: 'a', status: '503' } }] },
      {
        name: 'mms_request_duration_seconds',
        values: [
          { value: 1, metricName: 'mms_request_duration_seconds_bucket', labels: { model: 'a', le: 0.5 } },
          { value: ok + bad, metricName: 'mms_request_duration_seconds_bucket', labels: { model: 'a', le: 1 } },
          { value: ok + bad, metricName: 'mms_request_duration_seconds_bucket', labels: { model: 'a', le: '+Inf' } },
          { value: sum, metricName: 'mms_request_duration_seconds_sum', labels: { model: 'a' } },
          { value: ok + bad, metricName: 'mms_request_duration_seconds_count', labels: { model: 'a' } },
        ],
      },
      { name: 'mms_queue_depth', values: [{ value: 2, labels: { model: 'a' } }] },
      { name: 'mms_front_requests_total', values: [{ value: ok + bad, labels: { front: '0' } }] },
    ];
    const t = traffic([front(3, 1, 2), front(5, 0, 4)]);
    assert.deepEqual(Object.keys(t), ['a']);
    assert.equal(t.a.requests, 9);
    assert.equal(t.a.errors, 1);
    assert.equal(t.a.queueDepth, 4);
    assert.deepEqual(t.a.latency, { sum: 6, count: 9, buckets: [[0.5, 2], [1, 9]] });
    assert.deepEqual(t.a.queueWait, { sum: 0, count: 0, buckets: [] });
  });

  it("sums models named like an object's own members (toString, constructor, __proto__)", () => {
    const names = ['toString', 'constructor', 'hasOwnProperty', '__proto__'];
    const front = names.flatMap((model) => [
      { name: 'mms_requests_total', values: [{ value: 2, labels: { model, status: '200' } }] },
      { name: 'mms_request_duration_seconds', values: [{ value: 0.5, metricName: 'mms_request_duration_seconds_sum', labels: { model } }, { value: 2, metricName: 'mms_request_duration_seconds_count', labels: { model } }] },
    ]);
    const t = traffic([front, front]);
    assert.deepEqual(Object.keys(t).sort(), [...names].sort());
    for (const model of names) assert.deepEqual([t[model].requests, t[model].latency.sum, t[model].latency.count], [4, 1, 4], model);
    assert.equal((Object as unknown as { requests?: unknown }).requests, undefined, 'nothing written onto Object');
  });
});
