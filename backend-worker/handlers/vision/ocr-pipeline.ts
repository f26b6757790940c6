// PaddleOCR's three stages over one decoded image: detect text boxes, classify each crop's direction
// (0° or 180°, turning upside-down crops round), recognise the text, and order it into lines.
import { ort } from '../../onnx-session.js';
import type { Runner } from '../../shape-sessions.js';
import { CLS_RUN, CLS_SHAPE, REC_HEIGHT, REC_MIN_WIDTH, REC_RUN, cropPlane, detSide, recRun, recWidthBucket } from './ocr-shapes.js';
import { ctcDecode } from './ctc-decode.js';
import { DB_DEFAULTS, detectBoxes } from './db-postprocess.js';
import { corners, type Point } from './geometry.js';
import { cropAffine, resize, rotate180, toChw, type RawImage } from './raw-image.js';
import { toLines, type Line, type Word } from './text-lines.js';
import { withWordSpaces } from './word-gaps.js';

export interface OcrModels {
  det: Runner;
  cls: Runner;
  rec: Runner;
  charset: string[];
  /** Runs padded to a few shapes (on CUDA: ocr-shapes.ts). */
  fixedShapes: boolean;
}

export interface OcrOptions {
  /** Longest side the detector sees (PaddleOCR's det_limit_side_len). */
  detLimit: number;
  /** Minimum classifier score to turn a crop round. */
  clsThresh: number;
}

export const OCR_DEFAULTS: OcrOptions = { detLimit: 960, clsThresh: 0.9 };

const DET_MEAN = [0.485, 0.456, 0.406];
const DET_STD = [0.229, 0.224, 0.225];
const HALF = [0.5, 0.5, 0.5];

export interface Crop {
  image: RawImage;
  box: Point[];
}

export async function readText(img: RawImage, m: OcrModels, o: OcrOptions = OCR_DEFAULTS): Promise<{ lines: Line[]; upsideDown: boolean }> {
  const crops = await detect(img, m.det, o.detLimit, m.fixedShapes);
  if (crops.length === 0) return { lines: [], upsideDown: false };
  const flipped = (await classify(crops, m.cls, o.clsThresh, m.fixedShapes)).filter(Boolean).length;
  const words = await recognise(crops, m.rec, m.charset, m.fixedShapes);
  return assemble(words, flipped, crops.length);
}

/** The answer's lines: upside down when most crops were turned round. */
export function assemble(words: Word[], flipped: number, crops: number): { lines: Line[]; upsideDown: boolean } {
  const upsideDown = flipped * 2 > crops;
  return { lines: toLines(words, upsideDown), upsideDown };
}

export async function detect(img: RawImage, det: Runner, limit: number, fixedShapes = false): Promise<Crop[]> {
  const scale = Math.min(1, limit / Math.max(img.width, img.height));
  const dw = Math.max(32, Math.round((img.width * scale) / 32) * 32);
  const dh = Math.max(32, Math.round((img.height * scale) / 32) * 32);
  const input = await resize(img, dw, dh);
  // Padded, the image sits top-left on the mean colour (0 once normalised).
  const [pw, ph] = fixedShapes ? [detSide(dw), detSide(dh)] : [dw, dh];
  const data = new Float32Array(3 * pw * ph);
  toChw(input, DET_MEAN, DET_STD, data, 0, pw, true, ph);
  const out = await det.run({ [det.inputNames[0]]: new ort.Tensor('float32', data, [1, 3, ph, pw]) });
  const prob = cropPlane(out[det.outputNames[0]].data as Float32Array, pw, dw, dh);
  const sx = img.width / dw;
  const sy = img.height / dh;
  return detectBoxes(prob, dw, dh, DB_DEFAULTS).map((r) => {
    const box = corners(r).map(([x, y]) => [clamp(x * sx, img.width), clamp(y * sy, img.height)] as Point);
    const u: Point = [box[1][0] - box[0][0], box[1][1] - box[0][1]];
    const v: Point = [box[3][0] - box[0][0], box[3][1] - box[0][1]];
    const w = Math.max(1, Math.round(Math.hypot(...u)));
    const h = Math.max(1, Math.round(Math.hypot(...v)));
    return { image: cropAffine(img, box[0], u, v, w, h), box };
  });
}

