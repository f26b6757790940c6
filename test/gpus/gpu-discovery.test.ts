// GPU discovery from nvidia-smi's recorded output (0, 1, 2 GPUs, a failing or missing tool),
// CUDA_VISIBLE_DEVICES and number_of_gpu, and the server-wide round-robin.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { discoverGpus, selectGpus } from '../../frontend/control/gpus/gpu-discovery.js';
import { Gpus } from '../../frontend/control/gpus/gpus.js';
import { parseApps, parseGpuRows, parseUsage } from '../../frontend/control/gpus/nvidia-smi.js';
import { fakeNvidiaSmi, h200Rows } from '../helpers/fake-nvidia-smi.js';

describe('nvidia-smi output', () => {
  it('parses the GPU list, names with commas included, and skips what does not parse', () => {
    assert.deepEqual(parseGpuRows(''), []);
    assert.deepEqual(parseGpuRows('0, NVIDIA H200, 143771 MiB, 0 MiB\n'), [{ index: 0, name: 'NVIDIA H200', memoryTotalMiB: 143771, memoryUsedMiB: 0 }]);
    assert.deepEqual(parseGpuRows('1, Tesla, Rev B, 16384 MiB, 5 MiB\ngarbage\n2, X, [N/A], [N/A]'), [{ index: 1, name: 'Tesla, Rev B', memoryTotalMiB: 16384, memoryUsedMiB: 5 }]);
  });

  it('parses usage and per-process memory (a process on two GPUs sums)', () => {
    assert.deepEqual(parseUsage('0, 815, 143771, 37\n1, 0, 143771, [N/A]'), [
      { index: 0, memoryUsedMiB: 815, memoryTotalMiB: 143771, utilization: 37 },
      { index: 1, memoryUsedMiB: 0, memoryTotalMiB: 143771, utilization: undefined },
    ]);
    assert.deepEqual([...parseApps('4242, 815\n4243, 700\n4242, 100\n')], [[4242, 915], [4243, 700]]);
  });
});

describe('discoverGpus (a real nvidia-smi stand-in)', () => {
  const run = (gpus: string | undefined, o: { numberOfGpu?: number; visibleDevices?: string } = {}) => discoverGpus({ command: fakeNvidiaSmi({ gpus }), ...o });

  it('finds 0, 1 and 2 GPUs as listed', async () => {
    assert.deepEqual(await run(''), []);
    assert.deepEqual(await run(h200Rows(1)), [{ deviceId: 0, index: 0, name: 'NVIDIA H200', memoryTotalMiB: 143771 }]);
    assert.deepEqual((await run(h200Rows(2))).map((g) => [g.deviceId, g.index]), [[0, 0], [1, 1]]);
  });

  it('finds none when the tool fails or is missing', async () => {
    assert.deepEqual(await run(undefined), []);
    assert.deepEqual(await discoverGpus({ command: '/nonexistent/nvidia-smi' }), []);
  });

  it('caps by number_of_gpu; 0 runs nothing', async () => {
    assert.equal((await run(h200Rows(4), { numberOfGpu: 2 })).length, 2);
    assert.equal((await run(h200Rows(1), { numberOfGpu: 8 })).length, 1);
    assert.deepEqual(await discoverGpus({ command: '/nonexistent/nvidia-smi', numberOfGpu: 0 }), []);
  });

  it('follows CUDA_VISIBLE_DEVICES: listed order, renumbered from 0, up to the first unknown entry', async () => {
    assert.deepEqual((await run(h200Rows(4), { visibleDevices: '3,1' })).map((g) => [g.deviceId, g.index]), [[0, 3], [1, 1]]);
    assert.deepEqual((await run(h200Rows(4), { visibleDevices: '2,7,0' })).map((g) => g.index), [2]);
    assert.deepEqual(await run(h200Rows(2), { visibleDevices: '' }), []);
    assert.deepEqual(await run(h200Rows(2), { visibleDevices: '-1' }), []);
    assert.deepEqual((await run(h200Rows(4), { visibleDevices: '1,2,3', numberOfGpu: 2 })).map((g) => g.index), [1, 2]);
  });

  it('selectGpus ignores the rows\' order', () => {
    const rows = [1, 0].map((index) => ({ index, name: 'g', memoryTotalMiB: 1, memoryUsedMiB: 0 }));
    assert.deepEqual(selectGpus(rows, undefined).map((g) => g.index), [0, 1]);
  });
});

describe('Gpus.next: one round-robin for the whole server', () => {
  it('starts after the first GPU and wraps, as MMS does', () => {
    const gpus = new Gpus(selectGpus(parseGpuRows(h200Rows(4)), undefined));
    assert.deepEqual(Array.from({ length: 6 }, () => gpus.next()), [1, 2, 3, 0, 1, 2]);
    assert.deepEqual([new Gpus(selectGpus(parseGpuRows(h200Rows(1)), undefined)).next()], [0]);
    assert.equal(new Gpus().next(), -1);
  });
});
