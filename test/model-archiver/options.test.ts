// model-archiver's handler options (docs/archives.md "Packaging a model"): --batch-size,
// --max-batch-delay, --warmup-file, --config-file (JSON merged into manifest.model), --extra-files, and a
// MAR-INF/MANIFEST.json already in the model path, merged with flags winning. Each archive is
// registered on a real server, where the options take effect: describe shows the batching defaults,
// the warm-up request reaches the worker before the first request, the handler sees the extensions.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { archiver, zipListing } from '../helpers/archiver.js';
import { request, startTestServer, type TestServer } from '../helpers/server.js';

// Reports what the worker knows: batches handled (a warm-up counts), batch size, extensions.
const PROBE = `let calls = 0;
export function handle(batch, context) {
  calls++;
  return batch.map((item) => ({
    body: { calls, text: item.params.body?.value.toString() ?? '', batchSize: context.batchSize, extensions: context.manifest.model.extensions ?? null },
    contentType: 'application/json',
  }));
}
`;

describe('model-archiver handler options', () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'mms-archiver-opts-'));
  const store = path.join(root, 'store');
  mkdirSync(store);
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ work_dir: path.join(root, 'work') }, store);
  });
  after(async () => {
    await server?.close();
    rmSync(root, { recursive: true, force: true });
  });

  /** A model path holding the probe handler and a warm-up body. */
  function modelDir(name: string, manifest?: unknown): string {
    const dir = path.join(root, `${name}-src`);
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'probe.mjs'), PROBE);
    writeFileSync(path.join(dir, 'warmup.txt'), 'warm');
    if (manifest !== undefined) {
      mkdirSync(path.join(dir, 'MAR-INF'));
      writeFileSync(path.join(dir, 'MAR-INF', 'MANIFEST.json'), typeof manifest === 'string' ? manifest : JSON.stringify(manifest));
    }
    return dir;
  }
  function configFile(name: string, content: unknown): string {
    const file = path.join(root, `${name}.json`);
    writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
    return file;
  }
  async function register(name: string): Promise<any> {
    const r = await request(`${server.managementUrl}/models?url=${name}.mar&initial_workers=1&synchronous=true`, { method: 'POST' });
    assert.deepEqual([r.status, r.body], [200, { status: 'Workers scaled' }]);
    const described = await request(`${server.managementUrl}/models/${name}`);
    assert.equal(described.status, 200);
    return described.body;
  }
  const predict = (name: string, text: string) =>
    request(`${server.inferenceUrl}/predictions/${name}`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: text });

  it('flags and --config-file land in the manifest and take effect once registered', async () => {
    const dir = modelDir('opts');
    const config = configFile('opts-config', {
      description: 'from the config file',
      batchSize: 2,
      retryOnWorkerDeath: false,
      extensions: { trim: true, topK: 2 },
      batchsize: 3,
    });
    const cli = await archiver([
      '--model-name', 'opts', '--model-path', dir, '--export-path', store, '--runtime', 'node', '--handler', 'probe.mjs',
      '--config-file', config, '--batch-size', '4', '--max-batch-delay', '30', '--warmup-file', 'warmup.txt', '--warmup-content-type', 'text/plain',
    ]);
    assert.equal(cli.code, 0, cli.stderr);
    assert.match(cli.stderr, /^WARNING - .*unknown field model\.batchsize/m, 'a misspelt field is reported');
    const { manifest } = await zipListing(path.join(store, 'opts.mar'));
    assert.equal(manifest.runtime, 'node');
    assert.deepEqual(
      { ...manifest.model, batchsize: undefined },
      {
        modelName: 'opts', handler: 'probe.mjs', modelVersion: '1.0', description: 'from the config file',
        batchSize: 4, maxBatchDelay: 30, retryOnWorkerDeath: false, extensions: { trim: true, topK: 2 },
        warmup: { file: 'warmup.txt', contentType: 'text/plain' }, batchsize: undefined,
      },
      '--batch-size wins over the config file',
    );

    const described = await register('opts');
    assert.deepEqual([described.batchSize, described.maxBatchDelay], [4, 30]);
    const p = await predict('opts', 'hello');
    assert.equal(p.status, 200, JSON.stringify(p.body));
    assert.deepEqual(p.body, { calls: 2, text: 'hello', batchSize: 4, extensions: { trim: true, topK: 2 } }, 'the warm-up ran first');
  });

  it('a MAR-INF/MANIFEST.json in the model path is merged: config file over it, flags over both', async () => {
    const dir = modelDir('merged', {
      createdOn: '2020-01-01T00:00:00.000Z',
      runtime: 'node',
      license: 'Apache-2.0',
      model: { modelName: 'old', handler: 'probe.mjs', modelVersion: '3.1', batchSize: 2, maxBatchDelay: 7, extensions: { a: 1, b: 1 } },
    });
    const config = configFile('merged-config', { extensions: { b: 2 } });
    const cli = await archiver(['--model-name', 'merged', '--model-path', dir, '--export-path', store, '--config-file', config, '--batch-size', '8']);
    assert.equal(cli.code, 0, cli.stderr);
    assert.match(cli.stderr, /merging .*MAR-INF\/MANIFEST\.json/);
    const { names, manifest } = await zipListing(path.join(store, 'merged.mar'));
    assert.deepEqual(names, ['MAR-INF/MANIFEST.json', 'probe.mjs', 'warmup.txt']);
    assert.equal(manifest.runtime, 'node');
    assert.equal(manifest.license, 'Apache-2.0');
    assert.notEqual(manifest.createdOn, '2020-01-01T00:00:00.000Z');
    assert.deepEqual(manifest.model, {
      modelName: 'merged', handler: 'probe.mjs', modelVersion: '3.1', batchSize: 8, maxBatchDelay: 7, extensions: { a: 1, b: 2 },
    });

    const described = await register('merged');
    assert.deepEqual([described.modelVersion, described.batchSize, described.maxBatchDelay], ['3.1', 8, 7]);
    const p = await predict('merged', 'x');
    assert.deepEqual(p.body, { calls: 1, text: 'x', batchSize: 8, extensions: { a: 1, b: 2 } });
  });

  it('--extra-files packs files and directories from outside the model path; the manifest may name them', async () => {
    const dir = modelDir('extra');
    const shared = path.join(root, 'shared');
    mkdirSync(path.join(shared, 'vocab', '__pycache__'), { recursive: true });
    writeFileSync(path.join(shared, 'vocab', 'words.txt'), 'a\nb\n');
    writeFileSync(path.join(shared, 'vocab', '__pycache__', 'x.pyc'), 'litter');
    writeFileSync(path.join(shared, 'sample.txt'), 'from outside');
    const cli = await archiver([
      '--model-name', 'extra', '--model-path', dir, '--export-path', store, '--runtime', 'node', '--handler', 'probe.mjs',
      '--extra-files', `${path.join(shared, 'sample.txt')},${path.join(shared, 'vocab')}`, '--warmup-file', 'sample.txt',
    ]);
    assert.equal(cli.code, 0, cli.stderr);
    const { names, manifest } = await zipListing(path.join(store, 'extra.mar'));
    assert.deepEqual(names, ['MAR-INF/MANIFEST.json', 'probe.mjs', 'sample.txt', 'vocab/words.txt', 'warmup.txt']);
    assert.deepEqual(manifest.model.warmup, { file: 'sample.txt' });
    await register('extra');
    assert.equal((await predict('extra', 'y')).body.calls, 2, 'the warm-up from an extra file ran');
  });

  it('bad options: ERROR - <reason>, exit 1, nothing written', async () => {
    const out = path.join(root, 'bad-out');
    mkdirSync(out);
    const dir = modelDir('bad');
    const node = ['--model-path', dir, '--export-path', out, '--runtime', 'node', '--handler', 'probe.mjs', '--model-name'];
    const cases: [string[], RegExp][] = [
      [[...node, 'a', '--config-file', configFile('not-json', '{"batchSize": ')], /^ERROR - Cannot read config file .*not-json\.json: .*JSON/m],
      [[...node, 'b', '--config-file', configFile('array', [1])], /^ERROR - Config file .*array\.json must hold a JSON object/m],
      [[...node, 'c', '--config-file', path.join(root, 'missing.json')], /^ERROR - Cannot read config file .*missing\.json/m],
      [[...node, 'd', '--config-file', configFile('big', { batchSize: 'big' })], /^ERROR - Manifest field model\.batchSize must be a non-negative integer/m],
      [[...node, 'e', '--batch-size', '-1'], /^ERROR - Manifest field model\.batchSize must be a non-negative integer/m],
      [[...node, 'f', '--warmup-file', 'missing.txt'], /^ERROR - Warm-up file missing\.txt is not in the model path/m],
      [[...node, 'g', '--warmup-content-type', 'text/plain'], /^ERROR - --warmup-content-type needs a warm-up file/m],
      [[...node, 'j', '--extra-files', path.join(root, 'nope.txt')], /^ERROR - Extra file .*nope\.txt does not exist/m],
      [[...node, 'k', '--extra-files', path.join(modelDir('clash'), 'warmup.txt')], /^ERROR - Extra file .*warmup\.txt would replace warmup\.txt of the model path/m],
      [['--model-name', 'h', '--model-path', modelDir('bad-json', '{"runtime": '), '--export-path', out], /^ERROR - Cannot read .*MAR-INF\/MANIFEST\.json/m],
      [['--model-name', 'i', '--model-path', modelDir('bad-runtime', { runtime: 'python', model: {} }), '--export-path', out], /^ERROR - .*MAR-INF\/MANIFEST\.json: Invalid runtime in manifest: "python"/m],
      [['--model-name', 'l', '--model-path', modelDir('bad-model', { runtime: 'node', model: 5 }), '--export-path', out], /^ERROR - .*MAR-INF\/MANIFEST\.json: Missing Model entry/m],
    ];
    const results = await Promise.all(cases.map(([args]) => archiver(args)));
    results.forEach((r, i) => {
      assert.equal(r.code, 1, `${cases[i][0].join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, cases[i][1]);
    });
    assert.deepEqual(readdirSync(out), []);
  });
});
