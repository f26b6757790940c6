// ModelInferRequest read across the chunks it arrived in (frontend/oip/grpc-infer-decode.ts): for
// every place a message can be cut, the fields come out as protobufjs decodes the whole message, the
// tensors' bytes as views of the chunks (never copied); bytes that are not a message still throw.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeInferRequest } from '../../frontend/oip/grpc-infer-decode.js';
import { loadInferenceService } from '../../protocol/grpc-proto.js';

const { ModelInfer } = loadInferenceService().definition;
const deserialize = ModelInfer.requestDeserialize as (b: Buffer) => Record<string, unknown>;

const message = ModelInfer.requestSerialize({
  model_name: 'scale', model_version: '2', id: 'req-1',
  parameters: { priority: { int64_param: '-5' }, tag: { string_param: 'é' }, flag: { bool_param: true } },
  inputs: [
    { name: 'x', datatype: 'FP32', shape: ['1', '4'], parameters: { p: { int64_param: '9007199254740993' } } },
    { name: 'y', datatype: 'BYTES', shape: ['2'] },
  ],
  outputs: [{ name: 'out' }],
  raw_input_contents: [Buffer.from(new Float32Array([1, 2, 3, 4]).buffer), Buffer.from('\x01\x00\x00\x00a\x01\x00\x00\x00b')],
});
const prefix = Buffer.from([0, 0, 0, 0, 0]);

/** The message after gRPC's prefix, cut at `cuts` (byte offsets into prefix + message). */
function chunked(cuts: number[]): Buffer[] {
  const whole = Buffer.concat([prefix, message]);
  const at = [0, ...cuts, whole.length];
  return at.slice(1).map((end, i) => Buffer.from(whole.subarray(at[i], end))); // each chunk its own memory
}

describe('ModelInferRequest across chunks', () => {
  const expected = deserialize(message);
  const { raw_input_contents: expectedRaw, ...expectedRest } = expected as { raw_input_contents: Buffer[] };

  it('decodes as the whole message does, wherever it is cut', () => {
    const total = prefix.length + message.length;
    for (let cut = 1; cut < total; cut++) {
      for (const cuts of [[cut], [cut, Math.min(total - 1, cut + 3)].filter((c, i, a) => i === 0 || c > a[i - 1])]) {
        const chunks = chunked(cuts);
        const got = decodeInferRequest(chunks, prefix.length, deserialize);
        const { raw_input_contents: raw, ...rest } = got;
        assert.deepEqual(rest, expectedRest, `cut at ${cuts}`);
        assert.deepEqual(raw?.map((parts) => Buffer.concat(parts)), expectedRaw, `cut at ${cuts}`);
        for (const part of raw!.flat()) assert.ok(chunks.some((c) => c.buffer === part.buffer), 'a view of a chunk, not a copy');
      }
    }
  });

  it('one byte a chunk', () => {
    const bytes = [...Buffer.concat([prefix, message])].map((b) => Buffer.from([b]));
    const got = decodeInferRequest(bytes, prefix.length, deserialize);
    assert.deepEqual(got.raw_input_contents?.map((parts) => Buffer.concat(parts)), expectedRaw);
    assert.equal(got.model_name, 'scale');
  });

  it('bytes that are not a message throw', () => {
    for (const bad of [[0xff, 0xff, 0xff], [0x9f, 0x06, 0x01], [0x3a, 0x05, 0x01], [0x0b], [0x08, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]]) {
      assert.throws(() => decodeInferRequest([Buffer.from([0, 0, 0, 0, 0, ...bad])], 5, deserialize), `${bad}`);
    }
  });

  it('a message without tensors has none', () => {
    const bare = ModelInfer.requestSerialize({ model_name: 'm', inputs: [{ name: 'x', datatype: 'FP32', shape: ['1'], contents: { fp32_contents: [1.5] } }] });
    const got = decodeInferRequest([Buffer.concat([prefix, bare])], 5, deserialize);
    assert.equal(got.raw_input_contents, undefined);
    assert.deepEqual(got, deserialize(bare));
  });
});
