// Worker socket files left by a server SIGKILLed with its whole process group (docs/architecture.md,
// "Worker slot"): the next server's start removes them, and the socket of a pid that now names
// something other than a node process, but never a live server's sockets.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeHandlerModelDir } from '../helpers/fixtures.js';
import { startTestServer } from '../helpers/server.js';
import { killGroup, serverDirs, startServerProcess, type ServerProcess } from '../helpers/server-process.js';

/** Leaves a unix socket file at each path: a node process listens on them and is SIGKILLed (it cannot unlink them). */
async function leaveSockets(paths: string[]): Promise<void> {
  const script = `const net = require('node:net'); let n = 0; for (const p of process.argv.slice(1)) net.createServer().listen(p, () => ++n === process.argv.length - 1 && console.log('up'));`;
  const child = spawn(process.execPath, ['-e', script, ...paths], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = once(child, 'exit');
  await once(child.stdout!, 'data');
  child.kill('SIGKILL');
  await exited;
}

describe('stale worker sockets', { timeout: 180_000 }, () => {
  // Short: worker socket paths must fit in ~107 bytes.
  const root = mkdtempSync(path.join(os.tmpdir(), 'mmssk-'));
  const dirs = serverDirs(root, ['default_workers_per_model=2']);
  const running = new Set<ServerProcess>();
  const sleeper = spawn('sleep', ['300'], { stdio: 'ignore' });
  const sockets = () => readdirSync(dirs.tmp).filter((f) => f.startsWith('.mms.sock.')).sort();
  const start = async () => {
    const s = await startServerProcess(dirs, ['--models', 'echo=echo']);
    running.add(s);
    return s;
  };

  after(async () => {
    for (const s of running) await killGroup(s);
    sleeper.kill('SIGKILL');
    rmSync(root, { recursive: true, force: true });
  });

  it("a start removes the worker sockets of servers that are gone, and keeps a live server's", async () => {
    writeHandlerModelDir(path.join(dirs.store, 'echo'), 'echo');
    const killed = await start();
    const left = sockets();
    assert.ok(left.length >= 2, `the first server's workers have sockets: ${left}`);
    await killGroup(killed);
    running.delete(killed);
    assert.deepEqual(sockets(), left, 'a whole-group SIGKILL leaves the sockets behind');
    // A pid alive now but not a node process (a reused pid): its name frees the file too.
    const reused = path.join(dirs.tmp, `.mms.sock.${sleeper.pid}.1`);
    await leaveSockets([reused]);
    assert.ok(existsSync(reused));

    const live = await start();
    const mine = sockets();
    for (const f of left) assert.ok(!mine.includes(f), `${f} of the killed server is still there: ${mine}`);
    assert.ok(!existsSync(reused), 'the socket named for a non-server pid is still there');
    assert.ok(mine.length >= 2, `the new server's own sockets: ${mine}`);

    // Another server starting beside the live one (in this process, same temp dir) leaves its sockets alone.
    const savedTmp = process.env.TMPDIR;
    process.env.TMPDIR = dirs.tmp;
    try {
      const beside = await startTestServer();
      await beside.close();
    } finally {
      if (savedTmp === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = savedTmp;
    }
    for (const f of mine) assert.ok(existsSync(path.join(dirs.tmp, f)), `the live server's ${f} was removed`);
    const r = await fetch(`${live.inferenceUrl}/predictions/echo`, { method: 'POST', body: 'still here' });
    assert.equal(r.status, 200);
  });
});
