// What an install resolves: the dependencies whose native parts matter are pinned to the lockfile's
// version (a range let a tarball install take onnxruntime-node 1.31.1 beside a 1.30.0 lockfile), no
// dependency asks for a Node version that `engines` allows and it does not support, and npm 11's
// install-script approvals cover every package with an install script.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const pkg = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8'));
const lock = JSON.parse(readFileSync(`${ROOT}package-lock.json`, 'utf8'));
const locked = (name: string) => lock.packages[`node_modules/${name}`];

describe('install pins', () => {
  it('onnxruntime-node is pinned exactly to the lockfile version', () => {
    assert.equal(pkg.dependencies['onnxruntime-node'], locked('onnxruntime-node').version);
  });

  it('no locked package needs a newer Node than the oldest engines allows', () => {
    const oldest = Number(/\^(\d+)\./.exec(pkg.engines.node)![1]);
    const needy = Object.entries(lock.packages as Record<string, { engines?: { node?: string } }>)
      .filter(([, p]) => /^>=\s*(\d+)/.test(p.engines?.node ?? '') && Number(/^>=\s*(\d+)/.exec(p.engines!.node!)![1]) > oldest)
      .map(([name, p]) => `${name} (${p.engines!.node})`);
    assert.deepEqual(needy, []);
  });

  it('every locked package with an install script is approved or denied in allowScripts', () => {
    const scripted = Object.entries(lock.packages as Record<string, { hasInstallScript?: boolean }>)
      .filter(([name, p]) => name !== '' && p.hasInstallScript)
      .map(([name]) => name.slice(name.lastIndexOf('node_modules/') + 'node_modules/'.length));
    const unreviewed = [...new Set(scripted)].filter((name) => !(name in pkg.allowScripts));
    assert.deepEqual(unreviewed, []);
  });
});
