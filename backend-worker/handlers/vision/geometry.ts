// Plane geometry for text boxes: convex hull, minimum-area rectangle, and growing a rectangle.

export type Point = [number, number];

/** Andrew's monotone chain; counter-clockwise, no repeated end point. */
export function convexHull(points: Point[]): Point[] {
  const pts = [...points].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  if (pts.length < 3) return pts;
  const cross = (o: Point, a: Point, b: Point) => (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);
  const lower: Point[] = [];
  for (const p of pts) {
    while (lower.length >= 2 && cross(lower[lower.length - 2], lower[lower.length - 1], p) <= 0) lower.pop();
    lower.push(p);
  }
  const upper: Point[] = [];
  for (let i = pts.length - 1; i >= 0; i--) {
    const p = pts[i];
    while (upper.length >= 2 && cross(upper[upper.length - 2], upper[upper.length - 1], p) <= 0) upper.pop();
    upper.push(p);
  }
  return lower.slice(0, -1).concat(upper.slice(0, -1));
}

export interface Rect {
  center: Point;
  /** Unit vector along the long side (|angle| ≤ 45° for text). */
  axis: Point;
  width: number;
  height: number;
}

/** Smallest enclosing rectangle: one side lies on a hull edge (rotating calipers, O(n²) for small hulls). */
export function minAreaRect(hull: Point[]): Rect {
  let best: Rect | undefined;
  let bestArea = Infinity;
  const n = hull.length;
  for (let i = 0; i < n; i++) {
    const a = hull[i];
    const b = hull[(i + 1) % n];
    const len = Math.hypot(b[0] - a[0], b[1] - a[1]);
    if (len === 0) continue;
    const ux = (b[0] - a[0]) / len;
    const uy = (b[1] - a[1]) / len;
    let minU = Infinity, maxU = -Infinity, minV = Infinity, maxV = -Infinity;
    for (const p of hull) {
      const pu = p[0] * ux + p[1] * uy;
      const pv = -p[0] * uy + p[1] * ux;
      minU = Math.min(minU, pu); maxU = Math.max(maxU, pu);
      minV = Math.min(minV, pv); maxV = Math.max(maxV, pv);
    }
    const area = (maxU - minU) * (maxV - minV);
    if (area < bestArea) {
      bestArea = area;
      const cu = (minU + maxU) / 2;
      const cv = (minV + maxV) / 2;
      best = { center: [cu * ux - cv * uy, cu * uy + cv * ux], axis: [ux, uy], width: maxU - minU, height: maxV - minV };
    }
  }
  if (!best) {
    const [x, y] = hull[0] ?? [0, 0];
    return { center: [x, y], axis: [1, 0], width: 0, height: 0 };
  }
  return horizontal(best);
}

/** Orients a rectangle so its axis is the side nearest horizontal, pointing right. */
function horizontal(r: Rect): Rect {
  let { axis, width, height } = r;
  if (Math.abs(axis[0]) < Math.abs(axis[1])) {
    axis = [axis[1], -axis[0]];
    [width, height] = [height, width];
  }
  if (axis[0] < 0) axis = [-axis[0], -axis[1]];
  return { center: r.center, axis, width, height };
}

/** Corners clockwise in image coordinates (y down), starting top-left. */
export function corners(r: Rect): [Point, Point, Point, Point] {
  const [ux, uy] = r.axis;
  const vx = -uy;
  const vy = ux; // perpendicular, pointing down the image
  const hw = r.width / 2;
  const hh = r.height / 2;
  const at = (su: number, sv: number): Point => [r.center[0] + ux * hw * su + vx * hh * sv, r.center[1] + uy * hw * su + vy * hh * sv];
  return [at(-1, -1), at(1, -1), at(1, 1), at(-1, 1)];
}

/** Grows a rectangle by `d` on every side (DB's "unclip" for a rectangle). */
export function grow(r: Rect, d: number): Rect {
  return { ...r, width: r.width + 2 * d, height: r.height + 2 * d };
}
