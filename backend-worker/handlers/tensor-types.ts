// Open Inference Protocol (KServe v2) datatypes ↔ onnxruntime tensor types and typed arrays.

export type TypedArray =
  | Float32Array | Float64Array | Int8Array | Uint8Array | Int16Array | Uint16Array
  | Int32Array | Uint32Array | BigInt64Array | BigUint64Array;

interface TypeInfo {
  ort: string;
  bytes: number;
  array?: { new (b: ArrayBufferLike, off: number, len: number): TypedArray; new (len: number): TypedArray };
}

export const V2_TYPES: Record<string, TypeInfo> = {
  BOOL: { ort: 'bool', bytes: 1, array: Uint8Array },
  UINT8: { ort: 'uint8', bytes: 1, array: Uint8Array },
  INT8: { ort: 'int8', bytes: 1, array: Int8Array },
  INT16: { ort: 'int16', bytes: 2, array: Int16Array },
  UINT16: { ort: 'uint16', bytes: 2, array: Uint16Array },
  INT32: { ort: 'int32', bytes: 4, array: Int32Array },
  UINT32: { ort: 'uint32', bytes: 4, array: Uint32Array },
  INT64: { ort: 'int64', bytes: 8, array: BigInt64Array },
  UINT64: { ort: 'uint64', bytes: 8, array: BigUint64Array },
  FP16: { ort: 'float16', bytes: 2, array: Uint16Array },
  FP32: { ort: 'float32', bytes: 4, array: Float32Array },
  FP64: { ort: 'float64', bytes: 8, array: Float64Array },
  BYTES: { ort: 'string', bytes: 0 },
};

const FROM_ORT: Record<string, string> = Object.fromEntries(Object.entries(V2_TYPES).map(([k, v]) => [v.ort, k]));

export function v2TypeOf(ortType: string): string {
  return FROM_ORT[ortType] ?? ortType.toUpperCase();
}

/** A typed array over `bytes` (little-endian, as the binary extension and x86/ARM hosts use); copies only to align. */
export function viewBytes(bytes: Buffer, info: TypeInfo): TypedArray {
  const Ctor = info.array!;
  const count = bytes.length / info.bytes;
  if (bytes.byteOffset % info.bytes === 0) return new Ctor(bytes.buffer, bytes.byteOffset, count);
  const copy = Buffer.alloc(bytes.length);
  bytes.copy(copy);
  return new Ctor(copy.buffer, copy.byteOffset, count);
}

export function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

/** One float32's bits, reused: floatToHalf runs once per FP16 element of a request. */
const F32 = new Float32Array(1);
const F32_BITS = new Uint32Array(F32.buffer);

export function floatToHalf(v: number): number {
  F32[0] = v;
  const x = F32_BITS[0];
  const sign = (x >> 16) & 0x8000;
  const exp = ((x >> 23) & 0xff) - 127 + 15;
  const mant = x & 0x7fffff;
  if (exp <= 0) return sign;
  if (exp >= 31) return sign | 0x7c00 | (((x >> 23) & 0xff) === 0xff && mant ? 0x200 : 0);
  return sign | (exp << 10) | (mant >> 13);
}