/** Turns crops the classifier reads as 180° round; returns which it turned. */
export async function classify(crops: Crop[], cls: Runner, thresh: number, fixedShapes = false): Promise<boolean[]> {
  const [h, w] = CLS_SHAPE;
  // Padded: runs of CLS_RUN crops, the last filled up with zeros.
  const run = fixedShapes ? CLS_RUN : Math.max(1, crops.length);
  const probs = new Float32Array(crops.length * 2);
  for (let start = 0; start < crops.length; start += run) {
    const group = crops.slice(start, start + run);
    const rows = fixedShapes ? run : group.length;
    const data = new Float32Array(rows * 3 * h * w);
    for (let i = 0; i < group.length; i++) {
      const c = group[i].image;
      const rw = Math.min(w, Math.max(1, Math.ceil((h * c.width) / c.height)));
      toChw(await resize(c, rw, h), HALF, HALF, data, i * 3 * h * w, w, true);
    }
    const out = await cls.run({ [cls.inputNames[0]]: new ort.Tensor('float32', data, [rows, 3, h, w]) });
    probs.set((out[cls.outputNames[0]].data as Float32Array).subarray(0, group.length * 2), start * 2);
  }
  const flipped = crops.map(() => false);
  for (let i = 0; i < crops.length; i++) {
    if (probs[i * 2 + 1] > probs[i * 2] && probs[i * 2 + 1] >= thresh) {
      crops[i].image = rotate180(crops[i].image);
      // The text's own top-left is now the box's bottom-right corner.
      crops[i].box = [crops[i].box[2], crops[i].box[3], crops[i].box[0], crops[i].box[1]];
      flipped[i] = true;
    }
  }
  return flipped;
}

/**
 * The width each crop is recognised at: that of the widest crop of its run (runs of `run` crops of one
 * image, in order; recRun). Fixed per crop, so a crop reads the same whichever crops share its run.
 */
export function recWidths(crops: Crop[], run: number): number[] {
  const widths: number[] = [];
  for (let start = 0; start < crops.length; start += run) {
    const group = crops.slice(start, start + run);
    const width = Math.max(...group.map(recWidth));
    for (let i = 0; i < group.length; i++) widths.push(width);
  }
  return widths;
}

/** The width a crop is recognised at alone: its own at the recogniser's height, at least REC_MIN_WIDTH. */
export const recWidth = (c: Crop): number => Math.max(REC_MIN_WIDTH, Math.ceil(REC_HEIGHT * (c.image.width / c.image.height)));

async function recognise(crops: Crop[], rec: Runner, charset: string[], fixedShapes: boolean): Promise<Word[]> {
  const words: Word[] = [];
  const run = recRun(fixedShapes);
  const widths = recWidths(crops, run);
  for (let start = 0; start < crops.length; start += run) {
    words.push(...(await recogniseRun(crops.slice(start, start + run), widths[start], rec, charset, fixedShapes)));
  }
  return words;
}

/** One ORT run over crops padded to `width` (and, with fixed shapes, to REC_RUN rows and a width bucket). */
export async function recogniseRun(group: Crop[], recWidth: number, rec: Runner, charset: string[], fixedShapes = false): Promise<Word[]> {
  const words: Word[] = [];
  const width = fixedShapes ? recWidthBucket(recWidth) : recWidth;
  const rows = fixedShapes ? Math.max(REC_RUN, group.length) : group.length;
  const data = new Float32Array(rows * 3 * REC_HEIGHT * width);
  for (let i = 0; i < group.length; i++) {
    const c = group[i].image;
    const rw = Math.min(width, Math.max(1, Math.ceil((REC_HEIGHT * c.width) / c.height)));
    toChw(await resize(c, rw, REC_HEIGHT), HALF, HALF, data, i * 3 * REC_HEIGHT * width, width, true);
  }
  const out = (await rec.run({ [rec.inputNames[0]]: new ort.Tensor('float32', data, [rows, 3, REC_HEIGHT, width]) }))[rec.outputNames[0]];
  const [, steps, classes] = out.dims;
  for (let i = 0; i < group.length; i++) {
    const crop = group[i].image;
    const decoded = ctcDecode(out.data as Float32Array, steps, classes, i, charset);
    // Time step → column of the crop: the input was `width` wide, the crop filled `rw` of it.
    const rw = Math.min(width, Math.max(1, Math.ceil((REC_HEIGHT * crop.width) / crop.height)));
    const xs = decoded.steps.map((t) => (((t + 0.5) * width) / steps) * (crop.width / rw));
    const text = withWordSpaces(decoded.chars, xs, crop);
    words.push({ text, confidence: decoded.confidence, box: group[i].box.map(([x, y]) => [round1(x), round1(y)] as Point) });
  }
  return words;
}

const clamp = (v: number, max: number) => Math.min(max, Math.max(0, v));
const round1 = (v: number) => Math.round(v * 10) / 10;
