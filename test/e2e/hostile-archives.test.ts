// Hostile archives registered over the Management API of a real server: every one is refused with a
// 4xx JSON error naming the problem, nothing is registered, nothing is left in work_dir, nothing is
// written outside it, no handler outside the archive runs, and the server keeps serving a good model.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { lstatSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  manifestJson,
  scaleModelBytes,
  writeGoodTgz,
  writeGoodZip,
  writeTgzBadChecksum,
  writeTgzHardlinkOutside,
  writeTgzSlip,
  writeTgz,
  writeTgzSymlinkOutside,
  writeZipAbsolute,
  writeZipBadManifest,
  writeZipBomb,
  writeZipDuplicateManifest,
  writeZipHandlerEscape,
  writeZipManyEntries,
  writeZipNoManifest,
  writeZipSlip,
  writeZipSymlink,
  writeZipTruncated,
} from '../helpers/hostile-archives.js';
import { postJson, request, serverWithOwnDirs, startTestServer, v2Request, type JsonResponse } from '../helpers/server.js';

describe('hostile archives', () => {
  const tag = randomBytes(6).toString('hex');
  // Layout: <root>/store (model store), <root>/work (work_dir). An extracted archive lives in
  // <root>/work/<label>-XXXXXX, so `../../x` from there lands in <root>, and deeper climbs in /tmp.
  const dirs = serverWithOwnDirs('mms-hostile-');
  const { root, store, workDir, workDirEntries } = dirs;
  const exists = (p: string) => {
    try {
      lstatSync(p);
      return true;
    } catch {
      return false;
    }
  };

  const register = (file: string, extra = '') =>
    request(`${dirs.server.managementUrl}/models?url=${encodeURIComponent(file)}&model_name=h&initial_workers=1&synchronous=true${extra}`, { method: 'POST' });

  interface Case {
    /** File name in the model store. */
    file: string;
    build: (file: string) => unknown;
    message: RegExp;
    status?: number;
    type?: string;
    /** Paths an escape would have created; none may exist afterwards. */
    escapes?: string[];
  }

  const expectRefused = async (c: Case): Promise<JsonResponse> => {
    const file = path.join(store, c.file);
    c.build(file);
    const r = await register(c.file);
    const status = c.status ?? 400;
    assert.equal(r.status, status, `${c.file}: ${JSON.stringify(r.body)}`);
    assert.match(r.headers.get('content-type') ?? '', /application\/json/);
    assert.deepEqual(Object.keys(r.body).sort(), ['code', 'errorCode', 'message', 'type']);
    assert.equal(r.body.code, status);
    assert.equal(r.body.type, c.type ?? 'InvalidModelException');
    assert.match(r.body.message, c.message);
    // Not registered, under the requested name or the manifest's.
    assert.equal((await request(`${dirs.server.managementUrl}/models/h`)).status, 404);
    const list = await request(`${dirs.server.managementUrl}/models`);
    assert.deepEqual(list.body.models.filter((m: { modelName: string }) => m.modelName !== 'good'), []);
    // Nothing left behind, nothing written outside.
    assert.deepEqual(workDirEntries(), [], `${c.file}: work_dir is empty afterwards`);
    for (const p of c.escapes ?? []) assert.equal(exists(p), false, `${c.file}: ${p} must not exist`);
    // The archive itself is the store's and stays as it was.
    assert.ok(statSync(file).isFile());
    return r;
  };

  it('a hand-built zip and tgz are accepted (the writers are sound), and removed again', async () => {
    writeGoodZip(path.join(store, 'good-control.mar'));
    writeGoodTgz(path.join(store, 'good-control.tar.gz'));
    for (const file of ['good-control.mar', 'good-control.tar.gz']) {
      const r = await request(`${dirs.server.managementUrl}/models?url=${file}&model_name=control&initial_workers=0`, { method: 'POST' });
      assert.deepEqual([r.status, r.body], [200, { status: 'Model "control" registered' }], file);
      assert.equal(workDirEntries().length, 1, `${file} is extracted into its own dir under work_dir`);
      const d = await request(`${dirs.server.managementUrl}/models/control`, { method: 'DELETE' });
      assert.equal(d.status, 200);
      assert.deepEqual(workDirEntries(), []);
    }
  });

  it('zip-slip entries (../../x, a/../../../x, ..\\..\\x) are refused', async () => {
    const slips = [
      { name: `../../slip-${tag}`, target: path.join(root, `slip-${tag}`) },
      { name: `inner/../../../slip2-${tag}`, target: path.join(root, `slip2-${tag}`) },
      { name: `..\\..\\slip3-${tag}`, target: path.join(root, `slip3-${tag}`) },
      { name: `../../../../../../../../../../tmp/slip4-${tag}`, target: `/tmp/slip4-${tag}` },
    ];
    for (const s of slips) {
      await expectRefused({
        file: 'slip.mar',
        build: (f) => writeZipSlip(f, s.name),
        message: /escapes the model directory/,
        escapes: [s.target, path.join(os.tmpdir(), path.basename(s.target)), path.join(store, path.basename(s.target))],
      });
    }
  });

  it('an absolute entry name (/tmp/abs-<random>) is refused', async () => {
    const abs = `/tmp/abs-${tag}`;
    await expectRefused({ file: 'abs.mar', build: (f) => writeZipAbsolute(f, abs), message: /absolute path/, escapes: [abs] });
  });

  it('a zip symlink pointing outside (../../.. or /etc) is refused before link/evil is written', async () => {
    await expectRefused({
      file: 'symlink-rel.mar',
      build: (f) => writeZipSymlink(f, '../../..'),
      message: /link "link" points outside the model directory/,
      escapes: [path.join(root, '..', 'evil'), path.join(root, 'evil')],
    });
    await expectRefused({
      file: 'symlink-abs.mar',
      build: (f) => writeZipSymlink(f, '/etc'),
      message: /link "link" points to an absolute path: \/etc/,
      escapes: ['/etc/evil'],
    });
  });

  it('writing through a symlink made by the same archive is refused even when the link points inside', async () => {
    await expectRefused({ file: 'symlink-inner.mar', build: (f) => writeZipSymlink(f, 'inner'), message: /"link\/evil" would be written through a link/ });
  });

  it('a zip bomb (a few KB on disk, over 1 GB extracted) is refused', async () => {
    let info: ReturnType<typeof writeZipBomb> | undefined;
    const r = await expectRefused({
      file: 'bomb.mar',
      build: (f) => {
        info = writeZipBomb(f);
      },
      message: /expands more than 200× its size|archive bomb|max_extracted_size/,
    });
    assert.ok(info!.size < 200 * 1024, `bomb file is small (${info!.size} bytes)`);
    assert.ok(info!.expanded >= 1e9, `bomb expands to ≥ 1 GB (${info!.expanded} bytes)`);
  });

  it('a zip bomb is also stopped by max_extracted_size when the ratio guard would allow it', async () => {
    // 40 copies × 1 MiB from a ~3 KB file: far past the ratio too, so lower max_extracted_size below
    // the ratio floor (16 MiB) to see that limit act on its own.
    const s = await startTestServer({ work_dir: workDir, max_extracted_size: String(4 * 1024 * 1024) }, store);
    try {
      writeZipBomb(path.join(store, 'bomb-small.mar'), 40);
      const r = await request(`${s.managementUrl}/models?url=bomb-small.mar&model_name=h&initial_workers=0`, { method: 'POST' });
      assert.equal(r.status, 400, JSON.stringify(r.body));
      assert.equal(r.body.type, 'InvalidModelException');
      assert.match(r.body.message, /more than 4194304 bytes \(max_extracted_size\)/);
      assert.deepEqual(workDirEntries(), []);
    } finally {
      await s.close();
    }
  });

  it('100,000 tiny entries are refused by max_archive_entries from the central directory', async () => {
    await expectRefused({ file: 'many.mar', build: (f) => writeZipManyEntries(f, 100_000), message: /100\d+ entries, more than 10000 \(max_archive_entries\)/ });
  });

  it('a truncated zip is refused', async () => {
    await expectRefused({ file: 'truncated.mar', build: writeZipTruncated, message: /Invalid or truncated zip archive/ });
  });

  it('a tgz with a corrupted header checksum is refused', async () => {
    await expectRefused({ file: 'badsum.tar.gz', build: writeTgzBadChecksum, message: /Invalid tar archive: .*checksum/i });
  });

  it('a tgz symlink or hard link pointing outside is refused', async () => {
    await expectRefused({
      file: 'tar-symlink.tar.gz',
      build: (f) => writeTgzSymlinkOutside(f, '../../..'),
      message: /link "h\/escape" points outside the model directory/,
      escapes: [path.join(root, 'evil'), path.join(root, '..', 'evil')],
    });
    await expectRefused({
      file: 'tar-symlink-abs.tar.gz',
      build: (f) => writeTgzSymlinkOutside(f, `/tmp/tarlink-${tag}`),
      message: /link "h\/escape" points to an absolute path/,
      escapes: [`/tmp/tarlink-${tag}`],
    });
    const secret = path.join(root, `secret-${tag}`);
    writeFileSync(secret, 'secret\n');
    await expectRefused({
      file: 'tar-hardlink.tar.gz',
      build: (f) => writeTgzHardlinkOutside(f, `../secret-${tag}`),
      message: /link "h\/model.onnx" points outside the model directory/,
    });
    await expectRefused({
      file: 'tar-hardlink-abs.tar.gz',
      build: (f) => writeTgzHardlinkOutside(f, secret),
      message: /link "h\/model.onnx" points to an absolute path/,
    });
    assert.equal(statSync(secret).nlink, 1, 'no hard link to the outside file was made');
    rmSync(secret);
  });

  it('tgz entries climbing out or absolute are refused', async () => {
    await expectRefused({ file: 'tar-slip.tar.gz', build: (f) => writeTgzSlip(f, `../../tarslip-${tag}`), message: /escapes the model directory/, escapes: [path.join(root, `tarslip-${tag}`)] });
    await expectRefused({ file: 'tar-abs.tar.gz', build: (f) => writeTgzSlip(f, `/tmp/tarabs-${tag}`), message: /absolute path/, escapes: [`/tmp/tarabs-${tag}`] });
  });

  it('a MANIFEST.json with wrong types is refused, naming the field', async () => {
    const base = { runtime: 'onnx', model: { modelName: 'h', handler: 'onnx' } };
    await expectRefused({ file: 'badtypes1.mar', build: (f) => writeZipBadManifest(f, { ...base, model: { ...base.model, batchSize: 'big' } }), message: /Invalid MAR-INF\/MANIFEST.json: .*model\.batchSize/ });
    await expectRefused({ file: 'badtypes2.mar', build: (f) => writeZipBadManifest(f, { ...base, runtime: 42 }), message: /Invalid MAR-INF\/MANIFEST.json: .*runtime.*42/ });
    await expectRefused({ file: 'badtypes3.mar', build: (f) => writeZipBadManifest(f, { ...base, model: { ...base.model, handler: ['onnx'] } }), message: /model\.handler must be a string/ });
    await expectRefused({ file: 'badtypes4.mar', build: (f) => writeZipBadManifest(f, { ...base, model: 'scale' }), message: /Missing Model entry/ });
    await expectRefused({ file: 'badtypes5.mar', build: (f) => writeZipBadManifest(f, [base]), message: /must be a JSON object/ });
  });

  it('a manifest modelVersion that model_version would refuse ("../../1") is refused with the same words', async () => {
    const model = { modelName: 'h', handler: 'onnx', modelVersion: '../../1' };
    await expectRefused({
      file: 'badversion.mar',
      build: (f) => writeZipBadManifest(f, { runtime: 'onnx', model }),
      message: /Invalid MAR-INF\/MANIFEST.json: Manifest field model\.modelVersion: Invalid model version "\.\.\/\.\.\/1": use at most 64 letters/,
    });
    const param = await request(`${dirs.server.managementUrl}/models?url=x.mar&model_version=${encodeURIComponent('../../1')}`, { method: 'POST' });
    assert.equal(param.status, 400);
    assert.match(param.body.message, /^Invalid model version "\.\.\/\.\.\/1": use at most 64 letters/);
  });

  it('a tgz with a second MAR-INF/MANIFEST.json entry is refused', async () => {
    const manifest = { name: 'h/MAR-INF/MANIFEST.json', data: manifestJson('h') };
    await expectRefused({ file: 'dup.tar.gz', build: (f) => writeTgz(f, [manifest, { name: 'h/model.onnx', data: scaleModelBytes() }, manifest]), message: /duplicate entry: h\/MAR-INF\/MANIFEST.json/ });
  });

  it('a zip with a second MAR-INF/MANIFEST.json entry is refused', async () => {
    await expectRefused({ file: 'dup.mar', build: writeZipDuplicateManifest, message: /duplicate entry: MAR-INF\/MANIFEST.json/ });
  });

  it('a zip without MAR-INF/MANIFEST.json is refused', async () => {
    await expectRefused({ file: 'nomanifest.mar', build: writeZipNoManifest, message: /has no MAR-INF\/MANIFEST.json/ });
  });

  it('a runtime-node manifest handler outside the archive (../outside.js) is refused and never runs', async () => {
    // Plant the file the handler names, right where `../outside.js` resolves from an extracted dir,
    // so only the containment check (not a missing file) can stop it; it leaves a marker if imported.
    const marker = path.join(root, `outside-ran-${tag}`);
    const outside = path.join(workDir, 'outside.js');
    mkdirSync(workDir, { recursive: true });
    writeFileSync(outside, `import { writeFileSync } from 'node:fs';\nwriteFileSync(${JSON.stringify(marker)}, 'ran');\nexport function handle(b) { return b.map(() => 'outside'); }\n`);
    try {
      const file = path.join(store, 'escape-handler.mar');
      writeZipHandlerEscape(file);
      const r = await register('escape-handler.mar');
      assert.equal(r.status, 400, JSON.stringify(r.body));
      assert.equal(r.body.type, 'InvalidModelException');
      assert.match(r.body.message, /Handler path is outside the model directory: \.\.\/outside\.js/);
      assert.equal((await request(`${dirs.server.managementUrl}/models/h`)).status, 404);
      assert.deepEqual(workDirEntries(), ['outside.js'], 'only the planted file is left in work_dir');
      assert.equal(exists(marker), false, 'the outside handler was never imported');
    } finally {
      rmSync(outside, { force: true });
    }
    // And with nothing planted there: still refused, nothing left behind.
    await expectRefused({ file: 'escape-handler2.mar', build: (f) => writeZipHandlerEscape(f, '../outside.js'), message: /outside the model directory|Handler file not found/ });
    await expectRefused({ file: 'escape-handler3.mar', build: (f) => writeZipHandlerEscape(f, '/etc/passwd'), message: /outside the model directory|Handler file not found/ });
  });

  it('the server still registers and serves a good archive afterwards', async () => {
    writeGoodZip(path.join(store, 'good.mar'), 'good');
    const r = await request(`${dirs.server.managementUrl}/models?url=good.mar&initial_workers=1&synchronous=true`, { method: 'POST' });
    assert.deepEqual([r.status, r.body], [200, { status: 'Workers scaled' }]);
    const p = await postJson(`${dirs.server.inferenceUrl}/predictions/good`, v2Request('x', [1, 4], [1, 2, 3, 4.5]));
    assert.equal(p.status, 200, JSON.stringify(p.body));
    assert.deepEqual(p.body.outputs, [{ name: 'y', datatype: 'FP32', shape: [1, 4], data: [2, 4, 6, 9] }]);
    assert.equal(workDirEntries().length, 1);
    const d = await request(`${dirs.server.managementUrl}/models/good`, { method: 'DELETE' });
    assert.equal(d.status, 200);
    assert.deepEqual(workDirEntries(), []);
  });
});
