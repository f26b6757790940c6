// The `image_classifier` handler: image → resize and normalise as the manifest says → ONNX → top-k
// labels from a labels file in the archive. Options live in model.extensions (docs/handlers.md).
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { DEFAULT_MODEL_FILE } from '../../../protocol/manifest.js';
import { createSession, ort, type Session } from '../../onnx-session.js';
import { jsonResult, type Handler, type HandlerContext, type InferenceInput, type InferenceOutput } from '../../handler-api.js';
import { DEFAULT_MAX_PIXELS, decodeImage, imageBytes } from './image-input.js';
import { resize, toChw, type RawImage } from './raw-image.js';

interface Options {
  /** [height, width] of the model input. */
  size: [number, number];
  mean: number[];
  std: number[];
  layout: 'NCHW' | 'NHWC';
  channelOrder: 'RGB' | 'BGR';
  /** stretch: resize to size; pad: keep aspect ratio, fit the height, pad right (PaddleOCR style). */
  resize: 'stretch' | 'pad';
  /** Apply softmax to the outputs (off when the model already ends in one). */
  softmax: boolean;
  topK: number;
  labels: string;
  maxPixels: number;
  /** Cut a uniform border away first (a line of text on a page). */
  trim: boolean;
}

const DEFAULTS: Options = {
  size: [224, 224],
  mean: [0.485, 0.456, 0.406],
  std: [0.229, 0.224, 0.225],
  layout: 'NCHW',
  channelOrder: 'RGB',
  resize: 'stretch',
  softmax: false,
  topK: 5,
  labels: 'labels.txt',
  maxPixels: DEFAULT_MAX_PIXELS,
  trim: false,
};

export class ImageClassifierHandler implements Handler {
  private session!: Session;
  private o!: Options;
  private labels: string[] = [];

  async initialize(ctx: HandlerContext): Promise<void> {
    const ext = (ctx.manifest.model.extensions ?? {}) as Partial<Options> & { size?: number | [number, number] };
    this.o = { ...DEFAULTS, ...ext, size: typeof ext.size === 'number' ? [ext.size, ext.size] : (ext.size ?? DEFAULTS.size) };
    this.session = await createSession(path.join(ctx.modelDir, ctx.manifest.model.modelFile ?? DEFAULT_MODEL_FILE), ctx.options);
    const text = await readFile(path.join(ctx.modelDir, this.o.labels), 'utf8').catch(() => '');
    this.labels = text.split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
  }

  async handle(batch: InferenceInput[]): Promise<InferenceOutput[]> {
    const [h, w] = this.o.size;
    const images: Array<RawImage | Error> = [];
    for (const item of batch) {
      try {
        images.push(await this.prepare(await decodeImage(imageBytes(item), this.o.maxPixels, this.o.trim)));
      } catch (err) {
        images.push(err as Error);
      }
    }
    const ok = images.filter((i): i is RawImage => !(i instanceof Error));
    if (ok.length === 0) return images;
    const data = new Float32Array(ok.length * 3 * h * w);
    ok.forEach((img, i) => this.write(img, data, i * 3 * h * w));
    const dims = this.o.layout === 'NCHW' ? [ok.length, 3, h, w] : [ok.length, h, w, 3];
    const out = await this.session.run({ [this.session.inputNames[0]]: new ort.Tensor('float32', data, dims) });
    const scores = out[this.session.outputNames[0]].data as Float32Array;
    const classes = scores.length / ok.length;
    let next = 0;
    return images.map((img) => (img instanceof Error ? img : jsonResult(this.topK(scores.subarray(next * classes, ++next * classes)))));
  }

  private async prepare(img: RawImage): Promise<RawImage> {
    const [h, w] = this.o.size;
    if (this.o.resize === 'stretch') return resize(img, w, h);
    const rw = Math.min(w, Math.max(1, Math.ceil((h * img.width) / img.height)));
    return resize(img, rw, h);
  }

  private write(img: RawImage, out: Float32Array, offset: number): void {
    const w = this.o.size[1];
    const bgr = this.o.channelOrder === 'BGR';
    if (this.o.layout === 'NCHW') return toChw(img, this.o.mean, this.o.std, out, offset, w, bgr);
    for (let y = 0; y < img.height; y++) {
      for (let x = 0; x < img.width; x++) {
        for (let c = 0; c < 3; c++) {
          const v = img.data[(y * img.width + x) * 3 + (bgr ? 2 - c : c)];
          out[offset + (y * w + x) * 3 + c] = (v / 255 - this.o.mean[c]) / this.o.std[c];
        }
      }
    }
  }

  private topK(raw: Float32Array): Array<{ label: string; score: number; index: number }> {
    let probs = Array.from(raw);
    if (this.o.softmax) {
      const max = Math.max(...probs);
      const exps = probs.map((v) => Math.exp(v - max));
      const sum = exps.reduce((a, b) => a + b, 0);
      probs = exps.map((e) => e / sum);
    }
    return probs
      .map((score, index) => ({ label: this.labels[index] ?? String(index), score, index }))
      .sort((a, b) => b.score - a.score)
      .slice(0, this.o.topK);
  }
}
