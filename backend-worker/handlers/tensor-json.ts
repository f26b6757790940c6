// A KServe v2 JSON `data` array → a tensor's elements, refused unless every value fits its datatype
// and the nesting follows the shape. One pass straight into the typed array: this is the request path
// of every JSON inference, so no intermediate flat array and no allocation per element.
import { invalidInput } from '../handler-api.js';
import { V2_TYPES, floatToHalf, type TypedArray } from './tensor-types.js';

/** Below this a float64 rounds to a finite float32 (2^128 - 2^103, halfway to the next power). */
const FP32_LIMIT = 3.4028235677973366e38;
/** Below this a float64 rounds to a finite float16 (65504 + half a step). */
const FP16_LIMIT = 65520;
const INT64_LIMIT = 2 ** 63;
const UINT64_LIMIT = 2 ** 64;

/**
 * The elements of flat or nested `data`, checked against `datatype`. Flat data needs prod(shape)
 * elements; nested data must follow the shape exactly (every list at depth d has shape[d] entries),
 * walked without recursion and never deeper than the rank, so hostile nesting cannot overflow the stack.
 */
export function jsonElements(name: string, datatype: string, data: unknown[], shape: number[], count: number, textLength: number): TypedArray | string[] {
  const rank = shape.length;
  if (rank <= 1 || !Array.isArray(data[0])) {
    if (data.length !== count) throw invalidInput(`Input "${name}" has ${data.length} elements but shape [${shape}] needs ${count}.`);
    const out = allocate(datatype, count);
    fillRow(name, datatype, out, data, 0);
    return out;
  }
  // Nested: lists[d] is the list being read at depth d, at[d] the index of its next entry. The lists
  // at depth rank-1 are rows of elements, each filled in one tight loop.
  const lists: unknown[][] = new Array(rank - 1);
  const at: number[] = new Array(rank - 1).fill(0);
  const path = (depth: number) => `data${at.slice(0, depth).map((i) => `[${i - 1}]`).join('')}`;
  const expect = (list: unknown[], depth: number) => {
    if (list.length === shape[depth]) return;
    if (depth === rank - 1 && Array.isArray(list[0])) {
      throw invalidInput(`Input "${name}" has "data" nested deeper than its shape [${shape}] (rank ${rank}).`);
    }
    const where = depth === 0 ? '"data"' : `${path(depth)}`;
    throw invalidInput(`Input "${name}" has ${where} of ${list.length} entries but dimension ${depth} of shape [${shape}] is ${shape[depth]}; nested data must follow the shape.`);
  };
  expect(data, 0);
  // Every element takes at least a byte of the JSON text: a shape claiming more is refused before
  // its array is allocated (a huge shape over a little data must not take the worker's memory).
  if (count > textLength) {
    throw invalidInput(`Input "${name}" has shape [${shape}] of ${count} elements, more than its ${textLength} bytes of JSON can hold.`);
  }
  const out = allocate(datatype, count);
  lists[0] = data;
  let depth = 0;
  let offset = 0;
  while (depth >= 0) {
    const list = lists[depth];
    if (at[depth] === list.length) {
      depth--;
      continue;
    }
    const child = list[at[depth]++];
    if (!Array.isArray(child)) {
      throw invalidInput(`Input "${name}" has ${path(depth + 1)} = ${shown(child)} where shape [${shape}] needs a list of ${shape[depth + 1]}; nested data must follow the shape.`);
    }
    expect(child, depth + 1);
    if (depth + 1 === rank - 1) {
      fillRow(name, datatype, out, child, offset);
      offset += child.length;
    } else {
      lists[++depth] = child;
      at[depth] = 0;
    }
  }
  return out;
}

function allocate(datatype: string, count: number): TypedArray | string[] {
  return datatype === 'BYTES' ? new Array<string>(count) : new V2_TYPES[datatype].array!(count);
}

