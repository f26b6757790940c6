// CPU pinning (docs/configuration.md, CPU pinning) on a real server: where each worker process may run
// is read from the kernel (/proc/<pid>/status and every thread's), not from what the server says.
// One intra-op thread per worker, so each pinned worker takes one core; one front.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { formatCpuList, hostCpus, parseCpuList, readAllowedCpus } from '../../frontend/config/host-cpus.js';
import { tasksetAvailable } from '../../frontend/control/cpus/taskset.js';
import { writeModelDir } from '../helpers/onnx-models.js';
import { eventually, postJson, request, startTestServer, v2Request, type TestServer } from '../helpers/server.js';

interface DescribedWorker {
  pid: number;
  cpus?: string;
  cpusShared?: boolean;
}

/** The CPUs process `pid` may run on, as the kernel lists them ("0-1"). */
const allowed = (pid: number): string => formatCpuList(readAllowedCpus(pid) ?? []);

/** Every thread of `pid` (onnxruntime's and Node's included): their lists, distinct. */
function threadLists(pid: number): string[] {
  const lists = readdirSync(`/proc/${pid}/task`).map((tid) => {
    const status = readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8');
    return formatCpuList(parseCpuList(/^Cpus_allowed_list:\s*(\S+)/m.exec(status)![1]));
  });
  return [...new Set(lists)];
}

const host = hostCpus();
const everyCpu = formatCpuList(host);
const skip = host.length < 2 ? `one CPU (${everyCpu}): nothing to pin apart` : !tasksetAvailable() ? 'taskset (util-linux) is not installed' : false;

describe('cpu_affinity', { timeout: 120_000, skip }, () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ onnx_intra_op_threads: '1', number_of_netty_threads: '1' });
    writeModelDir(path.join(server.store, 'scale'), { name: 'scale' });
  });
  after(() => server?.close());

  const described = async (name: string): Promise<{ cpuAffinity: boolean; workers: DescribedWorker[] }> => (await request(`${server.managementUrl}/models/${name}`)).body;
  /** The controller (this process: the test hosts the server) and the front. */
  const others = () => [process.pid, ...server.frontPids()];

  it('pins each worker of a cpu_affinity=true model to a core of its own, every thread of it, and describe shows the same', async () => {
    const reg = await request(`${server.managementUrl}/models?url=scale&model_name=pinned&initial_workers=2&cpu_affinity=true&synchronous=true`, { method: 'POST' });
    assert.equal(reg.status, 200, JSON.stringify(reg.body));
    const model = await described('pinned');
    assert.equal(model.cpuAffinity, true);
    assert.equal(model.workers.length, 2);
    const lists = model.workers.map((w) => allowed(w.pid));
    for (const [i, w] of model.workers.entries()) {
      assert.match(lists[i], /^\d+$/, `worker ${w.pid} on one core, got ${lists[i]}`);
      assert.ok(host.includes(Number(lists[i])), `core ${lists[i]} is one the server may use (${everyCpu})`);
      assert.equal(w.cpus, lists[i], 'describe shows the kernel list');
      assert.equal(w.cpusShared, undefined, 'a core of its own');
      assert.deepEqual(threadLists(w.pid), [lists[i]], 'every thread of the worker inherits it');
    }
    assert.notEqual(lists[0], lists[1], 'disjoint cores');
    const pred = await postJson(`${server.inferenceUrl}/predictions/pinned`, v2Request('x', [1, 4], [1, 2, 3, 4]));
    assert.equal(pred.status, 200, JSON.stringify(pred.body));
  });

  it('moves the controller and the front to the cores no worker holds, once there is one for the front', async () => {
    const down = await request(`${server.managementUrl}/models/pinned?min_worker=1&max_worker=1&synchronous=true`, { method: 'PUT' });
    assert.equal(down.status, 200, JSON.stringify(down.body));
    const [worker] = (await described('pinned')).workers;
    assert.match(worker.cpus ?? '', /^\d+$/);
    const rest = formatCpuList(host.filter((c) => String(c) !== worker.cpus));
    assert.notEqual(rest, everyCpu);
    await eventually(() => others().every((pid) => allowed(pid) === rest));
    for (const pid of others()) assert.deepEqual(threadLists(pid), [rest], `every thread of ${pid === process.pid ? 'the controller' : 'the front'}`);
  });

  it('leaves the workers of a cpu_affinity=false model on every CPU, though the controller was moved', async () => {
    const reg = await request(`${server.managementUrl}/models?url=scale&model_name=floating&initial_workers=2&cpu_affinity=false&synchronous=true`, { method: 'POST' });
    assert.equal(reg.status, 200, JSON.stringify(reg.body));
    const model = await described('floating');
    assert.equal(model.cpuAffinity, false);
    for (const w of model.workers) {
      assert.equal(allowed(w.pid), everyCpu, `worker ${w.pid} unpinned`);
      assert.equal(w.cpus, undefined, 'describe shows no cpus');
    }
  });

  it('gives the cores back when the pinned workers stop: the controller and the front float again', async () => {
    assert.notEqual(allowed(process.pid), everyCpu, 'moved while the pinned worker runs');
    const del = await request(`${server.managementUrl}/models/pinned`, { method: 'DELETE' });
    assert.equal(del.status, 200, JSON.stringify(del.body));
    await eventually(() => others().every((pid) => allowed(pid) === everyCpu));
    await request(`${server.managementUrl}/models/floating`, { method: 'DELETE' });
  });
});
