// Greedy CTC decoding of the recogniser's [N, T, classes] softmax: best class per step, repeats
// merged, blanks (class 0) dropped. Classes 1..n are the dictionary's lines; the last one is a space.

export interface Decoded {
  /** One entry per recognised character. */
  chars: string[];
  /** Time step of each character, for placing it along the crop. */
  steps: number[];
  confidence: number;
}

export function ctcDecode(probs: Float32Array, steps: number, classes: number, sample: number, charset: readonly string[]): Decoded {
  const chars: string[] = [];
  const at: number[] = [];
  let confSum = 0;
  let prev = -1;
  const base = sample * steps * classes;
  for (let t = 0; t < steps; t++) {
    const row = base + t * classes;
    let best = 0;
    let bestP = probs[row];
    for (let c = 1; c < classes; c++) {
      const p = probs[row + c];
      if (p > bestP) {
        bestP = p;
        best = c;
      }
    }
    if (best !== 0 && best !== prev) {
      chars.push(charset[best - 1] ?? '');
      at.push(t);
      confSum += bestP;
    }
    prev = best;
  }
  return { chars, steps: at, confidence: chars.length ? confSum / chars.length : 0 };
}

/** The dictionary file's lines, plus the space class PaddleOCR appends (use_space_char). */
export function loadCharset(dictionary: string): string[] {
  const lines = dictionary.replace(/\r/g, '').split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return [...lines, ' '];
}
