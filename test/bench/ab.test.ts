// `npm run bench:ab` run for real: each side's server takes its own config lines and environment, the
// sides alternate within the pairs, and every run reports CPU per request by process class.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const AB = fileURLToPath(new URL('../../bench/ab.js', import.meta.url));

interface Run {
  pair: number;
  side: string;
  rps: number;
  failed: number;
  cpuUs: { front?: number; worker?: number; controller?: number };
  frontsMB: number[];
}

describe('bench:ab', () => {
  it('measures side A and side B in alternating pairs, each with its own server settings', { timeout: 90_000 }, async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mms-ab-test-'));
    try {
      const out = path.join(dir, 'ab.json');
      // Side B admits one request at a time (job_queue_size=1): at c=16 it must refuse some with 503.
      const args = [AB, '--model', 'noop', '--pairs', '2', '--duration', '1', '--warmup', '0', '--c', '16', '--fronts', '1', '--workers', '1'];
      const { stdout } = await promisify(execFile)(process.execPath, [...args, '--b-config', 'job_queue_size=1', '--b-label', 'queue of 1', '--a-env', 'MMS_WORKER_NODE_ARGS=--max-semi-space-size=2', '--out', out]);
      const runs = (JSON.parse(readFileSync(out, 'utf8')) as { runs: Run[] }).runs;
      assert.deepEqual(runs.map((r) => `${r.pair} ${r.side}`), ['1 A', '1 queue of 1', '2 queue of 1', '2 A']);
      for (const r of runs) {
        assert.ok(r.rps > 0, `${r.side} answered`);
        assert.ok(r.cpuUs.front! > 0 && r.cpuUs.worker! > 0 && r.cpuUs.controller! >= 0, `${r.side}: CPU by class`);
        assert.equal(r.frontsMB.length, 1);
        if (r.side === 'A') assert.equal(r.failed, 0, 'A admits every connection');
        else assert.ok(r.failed > 0, 'B took its own job_queue_size');
      }
      assert.match(stdout, /queue of 1 \/ A, pair by pair:\n- req\/s: \d+\.\d\d, \d+\.\d\d \(median \d+\.\d\d\)/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("passes each side's environment to its server's workers", { timeout: 60_000 }, async () => {
    const args = [AB, '--model', 'noop', '--pairs', '1', '--duration', '1', '--warmup', '0', '--b-env', 'MMS_WORKER_NODE_ARGS=--not-a-node-flag'];
    await assert.rejects(promisify(execFile)(process.execPath, args), (e: { stdout: string; stderr: string }) => /\| 1 \| A \|/.test(e.stdout) && /WORKER_START_FAILED/.test(e.stderr));
  });

  it('refuses a malformed NAME=VALUE and equal labels', async () => {
    for (const bad of [['--a-env', 'NOEQUALS'], ['--b-label', 'A']]) {
      await assert.rejects(promisify(execFile)(process.execPath, [AB, ...bad, '--pairs', '0']), (e: { stderr: string }) => /NAME=VALUE|must differ/.test(e.stderr));
    }
  });
});
