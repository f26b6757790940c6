// Joined runs on a GPU are padded to power-of-two batch sizes (few input shapes for the CUDA
// provider's tuning); the padding never reaches a reply. Checked with a real ORT session on the CPU.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createSession, inputSpecs, ort, type Session } from '../../backend-worker/onnx-session.js';
import { JoinBuffers, bucket, joinFeeds, splitResults, zeroFeeds } from '../../backend-worker/handlers/tensor-batch.js';
import type { V2Request } from '../../backend-worker/handlers/kserve-v2.js';
import { writeScaleModel } from '../helpers/onnx-models.js';

const request = (rows: number[][]): V2Request => ({
  feeds: { x: new ort.Tensor('float32', Float32Array.from(rows.flat()), [rows.length, 4]) },
  binaryByDefault: false,
});

describe('padded batches', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mms-tensor-batch-'));
  let session: Session;
  before(async () => {
    session = await createSession(writeScaleModel(dir), { intraOpThreads: 1, interOpThreads: 1, executionProviders: ['cpu'], deviceId: 0 });
  });
  after(async () => {
    await session.release();
    rmSync(dir, { recursive: true, force: true });
  });

  it('buckets are the next power of two', () => {
    assert.deepEqual([0, 1, 2, 3, 5, 8, 9, 64, 65].map(bucket), [1, 1, 2, 4, 8, 8, 16, 64, 128]);
  });

  it('pads the joined input with zero rows and cuts the padding off the outputs', async () => {
    const requests = [request([[1, 2, 3, 4]]), request([[5, 6, 7, 8], [9, 10, 11, 12]])];
    const feeds = joinFeeds(requests, bucket(3));
    assert.deepEqual(feeds.x.dims, [4, 4]);
    assert.deepEqual(Array.from((feeds.x.data as Float32Array).slice(12)), [0, 0, 0, 0]);
    const out = await session.run(feeds);
    assert.deepEqual(out.y.dims, [4, 4]);
    const split = splitResults(out, [1, 2], 4)!;
    assert.deepEqual(split.map((f) => f.y.dims), [[1, 4], [2, 4]]);
    assert.deepEqual(Array.from(split[1].y.data as Float32Array), [10, 12, 14, 16, 18, 20, 22, 24]);
  });

  it('without padding, joins exactly the requests\' rows', () => {
    assert.deepEqual(joinFeeds([request([[1, 2, 3, 4]]), request([[5, 6, 7, 8]])]).x.dims, [2, 4]);
  });

  it('reuses a padded run\'s array for the next and zeroes its padding rows again', async () => {
    const buffers = new JoinBuffers();
    const three = [request([[1, 1, 1, 1]]), request([[2, 2, 2, 2]]), request([[3, 3, 3, 3]])];
    const first = joinFeeds(three, 4, buffers);
    buffers.give(first);
    const second = joinFeeds([request([[5, 6, 7, 8]])], 4, buffers);
    assert.equal(second.x.data, first.x.data, 'the same array');
    assert.deepEqual(Array.from(second.x.data as Float32Array), [5, 6, 7, 8, ...new Array(12).fill(0)]);
    assert.deepEqual(Array.from((await session.run(second)).y.data as Float32Array).slice(0, 8), [10, 12, 14, 16, 0, 0, 0, 0]);
    // Taken and not yet given back: the next join gets an array of its own.
    assert.notEqual(joinFeeds(three, 4, buffers).x.data, second.x.data);
  });

  it('unpadded (the CPU), joins fewer rows than the batch into a view of one kept array', async () => {
    const buffers = new JoinBuffers(8);
    const two = joinFeeds([request([[1, 1, 1, 1]]), request([[2, 2, 2, 2]])], 0, buffers);
    assert.deepEqual(two.x.dims, [2, 4]);
    const kept = (two.x.data as Float32Array).buffer;
    assert.equal(kept.byteLength, 8 * 4 * 4, 'room for the batch');
    buffers.give(two);
    const three = joinFeeds([request([[3, 3, 3, 3]]), request([[4, 4, 4, 4], [5, 5, 5, 5]])], 0, buffers);
    assert.equal((three.x.data as Float32Array).buffer, kept, 'the same memory');
    assert.deepEqual(three.x.dims, [3, 4]);
    const y = await session.run(three);
    assert.deepEqual(Array.from(y.y.data as Float32Array), [6, 6, 6, 6, 8, 8, 8, 8, 10, 10, 10, 10]);
    buffers.give(three);
    // More rows than the batch: a bigger array, kept from then on.
    const ten = joinFeeds(Array.from({ length: 10 }, (_, i) => request([[i, i, i, i]])), 0, buffers);
    assert.deepEqual(ten.x.dims, [10, 4]);
    buffers.give(ten);
    assert.equal((joinFeeds([request([[7, 7, 7, 7]]), request([[8, 8, 8, 8]])], 0, buffers).x.data as Float32Array).buffer.byteLength, 10 * 4 * 4);
  });

  it('zero inputs for warming a bucket need every trailing dimension', async () => {
    const specs = inputSpecs(session);
    const feeds = zeroFeeds(specs, 8)!;
    assert.deepEqual(feeds.x.dims, [8, 4]);
    assert.deepEqual((await session.run(feeds)).y.dims, [8, 4]);
    assert.equal(zeroFeeds([{ name: 'img', type: 'float32', shape: ['n', 3, 'h', 'w'] }], 2), undefined);
    assert.equal(zeroFeeds([{ name: 'x' }], 2), undefined);
  });
});
