// Autoscaling inside one server (docs/architecture.md, Autoscaling): a load ramp grows a model from
// min_worker toward max_worker by its queue wait, and it returns to min_worker once idle, as describe,
// the worker processes and the metrics show; every decision is logged with its reason.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { writeHandlerModelDir } from '../helpers/fixtures.js';
import { metricValue } from '../helpers/metrics.js';
import { captureLogs } from '../helpers/raw-http.js';
import { fakeAppsFile, fakeNvidiaSmi } from '../helpers/fake-nvidia-smi.js';
import { childPids, eventually, request, startTestServer, type TestServer } from '../helpers/server.js';

describe('autoscaling', () => {
  let server: TestServer;
  const logs = captureLogs();
  const ready = async () => ((await request(`${server.managementUrl}/models/ramp`)).body.workers as Array<{ pid: number; status: string }>)
    .filter((w) => w.status === 'READY');

  before(async () => {
    server = await startTestServer({
      autoscale_interval_ms: '100', autoscale_window_ms: '1000', autoscale_min_samples: '3', autoscale_up_wait_ms: '50',
      autoscale_down_wait_ms: '5', autoscale_cooldown_ms: '300', autoscale_idle_ms: '1500',
    }, undefined, logs.log);
    writeHandlerModelDir(path.join(server.store, 'ramp'), 'ramp');
    const r = await request(`${server.managementUrl}/models?url=ramp&initial_workers=1&synchronous=true`, { method: 'POST' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const s = await request(`${server.managementUrl}/models/ramp?min_worker=1&max_worker=3&synchronous=true`, { method: 'PUT' });
    assert.equal(s.status, 200, JSON.stringify(s.body));
  });
  after(() => server.close());

  it('grows toward max_worker under load and returns to min_worker when idle', async () => {
    assert.equal((await ready()).length, 1);
    let loading = true;
    // Eight clients at once on a model that takes 100 ms per request and one request per batch.
    const clients = Array.from({ length: 8 }, async () => {
      while (loading) {
        const r = await request(`${server.inferenceUrl}/predictions/ramp`, { method: 'POST', body: 'sleep:100', headers: { 'content-type': 'text/plain' } });
        assert.equal(r.status, 200, JSON.stringify(r.body));
      }
    });
    let grown: Array<{ pid: number }>;
    let pids: number[];
    try {
      // The worker processes are read while the load still holds the model at max_worker.
      ({ grown, pids } = await eventually(async () => {
        const w = await ready();
        return w.length === 3 && { grown: w, pids: childPids() };
      }, 60_000));
    } finally {
      loading = false;
      await Promise.all(clients);
    }
    for (const w of grown) assert.ok(pids.includes(w.pid), `worker ${w.pid} is a live child process`);
    const up = logs.records.find((r) => r.msg?.startsWith('autoscale: up'));
    assert.equal(up?.reason, 'queue_wait');
    assert.ok((up?.queueWaitMs as number) >= 50, JSON.stringify(up));
    assert.ok((await metricValue(server.metricsUrl, 'mms_autoscale_decisions_total', { model: 'ramp', direction: 'up', reason: 'queue_wait' })) >= 2);
    const text = (await request(`${server.metricsUrl}/metrics`)).body as string;
    assert.match(text, /^mms_autoscale_queue_wait_seconds\{model="ramp"\} /m);
    assert.match(text, /^mms_autoscale_utilisation_ratio\{model="ramp"\} /m);

    // Idle: back to min_worker; the retired processes are gone.
    const back = await eventually(async () => {
      const d = (await request(`${server.managementUrl}/models/ramp`)).body;
      return d.workers.length === 1 && d.targetWorkers === 1 && d;
    }, 30_000);
    assert.equal(back.minWorkers, 1);
    assert.equal(back.maxWorkers, 3);
    const retired = grown.filter((w) => w.pid !== back.workers[0].pid).map((w) => w.pid);
    await eventually(() => retired.every((pid) => !childPids().includes(pid)));
    const isDown = (r: Record<string, any>) => r.msg?.startsWith('autoscale: down') === true;
    const down = logs.records.find(isDown) ?? (await logs.next(isDown));
    assert.ok(['idle', 'low_utilisation'].includes(down.reason as string), JSON.stringify(down));
    assert.equal(await metricValue(server.metricsUrl, 'mms_autoscale_target_workers', { model: 'ramp' }), 1);
    // Still serves.
    assert.equal((await request(`${server.inferenceUrl}/predictions/ramp`, { method: 'POST', body: 'after', headers: { 'content-type': 'text/plain' } })).status, 200);
  });
});

describe('autoscaling within GPU memory', () => {
  let server: TestServer;
  const appsFile = fakeAppsFile();

  before(async () => {
    // One GPU with 1000 MiB free; the model's worker takes 2000 MiB of it: no room for a second.
    const command = fakeNvidiaSmi({ gpus: '0, NVIDIA H200, 143771 MiB, 142771 MiB', usage: '0, 142771, 143771, 90', appsFile });
    server = await startTestServer({
      nvidia_smi: command, autoscale_interval_ms: '100', autoscale_window_ms: '1000', autoscale_min_samples: '3',
      autoscale_up_wait_ms: '50', autoscale_cooldown_ms: '300',
    });
    writeHandlerModelDir(path.join(server.store, 'gpu'), 'gpu');
    const r = await request(`${server.managementUrl}/models?url=gpu&initial_workers=1&synchronous=true`, { method: 'POST' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const [w] = (await request(`${server.managementUrl}/models/gpu`)).body.workers;
    assert.equal(w.gpuId, 0);
    writeFileSync(appsFile, `${w.pid}, 2000\n`);
    // nvidia-smi's readings are shared for a second: wait until they show the worker's GPU memory.
    await eventually(async () => (await request(`${server.managementUrl}/models/gpu`)).body.workers[0].gpuMemoryUsage);
    assert.equal((await request(`${server.managementUrl}/models/gpu?min_worker=1&max_worker=3&synchronous=true`, { method: 'PUT' })).status, 200);
  });
  after(() => server.close());

  it('holds at its workers when the fullest GPU has no room for another, and says so', async () => {
    let loading = true;
    const clients = Array.from({ length: 8 }, async () => {
      while (loading) await request(`${server.inferenceUrl}/predictions/gpu`, { method: 'POST', body: 'sleep:100', headers: { 'content-type': 'text/plain' } });
    });
    try {
      await eventually(async () => (await metricValue(server.metricsUrl, 'mms_autoscale_decisions_total', { model: 'gpu', direction: 'hold', reason: 'memory_budget' })) >= 1, 30_000);
    } finally {
      loading = false;
      await Promise.all(clients);
    }
    const d = (await request(`${server.managementUrl}/models/gpu`)).body;
    assert.equal(d.workers.length, 1);
    assert.equal(d.targetWorkers, 1);
  });
});

