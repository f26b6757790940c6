// cpu-allocator.ts and host-cpus.ts: which cores a pinned worker gets, where the controller and fronts
// go, and the kernel's list syntax. The moves are made on a real process (a child `sleep`) with taskset.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { CpuAllocator } from '../../frontend/control/cpus/cpu-allocator.js';
import { tasksetAvailable } from '../../frontend/control/cpus/taskset.js';
import { formatCpuList, hostCpus, parseCpuList, readAllowedCpus } from '../../frontend/config/host-cpus.js';

const silent = pino({ level: 'silent' });
const pinnable = () => true;

describe('host-cpus', () => {
  it('reads and writes the kernel list syntax', () => {
    assert.deepEqual(parseCpuList('0-3,8,10-11\n'), [0, 1, 2, 3, 8, 10, 11]);
    assert.equal(formatCpuList([11, 0, 1, 2, 3, 8, 10]), '0-3,8,10-11');
    assert.equal(formatCpuList([5]), '5');
    assert.throws(() => parseCpuList('0-a'), /not a CPU list/);
  });

  it("is this process's allowed list, as the kernel gives it", () => {
    assert.deepEqual(hostCpus(), readAllowedCpus('self'));
    assert.equal(readAllowedCpus(2 ** 22 + 1), undefined, 'no such process');
  });
});

describe('CpuAllocator', () => {
  it('gives each worker cores of its own, lowest first, while there are free ones', () => {
    const cpus = new CpuAllocator([2, 3, 4, 5, 6, 7], silent, pinnable);
    const a = cpus.acquire(1)!;
    const b = cpus.acquire(2)!;
    const c = cpus.acquire(3)!;
    assert.deepEqual([a.cpus, b.cpus, c.cpus], [[2], [3, 4], [5, 6, 7]]);
    assert.deepEqual([a.shared(), b.shared(), c.shared()], [false, false, false]);
    b.release();
    b.release(); // twice is once
    assert.deepEqual(cpus.acquire(2)!.cpus, [3, 4], 'released cores are given again');
  });

  it('shares round-robin once every core is held, and says so on both sides', () => {
    const cpus = new CpuAllocator([0, 1], silent, pinnable);
    const [a, b, c, d] = [cpus.acquire(1)!, cpus.acquire(1)!, cpus.acquire(1)!, cpus.acquire(1)!];
    assert.deepEqual([a.cpus, b.cpus, c.cpus, d.cpus], [[0], [1], [0], [1]]);
    assert.ok(a.shared() && c.shared());
    c.release();
    assert.equal(a.shared(), false, 'alone again');
    assert.deepEqual(cpus.acquire(4)!.cpus, [0, 1], 'never more cores than there are');
  });

  it('puts the controller and fronts on the free cores when there is one per front, else on all', () => {
    const cpus = new CpuAllocator([0, 1, 2, 3], silent, pinnable);
    cpus.fronts = 2;
    assert.deepEqual(cpus.othersCpus(), [0, 1, 2, 3]);
    const a = cpus.acquire(2)!;
    assert.deepEqual(cpus.othersCpus(), [2, 3]);
    const b = cpus.acquire(1)!;
    assert.deepEqual(cpus.othersCpus(), [0, 1, 2, 3], 'one core left for two fronts: they float');
    b.release();
    a.release();
    assert.deepEqual(cpus.othersCpus(), [0, 1, 2, 3]);
  });

  it('pins nothing, once warned, where taskset cannot run', () => {
    const lines: string[] = [];
    const log = pino({ level: 'warn' }, new Writable({ write: (chunk: Buffer, _e, done) => (lines.push(chunk.toString()), done()) }));
    const cpus = new CpuAllocator([0, 1], log, () => false);
    assert.equal(cpus.acquire(1), undefined);
    assert.equal(cpus.acquire(1), undefined);
    assert.equal(lines.length, 1);
    assert.match(lines[0], /taskset \(util-linux\) not found; workers run unpinned/);
    assert.equal(cpus.unpinned(), undefined);
  });

  const host = hostCpus();
  const skip = host.length < 2 ? 'one CPU' : !tasksetAvailable() ? 'no taskset' : false;
  describe('moving a real process', { skip, timeout: 20_000 }, () => {
    const child = spawn('sleep', ['60'], { stdio: 'ignore' });
    after(() => child.kill());

    it('moves it (every thread) to the free cores, back to all when the leases end; unpinned workers then start on all', async () => {
      await once(child, 'spawn');
      const cpus = new CpuAllocator(host, silent);
      cpus.processes = () => [child.pid!];
      const lease = cpus.acquire(1)!;
      assert.deepEqual(lease.cpus, [host[0]]);
      await cpus.settled();
      assert.deepEqual(readAllowedCpus(child.pid!), host.slice(1));
      assert.deepEqual(cpus.unpinned(), host, 'a child of a moved controller would inherit its list');
      lease.release();
      await cpus.settled();
      assert.deepEqual(readAllowedCpus(child.pid!), [...host]);
    });
  });
});
