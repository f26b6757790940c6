// A model snapshot belongs to the server that wrote it: two servers run one after the other on one
// host, with the same temp dir (work_dir's parent, where the default snapshot_dir lives) and
// different model stores. The second never lists or tries to load the first's models; each restores
// its own at its next start.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeModelDir } from '../helpers/onnx-models.js';
import { request, startTestServer } from '../helpers/server.js';
import { captureLogs } from '../helpers/raw-http.js';

describe('model snapshot owner', { timeout: 120_000 }, () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'mms-snapowner-'));
  after(() => rmSync(root, { recursive: true, force: true }));
  const stores = { a: path.join(root, 'store-a'), b: path.join(root, 'store-b') };
  for (const [name, store] of Object.entries(stores)) {
    mkdirSync(store);
    writeModelDir(path.join(store, `only-${name}`), { name: `only-${name}` });
  }

  /** A server on `store`, the default snapshot_dir (beside the shared work_dir); its model names and log lines. */
  const run = async (store: string, register?: string) => {
    const logs = captureLogs();
    const server = await startTestServer({ work_dir: path.join(root, 'work'), snapshot_dir: undefined }, store, logs.log);
    try {
      if (register) assert.equal((await request(`${server.managementUrl}/models?url=${register}&initial_workers=1`, { method: 'POST' })).status, 200);
      const list = await request(`${server.managementUrl}/models`);
      return { names: list.body.models.map((m: { modelName: string }) => m.modelName).sort(), lines: logs.records.map((r) => JSON.stringify(r)) };
    } finally {
      await server.close();
    }
  };

  it("each server restores its own models and never another store's", async () => {
    assert.deepEqual((await run(stores.a, 'only-a')).names, ['only-a']);
    const b = await run(stores.b, 'only-b');
    assert.deepEqual(b.names, ['only-b']);
    assert.ok(!b.lines.some((l) => /only-a/.test(l)), `server b saw a's model: ${b.lines.filter((l) => /only-a/.test(l)).join('\n')}`);
    assert.deepEqual((await run(stores.a)).names, ['only-a']);
    assert.deepEqual((await run(stores.b)).names, ['only-b']);
  });
});
