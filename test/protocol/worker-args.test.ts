// The worker's arguments: what the frontend writes is what the worker reads; defaults and refusals.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { WORKER_ARG_DEFAULTS, WorkerArgsError, parseWorkerArgv, toWorkerArgv, type WorkerArgs } from '../../protocol/worker-args.js';

describe('worker arguments', () => {
  it('round-trips every field', () => {
    const args: WorkerArgs = {
      sockName: '/tmp/.mms.sock.1.2', runtime: 'node', intraOpThreads: 3, interOpThreads: 2,
      executionProviders: ['cuda', 'cpu'], sessions: 2, maxResponseSize: 1234, maxBatchDelay: 25,
    };
    const argv = toWorkerArgv(args);
    assert.deepEqual(argv.slice(0, 4), ['--sock-name', '/tmp/.mms.sock.1.2', '--runtime', 'node']);
    assert.ok(argv.includes('--max-batch-delay'));
    assert.deepEqual(parseWorkerArgv(argv), args);
  });

  it('fills in defaults', () => {
    assert.deepEqual(parseWorkerArgv(['--sock-name', '/s']), { sockName: '/s', ...WORKER_ARG_DEFAULTS });
  });

  it('refuses bad arguments', () => {
    for (const argv of [[], ['--sock-name', '/s', '--runtime', 'python'], ['--sock-name', '/s', '--max-batch-delay', '-1'],
      ['--sock-name', '/s', '--intra-op-threads', '0'], ['--sock-name', '/s', '--intra-op-threads', '2x'], ['--sock-name', '/s', '--bogus', '1']]) {
      assert.throws(() => parseWorkerArgv(argv), WorkerArgsError, JSON.stringify(argv));
    }
  });
});
