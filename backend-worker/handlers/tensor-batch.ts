// Dynamic batching inside the worker: requests whose inputs differ only in the first dimension are
// joined along it into one session.run, and each output is cut back into per-request views.
import { ort, type InputSpec } from '../onnx-session.js';
import type { V2Request } from './kserve-v2.js';

type Feeds = Record<string, ort.Tensor>;

/** Whether a model can take joined inputs: every input's first dimension is symbolic. */
export function batchable(specs: readonly InputSpec[]): boolean {
  return specs.length > 0 && specs.every((s) => s.shape !== undefined && s.shape.length > 0 && typeof s.shape[0] !== 'number');
}

/** Requests that can share one run: same inputs, types, trailing dims and requested outputs. */
export function groupKey(r: V2Request): string | undefined {
  const parts: string[] = [];
  const rows = Object.values(r.feeds)[0]?.dims[0];
  for (const name of Object.keys(r.feeds).sort()) {
    const t = r.feeds[name];
    if (t.type === 'string' || t.dims.length === 0 || t.dims[0] !== rows) return undefined;
    parts.push(`${name}:${t.type}:${t.dims.slice(1).join('x')}`);
  }
  parts.push(`out:${r.outputs?.map((o) => o.name).join(',') ?? '*'}`);
  return parts.join('|');
}

/**
 * Powers of two: on a GPU every joined run is padded to bucket(max(batch size, rows)), one input shape
 * per model. The CUDA provider tunes its convolutions for every new input shape, which takes far longer
 * than a run (seconds for a model when each batch size 1..64 is new); a run of a full batch costs the
 * GPU little more than a small one (docs/gpu.md, "Batches on the GPU").
 */
export const bucket = (rows: number): number => 2 ** Math.ceil(Math.log2(Math.max(1, rows)));

type Joined = {
  set(a: ArrayLike<unknown>, o: number): void;
  fill(v: never, start: number): void;
  subarray(start: number, end: number): Joined;
  length: number;
};
type JoinedCtor = (new (n: number) => Joined) & { BYTES_PER_ELEMENT: number };

/** A kept array at most this big (a det batch of 8 is 39 MB); bigger ones are made for each run. */
const KEEP_MAX_BYTES = 64 * 2 ** 20;

/**
 * Joined-input arrays kept from one run for the next, one per element type and row size, each as long
 * as the handler's batch (or the most rows it has joined): a fresh array per run pays its page faults
 * and its zeroing, a fifth of a det session thread's time at 8 × 4.9 MB, ~45 µs a run of 8 cls rows on
 * the CPU. A run gets a view of the rows it needs; padding rows of a reused array are zeroed again.
 * Held only between one handler's runs: an array lent to a run still going is not handed out twice.
 */
export class JoinBuffers {
  private readonly free = new Map<string, Joined>();
  private readonly lent = new WeakMap<object, { key: string; whole: Joined }>();

  constructor(private readonly batchRows = 1) {}

  take(type: string, Ctor: JoinedCtor, perRow: number, rows: number): { data: Joined; fresh: boolean } {
    const key = `${type}:${perRow}`;
    const length = rows * perRow;
    const kept = this.free.get(key);
    if (kept && kept.length >= length) {
      this.free.delete(key);
      const data = kept.length === length ? kept : kept.subarray(0, length);
      this.lent.set(data, { key, whole: kept });
      return { data, fresh: false };
    }
    const capacity = Math.max(rows, this.batchRows) * perRow;
    if (capacity * Ctor.BYTES_PER_ELEMENT > KEEP_MAX_BYTES) return { data: new Ctor(length), fresh: true };
    const whole = new Ctor(capacity);
    const data = capacity === length ? whole : whole.subarray(0, length);
    this.lent.set(data, { key, whole });
    return { data, fresh: true };
  }

  /** The feeds' arrays back, once their run has finished (ORT holds no reference after it). */
  give(feeds: Feeds): void {
    for (const t of Object.values(feeds)) {
      const lent = this.lent.get(t.data as object);
      if (!lent) continue;
      this.lent.delete(t.data as object);
      const kept = this.free.get(lent.key);
      if (!kept || kept.length < lent.whole.length) this.free.set(lent.key, lent.whole);
    }
  }
}

/**
 * The requests' inputs joined along the first dimension, zero rows added up to `padTo` rows; in arrays
 * from `buffers` when given (hand them back with its give() once the run is over).
 */
export function joinFeeds(requests: readonly V2Request[], padTo = 0, buffers?: JoinBuffers): Feeds {
  const joined: Feeds = {};
  for (const name of Object.keys(requests[0].feeds)) {
    const parts = requests.map((r) => r.feeds[name]);
    const first = parts[0];
    const rows = Math.max(parts.reduce((a, t) => a + t.dims[0], 0), padTo);
    const perRow = first.dims.slice(1).reduce((a, b) => a * b, 1);
    const Ctor = (first.data as unknown as { constructor: JoinedCtor }).constructor;
    const { data, fresh } = buffers ? buffers.take(first.type, Ctor, perRow, rows) : { data: new Ctor(rows * perRow), fresh: true };
    let offset = 0;
    for (const t of parts) {
      data.set(t.data as ArrayLike<unknown>, offset);
      offset += (t.data as ArrayLike<unknown>).length;
    }
    if (!fresh && offset < data.length) data.fill((first.type === 'int64' || first.type === 'uint64' ? 0n : 0) as never, offset);
    joined[name] = new ort.Tensor(first.type as 'float32', data as unknown as Float32Array, [rows, ...first.dims.slice(1)]);
  }
  return joined;
}

/**
 * Cuts joined outputs back per request (views, no copies; padding rows dropped); undefined when an
 * output was not batched by row.
 */
export function splitResults(results: Feeds, rows: readonly number[], padTo = 0): Feeds[] | undefined {
  const total = Math.max(rows.reduce((a, b) => a + b, 0), padTo);
  const out: Feeds[] = rows.map(() => ({}));
  for (const [name, t] of Object.entries(results)) {
    if (t.dims[0] !== total || t.type === 'string') return undefined;
    const perRow = t.dims.slice(1).reduce((a, b) => a * b, 1);
    const data = t.data as unknown as { subarray(a: number, b: number): ArrayLike<unknown> };
    let row = 0;
    rows.forEach((n, i) => {
      out[i][name] = new ort.Tensor(t.type as 'float32', data.subarray(row * perRow, (row + n) * perRow) as Float32Array, [n, ...t.dims.slice(1)]);
      row += n;
    });
  }
  return out;
}

const ZEROS: Record<string, new (n: number) => ArrayLike<unknown>> = {
  float32: Float32Array, float64: Float64Array, int32: Int32Array, int64: BigInt64Array, int8: Int8Array, uint8: Uint8Array, bool: Uint8Array,
};

/** Zero inputs of `rows` rows, when every input's type and trailing dimensions are known (warming buckets). */
export function zeroFeeds(specs: readonly InputSpec[], rows: number): Feeds | undefined {
  const feeds: Feeds = {};
  for (const s of specs) {
    const trailing = s.shape?.slice(1);
    const Ctor = s.type ? ZEROS[s.type] : undefined;
    if (!Ctor || !trailing || !trailing.every((d): d is number => typeof d === 'number' && d > 0)) return undefined;
    const dims = [rows, ...trailing];
    feeds[s.name] = new ort.Tensor(s.type as 'float32', new Ctor(dims.reduce((a, b) => a * b, 1)) as Float32Array, dims);
  }
  return feeds;
}
