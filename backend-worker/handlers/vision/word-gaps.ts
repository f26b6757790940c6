// Spaces between words. The recogniser often runs printed words together ("HelloMultiModel"), so a
// space is also put where the crop has a blank column run between two recognised characters that is
// wider than a letter gap: over a quarter of the crop's height and half the mean character pitch.
// Character positions come from the CTC time steps.
import type { RawImage } from './raw-image.js';

export function withWordSpaces(chars: string[], xs: number[], crop: RawImage): string {
  const pitch = chars.length > 1 ? (xs[xs.length - 1] - xs[0]) / (chars.length - 1) : crop.height;
  const gaps = blankRuns(crop, Math.max(2, 0.25 * crop.height, 0.5 * pitch));
  let out = '';
  for (let i = 0; i < chars.length; i++) {
    const between = (g: [number, number]) => (g[0] + g[1]) / 2 > xs[i - 1] && (g[0] + g[1]) / 2 < xs[i];
    if (i > 0 && chars[i] !== ' ' && chars[i - 1] !== ' ' && gaps.some(between)) out += ' ';
    out += chars[i];
  }
  return out.replace(/ {2,}/g, ' ');
}

/** [start, end] column ranges with no ink, at least `minWidth` wide, between the first and last ink. */
function blankRuns(img: RawImage, minWidth: number): Array<[number, number]> {
  const { data, width, height } = img;
  const lum = new Uint8Array(width * height);
  let min = 255;
  let max = 0;
  for (let i = 0; i < lum.length; i++) {
    const v = (data[i * 3] * 299 + data[i * 3 + 1] * 587 + data[i * 3 + 2] * 114) / 1000;
    lum[i] = v;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (max - min < 32) return [];
  const background = median(lum);
  const limit = (max - min) * 0.35;
  const ink = new Uint8Array(width);
  for (let x = 0; x < width; x++) {
    for (let y = 0; y < height; y++) if (Math.abs(lum[y * width + x] - background) > limit) ink[x]++;
  }
  const runs: Array<[number, number]> = [];
  const first = ink.findIndex((n) => n > 0);
  const last = width - 1 - [...ink].reverse().findIndex((n) => n > 0);
  let start = -1;
  for (let x = first; x <= last; x++) {
    if (ink[x] === 0 && start < 0) start = x;
    if (ink[x] > 0 && start >= 0) {
      if (x - start >= minWidth) runs.push([start, x - 1]);
      start = -1;
    }
  }
  return runs;
}

function median(values: Uint8Array): number {
  const counts = new Uint32Array(256);
  for (const v of values) counts[v]++;
  let seen = 0;
  for (let v = 0; v < 256; v++) {
    seen += counts[v];
    if (seen * 2 >= values.length) return v;
  }
  return 255;
}
