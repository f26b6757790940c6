// What hot reload compares (frontend/control/registry/model-content.ts) and which registrations it
// watches (ArchiveStore.storePath): the signature moves with any rewrite, the hash only with the bytes
// and, for a directory, the files' relative paths; only names in the model store are watched.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, renameSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { hashOf, readContent, signatureOf } from '../../frontend/control/registry/model-content.js';
import { ArchiveStore } from '../../frontend/control/archive/archive-store.js';
import { loadConfig } from '../../frontend/config/server-config.js';

describe('model content', { timeout: 30_000 }, () => {
  let root: string;
  before(() => {
    root = mkdtempSync(path.join(os.tmpdir(), 'mms-content-'));
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it("an archive's hash is its file's sha256; a touch moves the signature, not the hash", async () => {
    const file = path.join(root, 'a.mar');
    writeFileSync(file, 'archive bytes');
    const first = await readContent(file);
    assert.equal(first.hash, createHash('sha256').update('archive bytes').digest('hex'));
    const later = new Date(Date.now() + 5000);
    utimesSync(file, later, later);
    assert.notEqual(await signatureOf(file), first.signature);
    assert.equal(await hashOf(file), first.hash);
    writeFileSync(file, 'archive bytez');
    assert.notEqual(await hashOf(file), first.hash);
    assert.equal(await signatureOf(path.join(root, 'gone.mar')), undefined);
  });

  it("a directory's hash covers every file's relative path and bytes", async () => {
    const dir = path.join(root, 'm');
    mkdirSync(path.join(dir, 'MAR-INF'), { recursive: true });
    writeFileSync(path.join(dir, 'MAR-INF', 'MANIFEST.json'), '{}');
    writeFileSync(path.join(dir, 'model.onnx'), 'weights');
    const first = await readContent(dir);
    renameSync(path.join(dir, 'model.onnx'), path.join(dir, 'other.onnx')); // same bytes, another name
    const renamed = await hashOf(dir);
    assert.notEqual(renamed, first.hash);
    renameSync(path.join(dir, 'other.onnx'), path.join(dir, 'model.onnx'));
    assert.equal(await hashOf(dir), first.hash, 'the same files hash the same again');
    writeFileSync(path.join(dir, 'extra.txt'), '');
    assert.notEqual(await hashOf(dir), first.hash, 'an added empty file is a change');
  });

  it('watches names in the model store only, not URLs or paths outside it', () => {
    const store = path.join(root, 'store');
    const config = loadConfig({ env: {}, configFile: null, overrides: { model_store: store, allowed_urls: 'file:///elsewhere/.*' } });
    const archives = new ArchiveStore(config, pino({ level: 'silent' }));
    assert.equal(archives.storePath('scale.mar'), path.join(store, 'scale.mar'));
    assert.equal(archives.storePath('resnet/'), path.join(store, 'resnet'));
    assert.equal(archives.storePath(path.join(store, 'scale.mar')), path.join(store, 'scale.mar'));
    assert.equal(archives.storePath(`file://${path.join(store, 'scale.mar')}`), undefined);
    assert.equal(archives.storePath('https://example.com/scale.mar'), undefined);
    assert.equal(archives.storePath('/elsewhere/scale.mar'), undefined);
    assert.equal(archives.storePath('../scale.mar'), undefined);
    const rooted = new ArchiveStore(loadConfig({ env: {}, configFile: null, overrides: { model_store: '/' } }), pino({ level: 'silent' }));
    assert.equal(rooted.storePath('/opt/ml/models/m'), '/opt/ml/models/m');
  });
});
