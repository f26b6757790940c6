// Links that are harmless one by one but escape when followed in a chain (zip and tgz), and links in
// model-store directories: every file the server or a worker opens must really lie inside the model
// directory. Refused with 400, no byte of the outside file in the body, no worker started.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { writeTgzChained, writeTgzChainedHardlink, writeZipChained, type ChainTarget } from '../helpers/chained-links.js';
import { scaleModelBytes } from '../helpers/hostile-archives.js';
import { writeModelDir } from '../helpers/onnx-models.js';
import { childPids, request, serverWithOwnDirs } from '../helpers/server.js';

describe('chained and escaping links', () => {
  const tag = randomBytes(6).toString('hex');
  // <root>/store, <root>/work; chained links land in <root>.
  const dirs = serverWithOwnDirs('mms-chain-');
  const { root, store, workDir, workDirEntries } = dirs;
  const secretText = `sEcReT${tag} private bytes`;
  const secret = `secret-${tag}.txt`;
  const outsideModel = `outside-${tag}.onnx`;
  writeFileSync(path.join(root, secret), secretText);
  writeFileSync(path.join(root, outsideModel), scaleModelBytes());

  const expectRefused = async (url: string, message: RegExp) => {
    const r = await request(`${dirs.server.managementUrl}/models?url=${encodeURIComponent(url)}&model_name=h&initial_workers=1&synchronous=true`, { method: 'POST' });
    const text = JSON.stringify(r.body);
    assert.equal(r.status, 400, `${url}: ${text}`);
    assert.equal(r.body.type, 'InvalidModelException');
    assert.match(r.body.message, message, url);
    assert.ok(!text.includes('sEcReT'), `${url}: no byte of the outside file in the body: ${text}`);
    assert.ok(!text.includes(root), `${url}: no server path in the body: ${text}`);
    assert.equal((await request(`${dirs.server.managementUrl}/models/h`)).status, 404);
    assert.deepEqual(childPids(), [], `${url}: no worker was started`);
    assert.deepEqual(workDirEntries(), [], `${url}: nothing left in work_dir`);
  };

  const cases: Array<[string, (f: string, w: ChainTarget, o: string, upLast: boolean) => string, string]> = [
    ['zip', writeZipChained, 'mar'],
    ['tgz', writeTgzChained, 'tar.gz'],
  ];
  for (const [kind, write, ext] of cases) {
    // `up` first: the archive guard sees a link passing through another; `up` last: only the walk on disk does.
    for (const [upLast, message] of [[false, /passes through another link/], [true, /resolves outside the model directory/]] as const) {
      const order = upLast ? 'the inner link last' : 'the inner link first';
      it(`${kind}, ${order}: a manifest reached through a chain of links is refused without echoing its bytes`, async () => {
        write(path.join(store, `chain-manifest.${ext}`), 'manifest', secret, upLast);
        await expectRefused(`chain-manifest.${ext}`, message);
      });

      it(`${kind}, ${order}: a model.onnx reached through a chain of links is refused and never loaded`, async () => {
        write(path.join(store, `chain-model.${ext}`), 'model', outsideModel, upLast);
        await expectRefused(`chain-model.${ext}`, message);
      });
    }
  }

  it('tgz: a hard link made through a link is refused and links nothing outside', async () => {
    writeTgzChainedHardlink(path.join(store, 'chain-hard.tar.gz'), outsideModel);
    await expectRefused('chain-hard.tar.gz', /link/);
    assert.equal(statSync(path.join(root, outsideModel)).nlink, 1);
  });

  it('a model-store directory whose model.onnx or manifest links outside is refused', async () => {
    const modelLink = writeModelDir(path.join(store, 'dir-model'), { name: 'h', build: () => undefined });
    symlinkSync(path.join('..', '..', outsideModel), path.join(modelLink, 'model.onnx'));
    await expectRefused('dir-model', /model\.onnx.*outside the model directory/);

    const manifestLink = path.join(store, 'dir-manifest');
    mkdirSync(path.join(manifestLink, 'MAR-INF'), { recursive: true });
    writeFileSync(path.join(manifestLink, 'model.onnx'), scaleModelBytes());
    symlinkSync(path.join(root, secret), path.join(manifestLink, 'MAR-INF', 'MANIFEST.json'));
    await expectRefused('dir-manifest', /MANIFEST\.json.*outside the model directory/);
  });

  it('a manifest that is not JSON is refused without echoing its bytes', async () => {
    const dir = path.join(store, 'dir-badjson');
    mkdirSync(path.join(dir, 'MAR-INF'), { recursive: true });
    writeFileSync(path.join(dir, 'MAR-INF', 'MANIFEST.json'), secretText);
    await expectRefused('dir-badjson', /malformed JSON/);
  });

  it('links that stay inside the model directory still work', async () => {
    const dir = writeModelDir(path.join(store, 'dir-inside'), { name: 'inside', build: () => undefined });
    mkdirSync(path.join(dir, 'weights'));
    writeFileSync(path.join(dir, 'weights', 'real.onnx'), scaleModelBytes());
    symlinkSync(path.join('weights', 'real.onnx'), path.join(dir, 'model.onnx'));
    const r = await request(`${dirs.server.managementUrl}/models?url=dir-inside&initial_workers=1&synchronous=true`, { method: 'POST' });
    assert.deepEqual([r.status, r.body], [200, { status: 'Workers scaled' }]);
    assert.equal((await request(`${dirs.server.managementUrl}/models/inside`, { method: 'DELETE' })).status, 200);
  });
});
