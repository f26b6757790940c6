// The items a pipeline stage hands on (docs/pipelines.md, "Items between stages") and the stage list's
// checks (protocol/pipeline.ts).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TooManyItemsError, decodeItems, encodeItems } from '../../protocol/pipeline-items.js';
import { validateManifest } from '../../protocol/manifest.js';
import { itemsReply } from '../../backend-worker/stage-output.js';

describe('pipeline items', () => {
  it("leaves out a part a stage's handler left undefined, as JSON leaves out an undefined property", { timeout: 5_000 }, () => {
    const reply = itemsReply('r1', { items: [{ a: 'x', b: undefined, c: { n: 1 } }] });
    assert.deepEqual(decodeItems(reply.body).map((item) => item.map((p) => [p.name, p.value.toString()])), [[['a', 'x'], ['c', '{"n":1}']]]);
  });

  it('round-trips items of named parts, empty items and empty values included', { timeout: 5_000 }, () => {
    const items = [
      [{ name: 'image', contentType: 'application/octet-stream', value: Buffer.from([0, 1, 2, 255]) }, { name: 'crop', contentType: 'application/json', value: Buffer.from('{"w":1}') }],
      [],
      [{ name: 'é', contentType: '', value: Buffer.alloc(0) }],
    ];
    const decoded = decodeItems(encodeItems(items));
    assert.deepEqual(decoded.map((i) => i.map((p) => ({ ...p, value: [...p.value] }))), items.map((i) => i.map((p) => ({ ...p, value: [...p.value] }))));
    assert.deepEqual(decodeItems(encodeItems([])), []);
  });

  it('refuses a body that declares more items than the request has room for, before reading them', { timeout: 5_000 }, () => {
    const body = encodeItems([[], [], []]);
    assert.equal(decodeItems(body, 3).length, 3);
    assert.throws(() => decodeItems(body, 2), TooManyItemsError);
  });

  it('refuses a body cut short or with bytes after its last item', { timeout: 5_000 }, () => {
    const body = encodeItems([[{ name: 'a', contentType: 'text/plain', value: Buffer.from('hello') }]]);
    assert.throws(() => decodeItems(body.subarray(0, body.length - 1)), /ends early/);
    assert.throws(() => decodeItems(Buffer.concat([body, Buffer.from([0])])), /bytes after/);
    assert.throws(() => decodeItems(Buffer.from([0, 0])), /ends early/);
  });
});

describe('the stage list', () => {
  const manifest = (stages: unknown) => validateManifest({ runtime: 'onnx', model: { modelName: 'p', stages } });
  it('takes a valid list and names the field of an invalid one', { timeout: 5_000 }, () => {
    assert.equal(manifest([{ name: 'a' }, { name: 'b', map: { y: 'x' }, gather: true, batchSize: 4 }]).model.stages!.length, 2);
    assert.throws(() => manifest([]), /model\.stages must be a non-empty array/);
    assert.throws(() => manifest([{ name: 'a#b' }]), /model\.stages\[0\]\.name/);
    assert.throws(() => manifest([{ name: 'a' }, { name: 'a' }]), /named twice/);
    assert.throws(() => manifest([{ name: 'a', map: { y: 'x' } }]), /first stage takes the request/);
    assert.throws(() => manifest([{ name: 'a', gather: true }, { name: 'b' }]), /only the last stage gathers/);
    assert.throws(() => manifest([{ name: 'a', batchSize: -1 }]), /stages\[0\]\.batchSize must be a non-negative integer/);
    assert.throws(() => manifest([{ name: 'a', map: { y: 3 } }]), /map must be an object of non-empty strings/);
    assert.throws(() => manifest([{ name: 'a' }, { name: 'b', map: { y: '' } }]), /map must be an object of non-empty strings/);
    assert.throws(() => manifest([{ name: 'a' }, { name: 'b', map: { y: 'x', z: 'x' } }]), /names one input for two outputs/);
    assert.throws(() => manifest([{ name: 'a', minWorkers: 2, maxWorkers: 1 }]), /maxWorkers must be at least its minWorkers \(2\)/);
  });
});
