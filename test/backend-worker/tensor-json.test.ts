// JSON `data` of a KServe v2 request becomes a tensor only when every value fits its datatype and the
// nesting follows the shape; every refusal is a 400 INVALID_INPUT naming the element.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { HandlerError, type InferenceInput } from '../../backend-worker/handler-api.js';
import { parseV2Request } from '../../backend-worker/handlers/kserve-v2.js';

const item = (datatype: string, shape: number[], data: unknown): InferenceInput => ({
  requestId: 'r',
  headers: {},
  params: { body: { contentType: 'application/json', value: Buffer.from(JSON.stringify({ inputs: [{ name: 'x', shape, datatype, data }] })) } },
});
/** The model's input without a declared type, so every datatype is accepted by the parser. */
const specs = [{ name: 'x' }];
const parse = (datatype: string, shape: number[], data: unknown) => parseV2Request(item(datatype, shape, data), specs).feeds.x;
const refused = (datatype: string, shape: number[], data: unknown, message: RegExp) =>
  assert.throws(() => parse(datatype, shape, data), (err: unknown) => {
    assert.ok(err instanceof HandlerError);
    assert.deepEqual([err.status, err.type, err.code], [400, 'BadRequestException', 'INVALID_INPUT']);
    assert.match(err.message, message);
    return true;
  });

