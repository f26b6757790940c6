// Differentiable Binarization post-processing: the detector's text-probability map → text boxes.
// Threshold, connected components, a minimum-area rectangle per component, a score, then "unclip"
// (grow the box back by area × ratio / perimeter, since DB learns shrunk text regions).
import { convexHull, grow, minAreaRect, type Point, type Rect } from './geometry.js';

export interface DbOptions {
  thresh: number;
  boxThresh: number;
  unclipRatio: number;
  minSize: number;
  maxCandidates: number;
}

export const DB_DEFAULTS: DbOptions = { thresh: 0.3, boxThresh: 0.6, unclipRatio: 1.5, minSize: 3, maxCandidates: 1000 };

export interface ScoredRect extends Rect {
  score: number;
}

export function detectBoxes(prob: Float32Array, width: number, height: number, o: DbOptions = DB_DEFAULTS): ScoredRect[] {
  const label = new Int32Array(width * height);
  const out: ScoredRect[] = [];
  const stack: number[] = [];
  let next = 0;
  for (let start = 0; start < prob.length && out.length < o.maxCandidates; start++) {
    if (label[start] !== 0 || prob[start] <= o.thresh) continue;
    next++;
    label[start] = next;
    stack.push(start);
    // Row extremes are enough for the hull; pixel corners keep the component's full extent.
    const rowMin = new Map<number, number>();
    const rowMax = new Map<number, number>();
    let sum = 0;
    let count = 0;
    while (stack.length) {
      const i = stack.pop()!;
      const x = i % width;
      const y = (i - x) / width;
      sum += prob[i];
      count++;
      rowMin.set(y, Math.min(rowMin.get(y) ?? x, x));
      rowMax.set(y, Math.max(rowMax.get(y) ?? x, x));
      for (let dy = -1; dy <= 1; dy++) {
        const ny = y + dy;
        if (ny < 0 || ny >= height) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const nx = x + dx;
          if (nx < 0 || nx >= width) continue;
          const j = ny * width + nx;
          if (label[j] === 0 && prob[j] > o.thresh) {
            label[j] = next;
            stack.push(j);
          }
        }
      }
    }
    const score = sum / count;
    if (score < o.boxThresh) continue;
    const points: Point[] = [];
    for (const [y, x0] of rowMin) {
      const x1 = rowMax.get(y)!;
      points.push([x0, y], [x0, y + 1], [x1 + 1, y], [x1 + 1, y + 1]);
    }
    const rect = minAreaRect(convexHull(points));
    if (Math.min(rect.width, rect.height) < o.minSize) continue;
    const area = rect.width * rect.height;
    const perimeter = 2 * (rect.width + rect.height);
    const grown = grow(rect, (area * o.unclipRatio) / perimeter);
    if (Math.min(grown.width, grown.height) < o.minSize + 2) continue;
    out.push({ ...grown, score });
  }
  return out;
}
