// The shapes the OCR models run at on CUDA. Each new input shape costs a CUDA session a fresh tuning
// (backend-worker/shape-sessions.ts), and images, crop counts and text lengths vary without end: so on
// CUDA every run is padded up to one of a few shapes, each kept by its own tuned session. The padding
// costs the GPU little; on the CPU runs keep their own sizes (its cost follows the size).
import { onCuda, shapeRunner, type Runner } from '../../shape-sessions.js';
import { ort } from '../../onnx-session.js';
import type { WorkerOptions } from '../../handler-api.js';

/** The classifier's input height and width. */
export const CLS_SHAPE = [48, 192] as const;
/** The recogniser's input height; its width follows the text (at least REC_MIN_WIDTH). */
export const REC_HEIGHT = 48;
export const REC_MIN_WIDTH = 320;

/** The detector's input sides are padded to a multiple of this (the longest side is at most 960: 9 shapes). */
const DET_STEP = 320;
/** Crops per classifier run: one shape. */
export const CLS_RUN = 16;
/** Crops per recogniser run on CUDA (its one batch size), all read at the width of the widest. */
export const REC_RUN = 8;

/**
 * Crops per recogniser run. On the CPU one, each at its own width: PP-OCRv4's recogniser spends more
 * CPU a crop in a batch than alone (1 intra-op thread, 48×320: 19–20 ms alone, 27 in 4, 28–29 in 16;
 * 48×640: 49, 53, 60; with 2 threads the same), and a crop padded to a wider one's width costs its
 * extra columns too. On CUDA, REC_RUN.
 */
export const recRun = (fixedShapes: boolean): number => (fixedShapes ? REC_RUN : 1);

/** The detector's padded input side. */
export const detSide = (side: number): number => Math.ceil(side / DET_STEP) * DET_STEP;

/** The recogniser's padded width: 320, 480, 640, 960, 1280, 1920, … (× 1.5 and × 4/3 in turn, so at most a third of a run is padding). */
export function recWidthBucket(width: number): number {
  let b = 320;
  for (let k = 0; b < width; k++) b = k % 2 === 0 ? b * 1.5 : (b * 4) / 3;
  return b;
}

/** The top-left `width` × `height` of a `stride`-wide plane (a padded detector's output). */
export function cropPlane(plane: Float32Array, stride: number, width: number, height: number): Float32Array {
  if (stride === width) return plane.subarray(0, width * height);
  const out = new Float32Array(width * height);
  for (let y = 0; y < height; y++) out.set(plane.subarray(y * stride, y * stride + width), y * width);
  return out;
}

/** Sessions kept per model on CUDA: every padded detector size, the one classifier shape, six recogniser widths. */
const KEPT = { det: 9, cls: 1, rec: 6 } as const;
/** What cls and rec are warmed with on CUDA at load, so that no request pays their first tuning. */
const WARM: Partial<Record<keyof typeof KEPT, number[]>> = { cls: [CLS_RUN, 3, ...CLS_SHAPE], rec: [REC_RUN, 3, REC_HEIGHT, REC_MIN_WIDTH] };

/** One of the OCR models' runners: on CUDA, a tuned session per padded shape (shape-sessions.ts). */
export async function ocrRunner(key: keyof typeof KEPT, file: string, options: WorkerOptions): Promise<Runner> {
  const runner = await shapeRunner(file, options, KEPT[key]);
  const dims = WARM[key];
  if (dims && onCuda()) {
    await runner.run({ [runner.inputNames[0]]: new ort.Tensor('float32', new Float32Array(dims.reduce((a, b) => a * b, 1)), dims) });
  }
  return runner;
}
