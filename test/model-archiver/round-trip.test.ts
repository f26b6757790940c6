// The real `model-archiver` CLI → a real server: every archive format is packed from a model dir
// (litter skipped), listed, registered over the Management API, served (KServe v2), unregistered,
// and its extracted copy removed from work_dir (a no-archive dir is used in place and kept). Custom
// JS handlers (ES module and CommonJS) that import onnxruntime-node by its bare name round-trip the
// same way, though the extracted archive has no node_modules of its own.
// CLI failures print `ERROR - ...` and exit non-zero without writing anything.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tar from 'tar';
import unzipper from 'unzipper';
import { archiver, zipListing, type CliResult } from '../helpers/archiver.js';
import { writeScaleModel } from '../helpers/onnx-models.js';
import { postJson, request, startTestServer, v2Request, type TestServer } from '../helpers/server.js';

const DOCS_ARCHIVES = fileURLToPath(new URL('../../../docs/archives.md', import.meta.url));

/** The `// handler.mjs` code block of docs/archives.md "Custom JS handlers". */
function docsHandlerExample(): string {
  const block = /```js\n(\/\/ handler\.mjs\n[\s\S]*?)```/.exec(readFileSync(DOCS_ARCHIVES, 'utf8'));
  assert.ok(block, 'docs/archives.md has a // handler.mjs example');
  return block[1];
}

/** Every file (not directory) under `dir`, '/'-separated, sorted. */
function listFiles(dir: string, prefix = ''): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...listFiles(path.join(dir, e.name), rel));
    else out.push(rel);
  }
  return out.sort();
}

async function tgzListing(file: string): Promise<{ names: string[]; files: string[]; manifest: any }> {
  const names: string[] = [];
  const files: string[] = [];
  let manifest = '';
  await tar.t({
    file,
    onReadEntry: (entry) => {
      names.push(entry.path);
      if (entry.type === 'File') files.push(entry.path);
      if (entry.path.endsWith('/MAR-INF/MANIFEST.json')) entry.on('data', (c: Buffer) => (manifest += c.toString('utf8')));
      else entry.resume();
    },
  });
  return { names: names.sort(), files: files.sort(), manifest: JSON.parse(manifest) };
}

function checkManifest(manifest: any, name: string, runtime = 'onnx', handler = 'onnx'): void {
  assert.equal(typeof manifest.createdOn, 'string');
  const created = Date.parse(manifest.createdOn);
  assert.ok(Number.isFinite(created) && Math.abs(Date.now() - created) < 10 * 60_000, `createdOn is now: ${manifest.createdOn}`);
  assert.equal(manifest.runtime, runtime);
  assert.equal(manifest.model.modelName, name);
  assert.equal(manifest.model.handler, handler);
  assert.equal(manifest.model.modelVersion, '1.0');
  assert.match(manifest.archiverVersion, /^\d+\.\d+\.\d+$/);
}

