// The `ocr` handler: an image (raw body or multipart file) in, text lines with confidence and box
// polygons out, in reading order. The archive holds det.onnx, cls.onnx, rec.onnx and the dictionary
// (file names overridable in model.extensions).
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { onCuda } from '../../shape-sessions.js';
import { jsonResult, type Handler, type HandlerContext, type InferenceInput, type InferenceOutput } from '../../handler-api.js';
import { loadCharset } from './ctc-decode.js';
import { DEFAULT_MAX_PIXELS, decodeImage, imageBytes } from './image-input.js';
import { readText, type OcrModels } from './ocr-pipeline.js';
import { ocrRunner } from './ocr-shapes.js';

export const OCR_FILES = { det: 'det.onnx', cls: 'cls.onnx', rec: 'rec.onnx', dictionary: 'ppocr_keys_v1.txt' };
const FILES = OCR_FILES;

export class OcrHandler implements Handler {
  private models!: OcrModels;
  private maxPixels = DEFAULT_MAX_PIXELS;

  async initialize(ctx: HandlerContext): Promise<void> {
    const ext = (ctx.manifest.model.extensions ?? {}) as Partial<Record<keyof typeof FILES | 'maxPixels', string | number>>;
    const file = (key: keyof typeof FILES) => path.join(ctx.modelDir, String(ext[key] ?? FILES[key]));
    const [det, cls, rec, dictionary] = await Promise.all([
      ocrRunner('det', file('det'), ctx.options),
      ocrRunner('cls', file('cls'), ctx.options),
      ocrRunner('rec', file('rec'), ctx.options),
      readFile(file('dictionary'), 'utf8'),
    ]);
    this.models = { det, cls, rec, charset: loadCharset(dictionary), fixedShapes: onCuda() };
    if (typeof ext.maxPixels === 'number') this.maxPixels = ext.maxPixels;
  }

  async handle(batch: InferenceInput[]): Promise<InferenceOutput[]> {
    const out: InferenceOutput[] = [];
    for (const item of batch) {
      try {
        const image = await decodeImage(imageBytes(item), this.maxPixels);
        const { lines, upsideDown } = await readText(image, this.models);
        out.push(jsonResult({ text: lines.map((l) => l.text).join('\n'), upside_down: upsideDown, lines }));
      } catch (err) {
        out.push(err as Error);
      }
    }
    return out;
  }
}
