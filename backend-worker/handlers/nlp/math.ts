// Small numeric helpers shared by the NLP pipelines. Everything is computed in float64 and read
// from the model's float32 outputs, so results agree with numpy's float32 math well within 1e-6.

/** Numerically stable softmax (subtracts the maximum first, as transformers does). */
export function softmax(values: ArrayLike<number>): number[] {
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) if (values[i] > max) max = values[i];
  const out = new Array<number>(values.length);
  let sum = 0;
  for (let i = 0; i < values.length; i++) {
    out[i] = Math.exp(values[i] - max);
    sum += out[i];
  }
  for (let i = 0; i < out.length; i++) out[i] /= sum;
  return out;
}

export function sigmoid(values: ArrayLike<number>): number[] {
  return Array.from(values, (v) => 1 / (1 + Math.exp(-v)));
}

/** Index of the largest value; the first one on ties (numpy's argmax). */
export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

/** Rows `[0, rows)` of a row-major matrix with `cols` columns, as plain arrays. */
export function toRows(data: ArrayLike<number>, rows: number, cols: number): number[][] {
  const out: number[][] = [];
  for (let r = 0; r < rows; r++) out.push(Array.from({ length: cols }, (_, c) => data[r * cols + c]));
  return out;
}

/** Column-wise mean of the rows (mean pooling over tokens; padding is never part of `rows`). */
export function meanRows(rows: number[][]): number[] {
  const cols = rows[0]?.length ?? 0;
  const out = new Array<number>(cols).fill(0);
  for (const row of rows) for (let c = 0; c < cols; c++) out[c] += row[c];
  return out.map((v) => v / Math.max(rows.length, 1));
}

/** The vector divided by its L2 norm (norm clamped at 1e-12, like torch.nn.functional.normalize). */
export function l2Normalize(values: number[]): number[] {
  const norm = Math.sqrt(values.reduce((s, v) => s + v * v, 0));
  return values.map((v) => v / Math.max(norm, 1e-12));
}