/** Writes `row` into `out` from `offset`, one loop per datatype so each stays monomorphic. */
function fillRow(name: string, datatype: string, out: TypedArray | string[], row: unknown[], offset: number): void {
  const n = row.length;
  // One view per kind of store: numbers into number arrays, BigInts into 64-bit ones, strings.
  const nums = out as Float32Array;
  const bigs = out as BigInt64Array;
  const strs = out as string[];
  switch (datatype) {
    case 'FP32':
      for (let i = 0; i < n; i++) {
        const v = row[i];
        if (typeof v !== 'number' || v >= FP32_LIMIT || v <= -FP32_LIMIT) throw badValue(name, datatype, v, offset + i);
        nums[offset + i] = v;
      }
      return;
    case 'FP64':
      for (let i = 0; i < n; i++) {
        const v = row[i];
        if (typeof v !== 'number' || v === Infinity || v === -Infinity) throw badValue(name, datatype, v, offset + i);
        nums[offset + i] = v;
      }
      return;
    case 'FP16':
      for (let i = 0; i < n; i++) {
        const v = row[i];
        if (typeof v !== 'number' || v >= FP16_LIMIT || v <= -FP16_LIMIT) throw badValue(name, datatype, v, offset + i);
        nums[offset + i] = floatToHalf(v);
      }
      return;
    case 'INT64':
    case 'UINT64': {
      const min = datatype === 'INT64' ? -INT64_LIMIT : 0;
      const max = datatype === 'INT64' ? INT64_LIMIT : UINT64_LIMIT;
      for (let i = 0; i < n; i++) {
        const v = row[i];
        if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v >= max) throw badValue(name, datatype, v, offset + i);
        bigs[offset + i] = BigInt(v);
      }
      return;
    }
    case 'BOOL':
      for (let i = 0; i < n; i++) {
        const v = row[i];
        if (v === true || v === 1) nums[offset + i] = 1;
        else if (v === false || v === 0) nums[offset + i] = 0;
        else throw badValue(name, datatype, v, offset + i);
      }
      return;
    case 'BYTES':
      for (let i = 0; i < n; i++) {
        const v = row[i];
        if (typeof v !== 'string') throw badValue(name, datatype, v, offset + i);
        strs[offset + i] = v;
      }
      return;
    default: {
      // 8-, 16- and 32-bit integers: the value survives the cast to its width only if it is an
      // integer in range (`(v | 0) === v` for INT32), one comparison for both checks.
      const cast = INT_CASTS[datatype];
      for (let i = 0; i < n; i++) {
        const v = row[i];
        if (typeof v !== 'number' || cast(v) !== v) throw badValue(name, datatype, v, offset + i);
        nums[offset + i] = v;
      }
    }
  }
}

const INT_CASTS: Record<string, (v: number) => number> = {
  INT8: (v) => (v << 24) >> 24,
  UINT8: (v) => v & 0xff,
  INT16: (v) => (v << 16) >> 16,
  UINT16: (v) => v & 0xffff,
  INT32: (v) => v | 0,
  UINT32: (v) => v >>> 0,
};

function badValue(name: string, datatype: string, v: unknown, index: number): Error {
  const what =
    datatype === 'BYTES' ? 'not a string'
    : datatype === 'BOOL' ? 'not a boolean (true, false, 1 or 0)'
    : typeof v !== 'number' ? 'not a number'
    : datatype.startsWith('FP') ? `out of the range of ${datatype}`
    : Number.isInteger(v) ? `out of the range of ${datatype}`
    : `not an integer (${datatype})`;
  return invalidInput(`Input "${name}" element ${index} is ${shown(v)}, ${what}.`);
}

/** A value as a message shows it: short, and numbers as JavaScript prints them (`1e+39`, `Infinity`). */
function shown(v: unknown): string {
  const text = typeof v === 'number' ? String(v) : (JSON.stringify(v) ?? String(v));
  return text.length > 40 ? `${text.slice(0, 40)}...` : text;
}
