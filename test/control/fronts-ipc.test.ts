// The controller's IPC to a front that has just died. A front SIGKILLed leaves its pipe closed before
// the controller has read the EOF, so a message sent in that gap fails with EPIPE. It must not be an
// uncaught exception in the controller (it was: CI failed on it while the autoscaler asked for load).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { Fronts } from '../../frontend/control/fronts.js';
import { loadConfig } from '../../frontend/config/server-config.js';
import { createLogger } from '../../frontend/logging/logger.js';
import { eventually } from '../helpers/server.js';

/** The process state letter from /proc (Z: dead, not yet reaped), or '' once gone. */
function procState(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '')[0];
  } catch {
    return '';
  }
}

/**
 * Dead with its files closed: a zombie whose other threads have all exited (the leader turns Z
 * first; the files, the IPC pipe among them, close with the last thread).
 */
function deadAndClosed(pid: number): boolean {
  try {
    return procState(pid) === 'Z' && readdirSync(`/proc/${pid}/task`).length === 1;
  } catch {
    return false;
  }
}

describe('controller to front IPC', () => {
  it('a message to a front that died unseen is dropped, and the front is restarted', async (t) => {
    if (process.platform !== 'linux') return t.skip('reads /proc to see the front die (Linux only)');
    const config = loadConfig({ env: {}, overrides: { inference_address: 'http://127.0.0.1:0', grpc_inference_address: 'off' } });
    const fronts = await Fronts.start({
      count: 1,
      config,
      log: createLogger({ level: 'silent' }),
      pretty: false,
      table: { version: 1, models: [], startupModels: [] },
      onStuck: () => undefined,
      onServed: () => undefined,
      onDemand: () => undefined,
      exitCause: async () => undefined,
    });
    try {
      const [victim] = fronts.pids();
      process.kill(victim, 'SIGKILL');
      // Wait without yielding to the event loop: the kernel closes the front's end of the pipe, while
      // the controller has not yet seen the disconnect (the front stays a zombie until it is reaped).
      const until = Date.now() + 5000;
      while (!deadAndClosed(victim) && Date.now() < until);
      assert.ok(deadAndClosed(victim), 'the front died and is not reaped yet');

      const answers = await fronts.load(); // writes to the closed pipe
      assert.deepEqual(answers, [{}], 'the dead front counts as no load');
      await eventually(() => fronts.pids().length === 1 && fronts.pids()[0] !== victim, 10_000);
      assert.notEqual(procState(fronts.pids()[0]), '', 'the replacement front runs');
    } finally {
      await fronts.stop();
    }
  });
});
