// Recognised words → text lines in reading order. Words whose vertical centres are close are one
// line; lines go top to bottom, words left to right, joined with spaces. An upside-down page (most
// words read at 180°) is ordered from the image's bottom-right instead.
import type { Point } from './geometry.js';

export interface Word {
  text: string;
  confidence: number;
  /** Clockwise corners, starting at the text's own top-left. */
  box: Point[];
}

export interface Line extends Word {
  words: Word[];
}

export function toLines(words: Word[], upsideDown: boolean): Line[] {
  const sign = upsideDown ? -1 : 1;
  const cy = (w: Word) => sign * (w.box.reduce((a, p) => a + p[1], 0) / w.box.length);
  const cx = (w: Word) => sign * (w.box.reduce((a, p) => a + p[0], 0) / w.box.length);
  const height = (w: Word) => Math.hypot(w.box[3][0] - w.box[0][0], w.box[3][1] - w.box[0][1]);
  const sorted = words.filter((w) => w.text.trim() !== '').sort((a, b) => cy(a) - cy(b));
  const groups: Word[][] = [];
  for (const w of sorted) {
    const line = groups[groups.length - 1];
    const ref = line?.[line.length - 1];
    if (ref && Math.abs(cy(w) - cy(ref)) < Math.max(height(w), height(ref)) / 2) line.push(w);
    else groups.push([w]);
  }
  return groups.map((g) => {
    g.sort((a, b) => cx(a) - cx(b));
    const text = g.map((w) => w.text.trim()).join(' ');
    const confidence = g.reduce((a, w) => a + w.confidence, 0) / g.length;
    return { text, confidence, box: spanBox(g), words: g };
  });
}

/** The quadrilateral from the first word's left edge to the last word's right edge. */
function spanBox(words: Word[]): Point[] {
  const first = words[0].box;
  const last = words[words.length - 1].box;
  return [first[0], last[1], last[2], first[3]];
}
