// Tests remove what they make: test files that make temp dirs (fake nvidia-smi, GPU stores, the
// SageMaker entrypoint's roots, a refused start included) run here as their own `node --test` with a
// TMPDIR of their own, which must be empty afterwards.
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

const run = promisify(execFile);
const DIST_TEST = fileURLToPath(new URL('../', import.meta.url));

/** Runs one test file in a fresh TMPDIR; returns what is left there. */
async function leftBehind(file: string): Promise<string[]> {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'mms-leaks-'));
  try {
    const env: NodeJS.ProcessEnv = { ...process.env, TMPDIR: tmp };
    delete env.NODE_TEST_CONTEXT; // a test run of its own, not a child of this one
    await run(process.execPath, ['--test', '--test-concurrency=1', path.join(DIST_TEST, file)], { env, maxBuffer: 1 << 24 });
    return readdirSync(tmp);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

describe('tests leave no temp dirs behind', { timeout: 240_000 }, () => {
  it('GPU discovery (fake nvidia-smi)', async () => {
    assert.deepEqual(await leftBehind('gpus/gpu-discovery.test.js'), []);
  });

  it('GPU placement (fake nvidia-smi, its per-process answers, a model store of its own)', async () => {
    assert.deepEqual(await leftBehind('e2e/gpu-placement.test.js'), []);
  });

  it('the SageMaker entrypoint, a refused start included', async () => {
    assert.deepEqual(await leftBehind('deploy/sagemaker-entrypoint.test.js'), []);
  });
});
