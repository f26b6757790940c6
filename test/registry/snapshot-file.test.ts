// The snapshot file (frontend/control/registry/snapshot.ts): saves in a burst leave the newest state,
// a save of the content a write in progress replaces is still written, no temp file stays behind,
// and an unreadable or invalid file reads as no models (never a throw).
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { SnapshotFile, type SnapshotEntry } from '../../frontend/control/registry/snapshot.js';

const log = pino({ level: 'silent' });
const owner = { modelStore: '/srv/models', configFile: null };
const entry = (name: string): SnapshotEntry => ({
  url: name, name, isDefault: true, runtime: 'onnx', handler: 'onnx', batchSize: 1, maxBatchDelay: 100, responseTimeout: 120,
  executionProvider: 'auto', preloadModel: false, preloadSessions: 1, minWorkers: 1, maxWorkers: 1, loadedAtStartup: false,
});

describe('snapshot file', () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'mms-snapfile-'));
  after(() => rmSync(root, { recursive: true, force: true }));

  it('a burst of saves ends with the newest state on disk and no temp file', async () => {
    const dir = path.join(root, 'burst', 'nested');
    const file = new SnapshotFile(dir, owner, log);
    const saves = [['a'], ['a', 'b'], ['a'], ['a', 'b', 'c'], ['c']].map((names) => file.save(names.map(entry)));
    await Promise.all(saves);
    await file.flush();
    assert.deepEqual(readdirSync(dir), ['model-snapshot.json']);
    assert.deepEqual((await new SnapshotFile(dir, owner, log).read()).map((e) => e.name), ['c']);
  });

  it('going back to the content before a write in progress is written too', async () => {
    const dir = path.join(root, 'back');
    const file = new SnapshotFile(dir, owner, log);
    await file.save([entry('x')]);
    const adding = file.save([entry('x'), entry('y')]);
    const removing = file.save([entry('x')]); // as the file held before the write now under way
    await Promise.all([adding, removing]);
    assert.deepEqual((await new SnapshotFile(dir, owner, log).read()).map((e) => e.name), ['x']);
  });

  it('a missing, malformed or foreign file reads as no models; entries without url or name are dropped', async () => {
    const dir = path.join(root, 'bad');
    assert.deepEqual(await new SnapshotFile(dir, owner, log).read(), []);
    const file = new SnapshotFile(dir, owner, log);
    await file.save([entry('ok')]);
    for (const text of ['{not json', '[]', JSON.stringify({ format: 2, models: [] }), JSON.stringify({ format: 1, models: {} })]) {
      writeFileSync(file.file, text);
      assert.deepEqual(await new SnapshotFile(dir, owner, log).read(), [], text);
    }
    writeFileSync(file.file, JSON.stringify({ format: 1, models: [entry('kept'), { name: 'no-url' }, null, 7] }));
    assert.deepEqual((await new SnapshotFile(dir, owner, log).read()).map((e) => e.name), ['kept']);
    assert.match(readFileSync(file.file, 'utf8'), /kept/);
  });

  it("another owner's snapshot (another model_store or config file) reads as no models", async () => {
    const dir = path.join(root, 'owned');
    await new SnapshotFile(dir, owner, log).save([entry('mine')]);
    assert.deepEqual((await new SnapshotFile(dir, owner, log).read()).map((e) => e.name), ['mine']);
    assert.deepEqual(await new SnapshotFile(dir, { ...owner, modelStore: '/other' }, log).read(), []);
    assert.deepEqual(await new SnapshotFile(dir, { ...owner, configFile: '/etc/mms/config.properties' }, log).read(), []);
  });
});
