// The `ocr` pipeline's three stages (docs/pipelines.md, "The bundled OCR"), the single `ocr` handler
// cut where its models meet: `ocr_det` (an image → its text crops), `ocr_cls` (a crop → the crop, turned
// round when upside down) and `ocr_rec` (crops of every request in flight → text; its gather orders
// one request's words into lines, as the `ocr` handler answers). A crop travels as two parts: `image`
// (raw RGB bytes) and `crop` (JSON: width, height, box, the width it is recognised at, flipped).
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { onCuda, type Runner } from '../../shape-sessions.js';
import { REC_RUN, ocrRunner, recRun } from './ocr-shapes.js';
import { jsonResult, type Handler, type HandlerContext, type InferenceInput, type InferenceOutput } from '../../handler-api.js';
import { loadCharset } from './ctc-decode.js';
import { DEFAULT_MAX_PIXELS, decodeImage, imageBytes } from './image-input.js';
import { OCR_DEFAULTS, assemble, classify, detect, recWidth, recWidths, recogniseRun, type Crop } from './ocr-pipeline.js';
import { OCR_FILES } from './ocr-handler.js';
import type { Point } from './geometry.js';
import type { Word } from './text-lines.js';

interface CropMeta {
  width: number;
  height: number;
  box: Point[];
  recWidth: number;
  flipped?: boolean;
}

type Extensions = Partial<Record<keyof typeof OCR_FILES | 'maxPixels', string | number>>;
const extensions = (ctx: HandlerContext) => (ctx.manifest.model.extensions ?? {}) as Extensions;
const file = (ctx: HandlerContext, key: keyof typeof OCR_FILES) => path.join(ctx.modelDir, String(extensions(ctx)[key] ?? OCR_FILES[key]));

const cropItem = (c: Crop, meta: Omit<CropMeta, 'width' | 'height' | 'box'>) => ({
  image: c.image.data,
  crop: { width: c.image.width, height: c.image.height, box: c.box, ...meta },
});

function readCrop(item: InferenceInput): { crop: Crop; meta: CropMeta } {
  const meta = JSON.parse(item.params.crop.value.toString('utf8')) as CropMeta;
  return { crop: { image: { data: item.params.image.value, width: meta.width, height: meta.height }, box: meta.box }, meta };
}

/** Each item on its own: a failing one fails alone. */
async function perItem<T>(batch: T[], fn: (item: T) => Promise<InferenceOutput>): Promise<InferenceOutput[]> {
  const out: InferenceOutput[] = [];
  for (const item of batch) out.push(await fn(item).catch((err: Error) => err));
  return out;
}

export class OcrDetStage implements Handler {
  private det!: Runner;
  private fixedShapes = false;
  private maxPixels = DEFAULT_MAX_PIXELS;

  async initialize(ctx: HandlerContext): Promise<void> {
    this.det = await ocrRunner('det', file(ctx, 'det'), ctx.options);
    this.fixedShapes = onCuda();
    const max = extensions(ctx).maxPixels;
    if (typeof max === 'number') this.maxPixels = max;
  }

  handle(batch: InferenceInput[]): Promise<InferenceOutput[]> {
    return perItem(batch, async (item) => {
      const crops = await detect(await decodeImage(imageBytes(item), this.maxPixels), this.det, OCR_DEFAULTS.detLimit, this.fixedShapes);
      // The width a CUDA rec stage reads a crop at is fixed here, by the image's own runs, so batching
      // crops of other requests together there cannot change what a crop reads (on the CPU each crop
      // runs alone, at its own width).
      const widths = recWidths(crops, REC_RUN);
      return { items: crops.map((c, i) => cropItem(c, { recWidth: widths[i] })) };
    });
  }
}

export class OcrClsStage implements Handler {
  private cls!: Runner;
  private fixedShapes = false;

  async initialize(ctx: HandlerContext): Promise<void> {
    this.cls = await ocrRunner('cls', file(ctx, 'cls'), ctx.options);
    this.fixedShapes = onCuda();
  }

  /** The crops of the whole batch, whatever request each came from, in one run. */
  async handle(batch: InferenceInput[]): Promise<InferenceOutput[]> {
    const read = batch.map(readCrop);
    const flipped = await classify(read.map((r) => r.crop), this.cls, OCR_DEFAULTS.clsThresh, this.fixedShapes);
    return read.map((r, i) => ({ items: [cropItem(r.crop, { recWidth: r.meta.recWidth, flipped: flipped[i] })] }));
  }
}

export class OcrRecStage implements Handler {
  private rec!: Runner;
  private fixedShapes = false;
  private charset: string[] = [];

  async initialize(ctx: HandlerContext): Promise<void> {
    const [rec, dictionary] = await Promise.all([ocrRunner('rec', file(ctx, 'rec'), ctx.options), readFile(file(ctx, 'dictionary'), 'utf8')]);
    this.rec = rec;
    this.fixedShapes = onCuda();
    this.charset = loadCharset(dictionary);
  }

  /**
   * On CUDA crops of one width run together (those of other requests included); on the CPU each alone,
   * at its own width, as the single handler reads them (ocr-shapes.ts `recRun`).
   */
  async handle(batch: InferenceInput[]): Promise<InferenceOutput[]> {
    const read = batch.map(readCrop);
    const byWidth = new Map<number, number[]>();
    read.forEach((r, i) => {
      const width = this.fixedShapes ? r.meta.recWidth : recWidth(r.crop);
      const members = byWidth.get(width);
      if (members) members.push(i);
      else byWidth.set(width, [i]);
    });
    const out: InferenceOutput[] = new Array(batch.length);
    const size = recRun(this.fixedShapes);
    for (const [width, members] of byWidth) {
      for (let start = 0; start < members.length; start += size) {
        const run = members.slice(start, start + size);
        const words = await recogniseRun(run.map((i) => read[i].crop), width, this.rec, this.charset, this.fixedShapes);
        run.forEach((i, k) => (out[i] = jsonResult({ ...words[k], flipped: read[i].meta.flipped === true })));
      }
    }
    return out;
  }

  /** One request's words, in detection order, as the `ocr` handler answers them. */
  gather(input: InferenceInput): InferenceOutput {
    const parts = Object.keys(input.params).sort((a, b) => Number(a) - Number(b));
    let flipped = 0;
    const words = parts.map((k): Word => {
      const w = JSON.parse(input.params[k].value.toString('utf8')) as Word & { flipped: boolean };
      if (w.flipped) flipped++;
      return { text: w.text, confidence: w.confidence, box: w.box };
    });
    const { lines, upsideDown } = assemble(words, flipped, words.length);
    return jsonResult({ text: lines.map((l) => l.text).join('\n'), upside_down: upsideDown, lines });
  }
}
