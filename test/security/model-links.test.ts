// checkModelLinks on real directories: links resolved on disk, dangling links, and hard links that
// share an inode with a file outside an extracted archive.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { linkSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { checkModelLinks } from '../../frontend/control/archive/model-links.js';
import { ServerError } from '../../frontend/errors.js';

describe('checkModelLinks', () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'mms-links-'));
  after(() => rmSync(root, { recursive: true, force: true }));
  let n = 0;
  const modelDir = () => {
    const dir = path.join(root, `m${n++}`);
    mkdirSync(path.join(dir, 'sub'), { recursive: true });
    writeFileSync(path.join(dir, 'sub', 'a.txt'), 'a');
    return dir;
  };
  const refused = async (dir: string, extracted: boolean, message: RegExp) => {
    await assert.rejects(checkModelLinks(dir, { extracted }), (err: unknown) => {
      assert.ok(err instanceof ServerError);
      assert.equal(err.status, 400);
      assert.match(err.message, message);
      assert.ok(!err.message.includes(root), err.message);
      return true;
    });
  };
  writeFileSync(path.join(root, 'outside.txt'), 'outside');

  it('accepts links and hard links that stay inside', async () => {
    const dir = modelDir();
    symlinkSync('sub/a.txt', path.join(dir, 'link'));
    symlinkSync('sub', path.join(dir, 'dirlink'));
    linkSync(path.join(dir, 'sub', 'a.txt'), path.join(dir, 'hard'));
    await checkModelLinks(dir, { extracted: true });
  });

  it('refuses a chain that resolves outside, and a dangling link', async () => {
    const dir = modelDir();
    symlinkSync('..', path.join(dir, 'sub', 'up'));
    symlinkSync('sub/up/../outside.txt', path.join(dir, 'chained'));
    await refused(dir, false, /Link "chained" resolves outside the model directory/);
    const dangling = modelDir();
    symlinkSync('nothing-here', path.join(dangling, 'sub', 'gone'));
    await refused(dangling, false, /Link "sub\/gone" in the model directory points to nothing/);
  });

  it('refuses, in an extracted archive, a hard link to a file outside', async () => {
    const dir = modelDir();
    linkSync(path.join(root, 'outside.txt'), path.join(dir, 'sub', 'model.onnx'));
    await refused(dir, true, /"sub\/model.onnx" is a hard link to a file outside/);
    // A model-store directory is the operator's own: hard links there are not inspected.
    await checkModelLinks(dir, { extracted: false });
  });
});