describe('model-archiver round trip', () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'mms-archiver-'));
  const store = path.join(root, 'store');
  const workDir = path.join(root, 'work');
  const modelPath = path.join(root, 'scale-src');
  mkdirSync(store);
  let server: TestServer;

  before(async () => {
    // A model dir with litter the archiver must skip.
    writeScaleModel(modelPath);
    mkdirSync(path.join(modelPath, 'extra', 'deeper'), { recursive: true });
    writeFileSync(path.join(modelPath, 'extra', 'notes.txt'), 'kept\n');
    writeFileSync(path.join(modelPath, 'extra', 'deeper', 'labels.json'), '["a","b"]\n');
    writeFileSync(path.join(modelPath, 'stale.pyc'), 'bytecode');
    mkdirSync(path.join(modelPath, '__pycache__'));
    writeFileSync(path.join(modelPath, '__pycache__', 'mod.cpython-311.pyc'), 'bytecode');
    writeFileSync(path.join(modelPath, '__pycache__', 'readme.txt'), 'skipped with its dir');
    server = await startTestServer({ work_dir: workDir }, store);
  });
  after(async () => {
    await server?.close();
    rmSync(root, { recursive: true, force: true });
  });

  const workDirEntries = () => (existsSync(workDir) ? readdirSync(workDir) : []);
  const EXPECTED_FILES = ['MAR-INF/MANIFEST.json', 'extra/deeper/labels.json', 'extra/notes.txt', 'model.onnx'];

  /** Registers `url` (manifest name), predicts, unregisters; checks work_dir before and after. */
  async function serve(url: string, name: string, extracted: boolean): Promise<void> {
    const r = await request(`${server.managementUrl}/models?url=${encodeURIComponent(url)}&initial_workers=1&synchronous=true`, { method: 'POST' });
    assert.deepEqual([r.status, r.body], [200, { status: 'Workers scaled' }], `register ${url}`);
    const described = await request(`${server.managementUrl}/models/${name}`);
    assert.equal(described.status, 200);
    assert.equal(described.body.modelName, name);
    assert.equal(described.body.modelVersion, '1.0');
    assert.equal(workDirEntries().length, extracted ? 1 : 0, `work_dir holds ${extracted ? 'one extracted dir' : 'nothing'}`);
    if (extracted) {
      const dir = path.join(workDir, workDirEntries()[0]);
      assert.ok(statSync(dir).isDirectory());
    }
    const p = await postJson(`${server.inferenceUrl}/predictions/${name}`, v2Request('x', [1, 4], [1, -2, 3.5, 0]));
    assert.equal(p.status, 200, JSON.stringify(p.body));
    assert.deepEqual(p.body.outputs, [{ name: 'y', datatype: 'FP32', shape: [1, 4], data: [2, -4, 7, 0] }]);
    const d = await request(`${server.managementUrl}/models/${name}`, { method: 'DELETE' });
    assert.deepEqual([d.status, d.body], [200, { status: `Model "${name}" unregistered` }]);
    assert.equal((await request(`${server.managementUrl}/models/${name}`)).status, 404);
    assert.deepEqual(workDirEntries(), [], 'the extracted directory is removed at unregister');
  }

  it('--archive-format default: a .mar (zip) without litter, served, cleaned up', async () => {
    const cli = await archiver(['--model-name', 'scale_zip', '--model-path', modelPath, '--export-path', store]);
    assert.equal(cli.code, 0, cli.stderr);
    const out = path.join(store, 'scale_zip.mar');
    assert.equal(cli.stdout.trim(), out);
    const { names, manifest } = await zipListing(out);
    assert.deepEqual(names, EXPECTED_FILES);
    checkManifest(manifest, 'scale_zip');
    assert.deepEqual(readFileSync(path.join(modelPath, 'model.onnx')), await (await unzipper.Open.file(out)).files.find((f) => f.path === 'model.onnx')!.buffer());
    await serve('scale_zip.mar', 'scale_zip', true);
    assert.ok(existsSync(out), 'the store archive itself is kept');
  });

  it('--archive-format tgz: every entry under <name>/, served, cleaned up', async () => {
    const cli = await archiver(['--model-name', 'scale_tgz', '--model-path', modelPath, '--export-path', store, '--archive-format', 'tgz']);
    assert.equal(cli.code, 0, cli.stderr);
    const out = path.join(store, 'scale_tgz.tar.gz');
    assert.equal(cli.stdout.trim(), out);
    const { names, files, manifest } = await tgzListing(out);
    assert.ok(names.length > 0);
    for (const n of names) assert.ok(n.startsWith('scale_tgz/'), `${n} is prefixed with scale_tgz/`);
    assert.deepEqual(files, EXPECTED_FILES.map((f) => `scale_tgz/${f}`));
    assert.ok(!names.some((n) => /pyc|__pycache__/.test(n)));
    checkManifest(manifest, 'scale_tgz');
    await serve('scale_tgz.tar.gz', 'scale_tgz', true);
  });

  it('--archive-format no-archive: a directory, used in place and not deleted at unregister', async () => {
    const cli = await archiver(['--model-name', 'scale_dir', '--model-path', modelPath, '--export-path', store, '--archive-format', 'no-archive']);
    assert.equal(cli.code, 0, cli.stderr);
    const out = path.join(store, 'scale_dir');
    assert.equal(cli.stdout.trim(), out);
    assert.deepEqual(listFiles(out), EXPECTED_FILES);
    checkManifest(JSON.parse(readFileSync(path.join(out, 'MAR-INF', 'MANIFEST.json'), 'utf8')), 'scale_dir');
    await serve('scale_dir', 'scale_dir', false);
    assert.deepEqual(listFiles(out), EXPECTED_FILES, 'the no-archive directory is untouched by unregister');
    // The source directory was only read.
    assert.ok(existsSync(path.join(modelPath, 'stale.pyc')) && !existsSync(path.join(modelPath, 'MAR-INF')));
  });

  describe('custom JS handlers (runtime node) that import onnxruntime-node by its bare name', () => {
    // The ES module is docs/archives.md's example, taken from the page, so the page shows what runs.
    const handlers: Record<string, string> = {
      'handler.mjs': docsHandlerExample(),
      'handler.cjs': `const ort = require('onnxruntime-node');
const path = require('node:path');
let session;
exports.initialize = async function initialize(context) {
  session = await ort.InferenceSession.create(path.join(context.modelDir, 'model.onnx'));
};
exports.handle = async function handle(batch) {
  return Promise.all(batch.map(async (item) => {
    const { values } = JSON.parse(item.params.body.value.toString());
    const out = await session.run({ x: new ort.Tensor('float32', Float32Array.from(values), [1, values.length]) });
    const y = Array.from(out.y.data);
    return { body: { y, sum: y.reduce((a, b) => a + b, 0), kind: 'cjs' }, contentType: 'application/json' };
  }));
};
`,
    };
    const expected: Record<string, unknown> = {
      'handler.mjs': { y: [2, 4, 6, 9], sum: 21 },
      'handler.cjs': { y: [2, 4, 6, 9], sum: 21, kind: 'cjs' },
    };

    it('the archive and its extracted copy have no node_modules to resolve onnxruntime-node from', () => {
      const above = (dir: string): string[] => (path.dirname(dir) === dir ? [] : [dir, ...above(path.dirname(dir))]);
      assert.ok(!above(workDir).some((d) => existsSync(path.join(d, 'node_modules', 'onnxruntime-node'))));
    });

    for (const [file, source] of Object.entries(handlers)) {
      const kind = file.endsWith('.mjs') ? 'esm' : 'cjs';
      it(`${file} (${kind === 'esm' ? 'ES module' : 'CommonJS'}): archived, registered, post-processes its own ORT run`, async () => {
        const name = `custom_${kind}`;
        const dir = path.join(root, `${name}-src`);
        writeScaleModel(dir);
        writeFileSync(path.join(dir, file), source);
        const cli = await archiver(['--model-name', name, '--model-path', dir, '--export-path', store, '--runtime', 'node', '--handler', file]);
        assert.equal(cli.code, 0, cli.stderr);
        const { names, manifest } = await zipListing(path.join(store, `${name}.mar`));
        assert.deepEqual(names, ['MAR-INF/MANIFEST.json', file, 'model.onnx'].sort());
        checkManifest(manifest, name, 'node', file);

        // In the GPU-sharing mode the handler runs on a session thread: bare imports resolve there too.
        for (const mode of ['', '&preload_model=true']) {
          const r = await request(`${server.managementUrl}/models?url=${name}.mar&initial_workers=1&synchronous=true${mode}`, { method: 'POST' });
          assert.deepEqual([r.status, r.body], [200, { status: 'Workers scaled' }], mode);
          const p = await postJson(`${server.inferenceUrl}/predictions/${name}`, { values: [1, 2, 3, 4.5] });
          assert.equal(p.status, 200, JSON.stringify(p.body));
          assert.match(p.headers.get('content-type') ?? '', /application\/json/);
          assert.deepEqual(p.body, expected[file]);
          const d = await request(`${server.managementUrl}/models/${name}`, { method: 'DELETE' });
          assert.equal(d.status, 200);
          assert.deepEqual(workDirEntries(), []);
        }
      });
    }
  });

  describe('CLI errors', () => {
    const exportDir = path.join(root, 'cli-out');
    before(() => mkdirSync(exportDir));
    const expectError = (r: CliResult, message: RegExp) => {
      assert.notEqual(r.code, 0, `exit status is non-zero (stderr: ${r.stderr})`);
      assert.match(r.stderr, message);
    };

    it('a missing --model-path is an argument error', async () => {
      const r = await archiver(['--model-name', 'x', '--export-path', exportDir]);
      expectError(r, /model-path/);
      assert.deepEqual(readdirSync(exportDir), []);
    });

    it('a model name with illegal characters: ERROR - ..., exit 1', async () => {
      const bad = ['bad name', 'bad/name', '-leading', 'na$me', '../escape'];
      // `=` form, or yargs reads `-leading` as short flags.
      const results = await Promise.all(bad.map((n) => archiver([`--model-name=${n}`, '--model-path', modelPath, '--export-path', exportDir])));
      results.forEach((r, i) => {
        assert.equal(r.code, 1, `${bad[i]}: ${r.stderr}`);
        assert.match(r.stderr, /^ERROR - Model name .* is invalid/m, bad[i]);
      });
      assert.deepEqual(readdirSync(exportDir), []);
    });

    it('an existing output without --force: ERROR - ..., exit 1; with --force it is overwritten', async () => {
      const args = ['--model-name', 'twice', '--model-path', modelPath, '--export-path', exportDir];
      const first = await archiver(args);
      assert.equal(first.code, 0, first.stderr);
      const out = path.join(exportDir, 'twice.mar');
      const before = readFileSync(out);
      const again = await archiver(args);
      assert.equal(again.code, 1);
      assert.match(again.stderr, /^ERROR - .*twice\.mar already exists\. Use --force/m);
      assert.deepEqual(readFileSync(out), before, 'the existing output is untouched');
      const forced = await archiver([...args, '--force', '--model-version', '2.0']);
      assert.equal(forced.code, 0, forced.stderr);
      assert.match(forced.stderr, /WARNING - overwriting/);
      const { names, manifest } = await zipListing(out);
      assert.deepEqual(names, EXPECTED_FILES);
      assert.equal(manifest.model.modelVersion, '2.0', 'the output was rewritten');
      rmSync(out);
    });

    it('--runtime node with a handler file not in the model path: ERROR - ..., exit 1', async () => {
      writeFileSync(path.join(root, 'outside.mjs'), 'export function handle(b) { return b; }\n');
      const handlers = ['missing.mjs', '../outside.mjs', path.join(root, 'outside.mjs'), 'missing.mjs:handle'];
      const results = await Promise.all(
        handlers.map((h) => archiver(['--model-name', 'custom', '--model-path', modelPath, '--export-path', exportDir, '--runtime', 'node', '--handler', h])),
      );
      results.forEach((r, i) => {
        assert.equal(r.code, 1, `${handlers[i]}: ${r.stderr}`);
        assert.match(r.stderr, /^ERROR - Handler file .* is not in the model path/m, handlers[i]);
      });
      const none = await archiver(['--model-name', 'custom', '--model-path', modelPath, '--export-path', exportDir, '--runtime', 'node']);
      assert.equal(none.code, 1);
      assert.match(none.stderr, /^ERROR - --handler is required with --runtime node/m);
      assert.deepEqual(readdirSync(exportDir), []);
    });

    it('other checks: missing model path dir, export path, unknown built-in handler, missing model file', async () => {
      const cases: [string[], RegExp][] = [
        [['--model-name', 'm', '--model-path', path.join(root, 'nope'), '--export-path', exportDir], /^ERROR - Model path is not a directory/m],
        [['--model-name', 'm', '--model-path', modelPath, '--export-path', path.join(root, 'nope')], /^ERROR - Export path is not a directory/m],
        [['--model-name', 'm', '--model-path', modelPath, '--export-path', exportDir, '--handler', 'custom.js'], /^ERROR - Unknown built-in handler "custom.js"/m],
        [['--model-name', 'm', '--model-path', modelPath, '--export-path', exportDir, '--model-file', 'other.onnx'], /^ERROR - Model file other.onnx is not in the model path/m],
      ];
      const results = await Promise.all(cases.map(([args]) => archiver(args)));
      results.forEach((r, i) => {
        assert.equal(r.code, 1, `${cases[i][0].join(' ')}: ${r.stderr}`);
        assert.match(r.stderr, cases[i][1]);
      });
      assert.deepEqual(readdirSync(exportDir), []);
    });
  });
});