describe('KServe v2 JSON tensor values', { timeout: 10_000 }, () => {
  it('integers must be integral and within their type', () => {
    const cases: Array<[string, number, number, number]> = [
      ['INT8', -128, 127, 1], ['UINT8', 0, 255, 1], ['INT16', -32768, 32767, 1], ['UINT16', 0, 65535, 1],
      ['INT32', -(2 ** 31), 2 ** 31 - 1, 1], ['UINT32', 0, 2 ** 32 - 1, 1],
    ];
    for (const [type, min, max, step] of cases) {
      assert.deepEqual(Array.from(parse(type, [2], [min, max]).data as ArrayLike<number>), [min, max], type);
      refused(type, [2], [min, max + step], new RegExp(`element 1 is ${max + step}, out of the range of ${type}`));
      refused(type, [2], [min - step, max], new RegExp(`element 0 is ${min - step}, out of the range of ${type}`));
      refused(type, [2], [0.5, 1], new RegExp(`element 0 is 0.5, not an integer \\(${type}\\)`));
    }
    assert.deepEqual(parse('INT64', [2], [-(2 ** 63), 2 ** 53]).data, BigInt64Array.from([-(2n ** 63n), 2n ** 53n]));
    refused('INT64', [1], [2 ** 63], /element 0 is 9223372036854776000, out of the range of INT64/);
    refused('INT64', [1], [1e30], /element 0 is 1e\+30, out of the range of INT64/);
    refused('INT64', [1], [-1e30], /out of the range of INT64/);
    refused('INT64', [1], [2.5], /not an integer \(INT64\)/);
    assert.deepEqual(parse('UINT64', [1], [2 ** 63]).data, BigUint64Array.from([2n ** 63n]));
    refused('UINT64', [1], [-1], /element 0 is -1, out of the range of UINT64/);
    refused('UINT64', [1], [2 ** 64], /out of the range of UINT64/);
  });

  it('floats must be finite in their type', () => {
    assert.deepEqual(Array.from(parse('FP32', [3], [3.4028234e38, -3.4028234e38, 1e-50]).data as Float32Array), [Math.fround(3.4028234e38), Math.fround(-3.4028234e38), 0]);
    refused('FP32', [2], [1, 1e39], /element 1 is 1e\+39, out of the range of FP32/);
    refused('FP32', [1], [-3.5e38], /out of the range of FP32/);
    // 1e999 is valid JSON that parses to Infinity: no datatype holds it.
    const infinite = { requestId: 'r', headers: {}, params: { body: { contentType: '', value: Buffer.from('{"inputs":[{"name":"x","shape":[1],"datatype":"FP64","data":[1e999]}]}') } } };
    assert.throws(() => parseV2Request(infinite, specs), /element 0 is Infinity, out of the range of FP64/);
    assert.deepEqual(Array.from(parse('FP64', [1], [1e300]).data as Float64Array), [1e300]);
    assert.deepEqual(Array.from(parse('FP16', [4], [65504, 1, -2, 0.5]).data as Uint16Array), [0x7bff, 0x3c00, 0xc000, 0x3800]);
    refused('FP16', [1], [70000], /element 0 is 70000, out of the range of FP16/);
    refused('FP32', [2], [1, '2'], /element 1 is "2", not a number/);
  });

  it('BOOL takes booleans, 0 and 1 only; BYTES strings only', () => {
    assert.deepEqual(Array.from(parse('BOOL', [4], [true, false, 1, 0]).data as Uint8Array), [1, 0, 1, 0]);
    refused('BOOL', [1], [2], /element 0 is 2, not a boolean/);
    refused('BOOL', [1], ['true'], /not a boolean/);
    assert.deepEqual(parse('BYTES', [2], ['a', 'b']).data, ['a', 'b']);
    refused('BYTES', [2], ['a', 1], /element 1 is 1, not a string/);
  });

  it('nested data follows the shape exactly; flat data of the right count is accepted', () => {
    const expected = [1, 2, 3, 4, 5, 6, 7, 8];
    assert.deepEqual(Array.from(parse('FP32', [2, 4], expected).data as Float32Array), expected);
    assert.deepEqual(Array.from(parse('FP32', [2, 4], [[1, 2, 3, 4], [5, 6, 7, 8]]).data as Float32Array), expected);
    assert.deepEqual(Array.from(parse('FP32', [2, 2, 2], [[[1, 2], [3, 4]], [[5, 6], [7, 8]]]).data as Float32Array), expected);
    assert.deepEqual(Array.from(parse('INT32', [1, 4], [[1, 2, 3, 4]]).data as Int32Array), [1, 2, 3, 4]);
    // Ragged, though 8 elements in all.
    refused('FP32', [2, 4], [[1, 2, 3], [4, 5, 6, 7, 8]], /"x" has data\[0\] of 3 entries but dimension 1 of shape \[2,4\] is 4/);
    refused('FP32', [2, 2, 2], [[[1, 2], [3, 4]], [[5, 6], [7, 8, 9]]], /data\[1\]\[1\] of 3 entries but dimension 2/);
    refused('FP32', [2, 2, 2], [[[1, 2], [3, 4]], [5, 6, 7, 8]], /data\[1\] of 4 entries but dimension 1/);
    refused('FP32', [2, 2, 2], [[[1, 2], [3, 4]], [5, 6]], /data\[1\]\[0\] = 5 where shape \[2,2,2\] needs a list of 2/);
    refused('FP32', [2, 4], [[1, 2, 3, 4], 5, 6, 7, 8], /"data" of 5 entries but dimension 0 of shape \[2,4\] is 2/);
    // Partly flattened nesting is not the shape either.
    refused('FP32', [2, 2, 2], [[1, 2, 3, 4], [5, 6, 7, 8]], /data\[0\] of 4 entries but dimension 1/);
    refused('FP32', [2, 4], [1, 2, 3, 4, 5, 6, 7], /7 elements but shape \[2,4\] needs 8/);
    refused('FP32', [1, 4], [[[1, 2, 3, 4]]], /nested deeper than its shape \[1,4\] \(rank 2\)/);
    // A huge shape over little data is refused before its array is allocated.
    refused('FP32', [2, 2 ** 40], [[1], [2]], /shape \[2,1099511627776\] of 2199023255552 elements, more than its \d+ bytes of JSON can hold/);
    refused('FP32', [2 ** 40, 4], [1, 2, 3, 4], /4 elements but shape \[1099511627776,4\] needs 4398046511104/);
  });
});
