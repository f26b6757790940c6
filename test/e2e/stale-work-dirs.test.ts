// At start the server removes the extraction directories that servers which are gone left in work_dir
// (a SIGKILLed server cannot clean up), and leaves a live server's and anything not ours alone.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startTestServer } from '../helpers/server.js';

describe('stale work directories', () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'mms-stale-'));
  const sleeper = spawn('sleep', ['60'], { stdio: 'ignore' });
  after(() => {
    sleeper.kill('SIGKILL');
    rmSync(root, { recursive: true, force: true });
  });

  it('removes the directories of dead server pids only', async () => {
    const dead = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
    await once(dead, 'exit');
    const work = path.join(root, 'work');
    const deadDir = path.join(work, `mms${dead.pid}-model.mar-AbC123`);
    const liveDir = path.join(work, `mms${sleeper.pid}-model.mar-DeF456`);
    const ownDir = path.join(work, `mms${process.pid}-model.mar-GhI789`);
    const other = path.join(work, 'not-ours');
    for (const d of [deadDir, liveDir, ownDir, other]) mkdirSync(path.join(d, 'MAR-INF'), { recursive: true });
    const server = await startTestServer({ work_dir: work });
    try {
      assert.ok(!existsSync(deadDir), 'a dead server pid directory was left');
      assert.ok(existsSync(liveDir), "a live process's directory was removed");
      assert.ok(existsSync(ownDir), "this process's directory was removed");
      assert.ok(existsSync(other), 'a directory not named by us was removed');
    } finally {
      await server.close();
    }
  });
});
