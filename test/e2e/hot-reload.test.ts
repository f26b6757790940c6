// Hot reload (model_watch_interval): a model's archive replaced in the model store under load is
// loaded beside the old one and takes over with no request failing; the old workers stop. A broken
// replacement leaves the old version serving, says why in the log, and is not tried again; an archive
// overwritten in place, and a model directory whose file is replaced, reload too.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import yazl from 'yazl';
import { writeBadModel, writeModelDir, writeScaleModel } from '../helpers/onnx-models.js';
import { writeChain } from '../helpers/pipelines.js';
import { captureLogs } from '../helpers/raw-http.js';
import { writeHandlerModelDir } from '../helpers/fixtures.js';
import { childPids, eventually, isAlive, postJson, request, startTestServer, v2Request, type TestServer } from '../helpers/server.js';

const INPUT = [1, 2, 3, 4];

/** A .mar of the scale model `y = x * factor`, or of a model file ORT cannot load (`broken`). */
async function scaleArchive(factor: number, broken = false): Promise<Buffer> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mms-reload-src-'));
  try {
    writeModelDir(dir, { name: 'scale', build: (d) => (broken ? writeBadModel(d) : writeScaleModel(d, 'model.onnx', factor)) });
    const zip = new yazl.ZipFile();
    zip.addFile(path.join(dir, 'MAR-INF', 'MANIFEST.json'), 'MAR-INF/MANIFEST.json');
    zip.addFile(path.join(dir, 'model.onnx'), 'model.onnx');
    zip.end();
    const chunks: Buffer[] = [];
    for await (const chunk of zip.outputStream) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A log record awaited at most `ms`: a wait that fails ends the test (and closes its server). */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no ${what} within ${ms} ms`)), ms)));
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Written beside the target, then renamed over it: a reader sees the old file or the new one. */
function replaceAtomically(file: string, bytes: Buffer): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.tmp`);
  writeFileSync(tmp, bytes);
  renameSync(tmp, file);
}

