// The bundled `ocr` archive is a three-stage pipeline (det → cls → rec): its answers are the single
// `ocr` handler's, byte for byte, alone and with the rec stage batching crops of many requests.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { request, startTestServer, type TestServer } from '../helpers/server.js';
import { expectedOcr, helloPng, rotated180 } from '../helpers/images.js';
import { fileURLToPath } from 'node:url';

const DEFAULT_STORE = fileURLToPath(new URL('../../default-store/', import.meta.url));

/** `times` copies of the fixture one under another: many text crops in one image. */
async function stacked(times: number): Promise<Buffer> {
  const png = helloPng();
  const { width = 0, height = 0 } = await sharp(png).metadata();
  return sharp({ create: { width, height: height * times, channels: 3, background: '#ffffff' } })
    .composite(Array.from({ length: times }, (_, i) => ({ input: png, top: i * height, left: 0 })))
    .png()
    .toBuffer();
}

describe('the bundled OCR pipeline', () => {
  let server: TestServer;
  const ocr = async (model: string, image: Buffer) => {
    const r = await fetch(`${server.inferenceUrl}/predictions/${model}`, { method: 'POST', body: image as unknown as BodyInit, headers: { 'content-type': 'image/png' } });
    return { status: r.status, text: await r.text() };
  };

  before(async () => {
    server = await startTestServer();
    copyFileSync(path.join(DEFAULT_STORE, 'ocr.mar'), path.join(server.store, 'ocr.mar'));
    for (const extra of ['', '&model_name=single&handler=ocr']) {
      const r = await request(`${server.managementUrl}/models?url=ocr.mar&initial_workers=1&synchronous=true${extra}`, { method: 'POST' });
      assert.equal(r.status, 200, JSON.stringify(r.body));
    }
  });
  after(() => server.close());

  it('runs as det → cls → rec, and answers as the single handler does', { timeout: 120_000 }, async () => {
    const d = (await request(`${server.managementUrl}/models/ocr`)).body;
    assert.deepEqual(d.stages.map((s: { name: string; handler: string }) => [s.name, s.handler]), [['det', 'ocr_det'], ['cls', 'ocr_cls'], ['rec', 'ocr_rec']]);
    assert.equal((await request(`${server.managementUrl}/models/single`)).body.handler, 'ocr');
    const images = [helloPng(), await rotated180(helloPng()), await stacked(10)];
    for (const image of images) {
      const [pipeline, single] = [await ocr('ocr', image), await ocr('single', image)];
      assert.equal(pipeline.status, 200, pipeline.text);
      assert.equal(pipeline.text, single.text);
    }
    const many = JSON.parse((await ocr('ocr', images[2])).text);
    assert.equal(many.lines.length, 10);
    assert.ok(many.lines.every((l: { text: string }) => l.text === expectedOcr()['hello.png'][0]));
  });

  it('gives every request its own answer while the rec stage batches crops across them', { timeout: 120_000 }, async () => {
    const images = [helloPng(), await rotated180(helloPng()), await stacked(3), await stacked(10)];
    const want = await Promise.all(images.map((i) => ocr('single', i)));
    const got = await Promise.all(Array.from({ length: 12 }, (_, k) => ocr('ocr', images[k % images.length])));
    got.forEach((g, k) => assert.equal(g.text, want[k % images.length].text, `request ${k}`));
    const metrics = await (await fetch(`${server.metricsUrl}/metrics`)).text();
    const count = Number(/mms_batch_size_count\{model="ocr#rec"\} (\d+)/.exec(metrics)?.[1]);
    const sum = Number(/mms_batch_size_sum\{model="ocr#rec"\} (\d+)/.exec(metrics)?.[1]);
    assert.ok(sum > count, `rec ran ${count} batches for ${sum} crops: some held several`);
  });
});