async function describeModel(server: TestServer): Promise<{ contentHash?: string; loadedAt?: string; workers: Array<{ pid: number; status: string }> }> {
  const r = await request(`${server.managementUrl}/models/scale`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body;
}

/** The factor the serving model multiplies by (the answer to INPUT divided by it). */
async function factorNow(server: TestServer): Promise<number> {
  const r = await postJson(`${server.inferenceUrl}/predictions/scale`, v2Request('x', [1, 4], INPUT));
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.outputs[0].data[0] / INPUT[0];
}

/** Requests on `lanes` lanes, each sent when the last answered, until stop(): every answer's factor, per lane; failures kept. */
function closedLoop(server: TestServer, lanes: number) {
  let running = true;
  const failures: string[] = [];
  const seen: number[][] = Array.from({ length: lanes }, () => []);
  const lane = async (i: number) => {
    while (running) {
      try {
        const r = await postJson(`${server.inferenceUrl}/predictions/scale`, v2Request('x', [1, 4], INPUT));
        if (r.status !== 200) failures.push(`${r.status} ${JSON.stringify(r.body)}`);
        else seen[i].push(r.body.outputs[0].data[0] / INPUT[0]);
      } catch (err) {
        failures.push((err as Error).message);
      }
    }
  };
  const done = Promise.all(seen.map((_, i) => lane(i)));
  return {
    failures,
    seen,
    async stop() {
      running = false;
      await done;
    },
  };
}

async function register(server: TestServer, url: string, workers = 2, extra = ''): Promise<void> {
  const r = await request(`${server.managementUrl}/models?url=${url}&model_name=scale&initial_workers=${workers}&synchronous=true${extra}`, { method: 'POST' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
}

/** `scale.mar` (×2) in the store, registered as `scale` with 2 workers and described; its content hash checked. */
async function registerScaleArchive(server: TestServer): Promise<{ file: string; v2: Buffer; before: Awaited<ReturnType<typeof describeModel>> }> {
  const file = path.join(server.store, 'scale.mar');
  const v2 = await scaleArchive(2);
  writeFileSync(file, v2);
  await register(server, 'scale.mar');
  const before = await describeModel(server);
  assert.equal(before.contentHash, sha256(v2));
  return { file, v2, before };
}

/** The worker processes the server started that are still alive (its children but the fronts). */
const workerPidsAlive = (): number[] => childPids().sort((a, b) => a - b);

/** The manifest of the two-stage chain ×2 then ×3, its stages named `names`. */
const chainManifest = (names: [string, string]) =>
  JSON.stringify({ runtime: 'onnx', model: { modelName: 'chain', stages: [{ name: names[0], modelFile: 'double.onnx' }, { name: names[1], modelFile: 'triple.onnx', map: { y: 'x' } }] } });

/** Registers the chain pipeline from a directory of the store (stages `double` and `triple`); returns the directory. */
async function registerChain(server: TestServer): Promise<string> {
  const dir = path.join(server.store, 'chain');
  writeChain(dir);
  const r = await request(`${server.managementUrl}/models?url=chain&initial_workers=1&synchronous=true`, { method: 'POST' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return dir;
}

describe('hot reload', () => {
  it('an archive replaced under load: no request fails, the answers change, the old workers stop', { timeout: 90_000 }, async () => {
    // Two inference fronts: the switch must hold for each of them.
    const server = await startTestServer({ model_watch_interval: '1', number_of_netty_threads: '2' });
    let traffic: ReturnType<typeof closedLoop> | undefined;
    try {
      const { file, v2, before } = await registerScaleArchive(server);
      assert.ok(before.loadedAt && !Number.isNaN(Date.parse(before.loadedAt)), 'loadedAt is an ISO time');
      const oldPids = before.workers.map((w) => w.pid);
      assert.equal(oldPids.length, 2);
      assert.equal(await factorNow(server), 2);

      traffic = closedLoop(server, 4);
      const load = traffic;
      const v3 = await scaleArchive(3);
      replaceAtomically(file, v3);
      const after = await eventually(async () => {
        const d = await describeModel(server);
        return d.contentHash === sha256(v3) && d;
      }, 30_000);
      // The old workers stop once no front sends to them any more; the traffic runs on meanwhile.
      await eventually(() => oldPids.every((pid) => !isAlive(pid)), 30_000);
      // From here every answer is the new model's (a lane's one request in flight aside: it may be an
      // old worker's answer still on its way).
      const mark = load.seen.map((lane) => lane.length + 1);
      await eventually(() => load.seen.every((lane, i) => lane.length >= mark[i] + 3), 15_000);
      await load.stop();

      assert.deepEqual(load.failures, [], 'no request failed during the swap');
      for (const lane of load.seen) {
        assert.ok(lane.every((f) => f === 2 || f === 3), `answers of the old or the new model only: ${lane}`);
      }
      load.seen.forEach((lane, i) => assert.ok(lane.slice(mark[i]).every((f) => f === 3), `old answers once the old workers were gone: ${lane}`));
      assert.ok(load.seen.some((lane) => lane.includes(2)), 'the load ran before the switch too');
      assert.ok(Date.parse(after.loadedAt!) > Date.parse(before.loadedAt!), 'loadedAt moved');
      const newPids = after.workers.map((w) => w.pid);
      assert.equal(newPids.length, 2, 'as many workers as before');
      assert.ok(newPids.every((pid) => !oldPids.includes(pid) && isAlive(pid)));
      assert.deepEqual(workerPidsAlive(), [...newPids].sort((a, b) => a - b), 'no other worker process left');
      assert.equal(await factorNow(server), 3);
    } finally {
      await traffic?.stop();
      await server.close();
    }
  });

  it('a broken replacement keeps the old version serving, logs why, is not retried; a good one overwritten in place loads', { timeout: 90_000 }, async () => {
    const logs = captureLogs();
    const server = await startTestServer({ model_watch_interval: '1' }, undefined, logs.log);
    try {
      const { file, v2, before } = await registerScaleArchive(server);
      const pids = before.workers.map((w) => w.pid);

      const broken = await scaleArchive(5, true);
      const failed = logs.next((r) => r.msg === 'the new content of the model failed to load; the old version keeps serving');
      replaceAtomically(file, broken);
      const record = await within(failed, 30_000, 'log of the failed load');
      assert.equal(record.hash, sha256(broken));
      assert.match(record.err, /model/i, 'the reason is logged');
      const now = await describeModel(server);
      assert.equal(now.contentHash, sha256(v2), 'the loaded content is still the old one');
      assert.deepEqual(now.workers.map((w) => w.pid), pids, 'the old workers serve on');
      assert.equal(await factorNow(server), 2);
      await eventually(() => workerPidsAlive().length === pids.length, 15_000); // the failed new workers are gone

      // Overwritten in place (not renamed): loaded once the file stops changing.
      const v4 = await scaleArchive(4);
      const reloaded = logs.next((r) => r.msg === 'model reloaded: the new content serves, the old workers stopped');
      writeFileSync(file, v4);
      await within(reloaded, 30_000, 'log of the reload');
      const after = await describeModel(server);
      assert.equal(after.contentHash, sha256(v4));
      assert.equal(await factorNow(server), 4);
      const tries = logs.records.filter((r) => r.msg === 'model changed in the model store; loading the new content');
      assert.deepEqual(tries.map((r) => r.to), [sha256(broken), sha256(v4)], 'the broken content was tried once');
    } finally {
      await server.close();
    }
  });

  it('a model directory whose model file is replaced reloads, its response cache emptied; a URL registration is not watched', { timeout: 60_000 }, async () => {
    const server = await startTestServer({ model_watch_interval: '1' });
    try {
      const dir = writeModelDir(path.join(server.store, 'scale'), { name: 'scale' });
      // With the response cache on: answers of the old content are not served from it after the switch.
      await register(server, 'scale', 1, '&response_cache=true');
      const before = await describeModel(server);
      assert.match(before.contentHash ?? '', /^[0-9a-f]{64}$/);
      assert.equal(await factorNow(server), 2);
      assert.equal(await factorNow(server), 2); // from the cache now
      writeScaleModel(dir, '.model.onnx.tmp', 3);
      renameSync(path.join(dir, '.model.onnx.tmp'), path.join(dir, 'model.onnx'));
      await eventually(async () => (await describeModel(server)).contentHash !== before.contentHash, 30_000);
      assert.equal(await factorNow(server), 3);

      writeModelDir(path.join(server.store, 'other'), { name: 'other' });
      const r = await request(`${server.managementUrl}/models?url=${encodeURIComponent(`file://${path.join(server.store, 'other')}`)}&initial_workers=0`, { method: 'POST' });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const other = await request(`${server.managementUrl}/models/other`);
      assert.equal(other.body.contentHash, undefined, 'a URL is not watched');
    } finally {
      await server.close();
    }
  });

  it("a pipeline's stage file replaced: every stage reloads, the old stages' workers stop", { timeout: 60_000 }, async () => {
    const server = await startTestServer({ model_watch_interval: '1' });
    try {
      const dir = await registerChain(server);
      const chain = async () => (await postJson(`${server.inferenceUrl}/predictions/chain`, v2Request('x', [1, 4], INPUT))).body.outputs[0].data[0];
      const describeChain = async () => (await request(`${server.managementUrl}/models/chain`)).body;
      const before = await describeChain();
      const oldPids: number[] = before.stages.flatMap((st: { workers: Array<{ pid: number }> }) => st.workers.map((w) => w.pid));
      assert.equal(oldPids.length, 2);
      assert.equal(await chain(), 6);
      writeScaleModel(dir, '.triple.onnx.tmp', 5);
      renameSync(path.join(dir, '.triple.onnx.tmp'), path.join(dir, 'triple.onnx'));
      await eventually(async () => (await describeChain()).contentHash !== before.contentHash, 30_000);
      assert.equal(await chain(), 10);
      await eventually(() => oldPids.every((pid) => !isAlive(pid)), 15_000);
      const after = await describeChain();
      assert.deepEqual(after.stages.map((st: { workers: unknown[] }) => st.workers.length), [1, 1], 'each stage has its workers again');
    } finally {
      await server.close();
    }
  });

  it("a replacement that changes a pipeline's stages is refused: the old stages serve on, the log says why", { timeout: 60_000 }, async () => {
    const logs = captureLogs();
    const server = await startTestServer({ model_watch_interval: '1' }, undefined, logs.log);
    try {
      const dir = await registerChain(server);
      const before = (await request(`${server.managementUrl}/models/chain`)).body;
      const refused = logs.next((l) => l.msg === 'the new content of the model failed to load; the old version keeps serving');
      // The second stage renamed: requests between the stages would name a stage that is gone.
      writeFileSync(path.join(dir, 'MAR-INF', '.m.tmp'), chainManifest(['double', 'times3']));
      renameSync(path.join(dir, 'MAR-INF', '.m.tmp'), path.join(dir, 'MAR-INF', 'MANIFEST.json'));
      const record = await refused;
      assert.match(String(record.err), /stages changed \(double, triple → double, times3\); register it again/);
      const after = (await request(`${server.managementUrl}/models/chain`)).body;
      assert.equal(after.contentHash, before.contentHash);
      assert.deepEqual(after.stages.map((st: { name: string }) => st.name), ['double', 'triple']);
      const answer = await postJson(`${server.inferenceUrl}/predictions/chain`, v2Request('x', [1, 4], INPUT));
      assert.equal(answer.body.outputs[0].data[0], 6);
    } finally {
      await server.close();
    }
  });

  it('closing the server while a new version loads stops its workers too', { timeout: 60_000 }, async () => {
    // The gate handler holds the start of a worker that finds `hold` in its directory (until `release`,
    // or until model_load_timeout ends the load).
    const server = await startTestServer({ model_watch_interval: '1', model_load_timeout: '3' });
    let closed = false;
    const dir = writeHandlerModelDir(path.join(server.store, 'gated'), 'gated', 'gate.mjs');
    try {
      const r = await request(`${server.managementUrl}/models?url=gated&initial_workers=1&synchronous=true`, { method: 'POST' });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const [serving] = workerPidsAlive();
      writeFileSync(path.join(dir, 'hold'), ''); // a change: the new version's worker takes the hold
      await eventually(() => existsSync(path.join(dir, 'held')), 30_000);
      const loading = workerPidsAlive().filter((pid) => pid !== serving);
      assert.equal(loading.length, 1, 'the new version has a worker loading');
      await server.close();
      closed = true;
      assert.ok(!isAlive(serving) && !isAlive(loading[0]), 'no worker outlives the server');
      assert.deepEqual(workerPidsAlive(), []);
    } finally {
      if (!closed) {
        writeFileSync(path.join(dir, 'release'), '');
        await server.close();
      }
    }
  });
});
