// The real image (docker/Dockerfile) built and run with podman: the SageMaker multi-model contract
// against the running container, the memory budget, SIGTERM draining through tini, a non-root user,
// the HEALTHCHECK, and the default command serving the bundled model. No image can be pulled here,
// so the base is made from Debian packages plus this host's Node (docker/test-base.sh). Skipped,
// saying why, where podman (or runc) is missing. Containers use the host's network, on loopback.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { WORKER_BASE_BYTES } from '../../frontend/control/registry/memory-budget.js';
import { startGate, type Gate } from '../helpers/gate.js';
import { drainOnStop, memoryBudgetContract, sageMakerContract, type ContractTarget } from '../helpers/sagemaker-contract.js';
import { startServeProcess, type ServeProcess } from '../helpers/serve-process.js';
import { request, sharedAddress } from '../helpers/server.js';

const run = promisify(execFile);
const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const BASE = 'localhost/mms-test-base:bookworm';
/** This run's own tag: removed after the suite, and never another run's image. */
const IMAGE = `localhost/mms-node:test-${process.pid}`;
const PODMAN = ['--runtime', 'runc'];
const port = async () => Number(new URL(await sharedAddress()).port);

/** Why the test cannot run here, or undefined. */
async function unavailable(): Promise<string | undefined> {
  try {
    await run('podman', ['--version']);
    await run('runc', ['--version']);
    return undefined;
  } catch {
    return 'no container engine: podman with the runc runtime is not installed (.ci/run installs it)';
  }
}

const skip = await unavailable();
const built = { baseMs: 0, buildMs: 0 };
let root = '';
let gate: Gate;
let holdFootprint = 0;

/** A container running `serve` in multi-model mode, its models under root/models on this machine. */
async function serveContainer(name: string, env: Record<string, string>): Promise<{ proc: ServeProcess; target: ContractTarget }> {
  const [main, metrics] = [await port(), await port()];
  const envArgs = Object.entries({
    SAGEMAKER_BIND_TO_PORT: String(main), SAGEMAKER_SAFE_PORT_RANGE: `${metrics}-${metrics}`,
    SAGEMAKER_MULTI_MODEL: 'true', MMS_BIND_HOST: '127.0.0.1', ...env,
  }).flatMap(([k, v]) => ['-e', `${k}=${v}`]);
  await run('podman', ['rm', '-f', '--ignore', name]);
  const proc = await startServeProcess('podman', [
    ...PODMAN, 'run', '--rm', '--name', name, '--network', 'host', '-v', `${path.join(root, 'models')}:/opt/ml/models:ro`, ...envArgs, IMAGE, 'serve',
  ], process.env);
  const url = `http://127.0.0.1:${main}`;
  return {
    proc,
    target: {
      inference: url, management: url, metrics: `http://127.0.0.1:${metrics}`,
      hostDir: (model) => path.join(root, 'models', model, 'model'),
      modelUrl: (model) => `/opt/ml/models/${model}/model`,
    },
  };
}

describe('container image', { skip }, () => {
  before(async () => {
    let t = Date.now();
    await run(path.join(REPO, 'docker', 'test-base.sh'), [BASE], { maxBuffer: 1 << 24 });
    built.baseMs = Date.now() - t;
    t = Date.now();
    // The host's npm cache serves the build's `npm ci` (a clean CI run filled it with the same lockfile).
    // --layers=false: no cached step images and no untagged build stage are left behind, only IMAGE.
    const cache = path.join(os.homedir(), '.npm');
    mkdirSync(cache, { recursive: true });
    await run('podman', [...PODMAN, 'build', '--format', 'docker', '--layers=false', '--force-rm', '--network', 'host', '-v', `${cache}:/root/.npm`,
      '--build-arg', `BASE_IMAGE=${BASE}`, '-f', 'docker/Dockerfile', '-t', IMAGE, '.'], { cwd: REPO, maxBuffer: 1 << 26 });
    built.buildMs = Date.now() - t;
    root = mkdtempSync(path.join(os.tmpdir(), 'mms-ct-'));
    mkdirSync(path.join(root, 'models'));
    chmodSync(root, 0o755); // the container's user (10001) reads the models
    gate = await startGate();
  }, { timeout: 900_000 }); // the base image and the build, past the runner's per-test limit
  after(async () => {
    await gate?.close();
    if (root) rmSync(root, { recursive: true, force: true });
    // The base image stays (docker/test-base.sh reuses it); this run's image goes.
    await run('podman', ['rmi', '--force', '--ignore', IMAGE]);
  });

  it('builds on a Debian bookworm base with Node >= 20.19; reports the image size', async (t) => {
    const { stdout } = await run('podman', ['image', 'inspect', IMAGE, '--format', '{{.Size}} {{.Config.User}} {{json .Config.Labels}}']);
    const [size, user, labels] = stdout.trim().split(' ');
    t.diagnostic(`base image ${Math.round(built.baseMs / 1000)} s, image build ${Math.round(built.buildMs / 1000)} s, image size ${Math.round(Number(size) / 1e6)} MB`);
    assert.equal(user, '10001:10001');
    const l = JSON.parse(labels);
    assert.equal(l['com.amazonaws.sagemaker.capabilities.multi-models'], 'true');
    assert.equal(l['com.amazonaws.sagemaker.capabilities.accept-bind-to-port'], 'true');
  });

  describe('serve: the SageMaker multi-model contract', () => {
    let c: Awaited<ReturnType<typeof serveContainer>>;
    const name = `mms-ct-${process.pid}`;
    before(async () => {
      c = await serveContainer(name, {});
    });
    after(async () => {
      await c?.proc.stop();
    });

    it('runs as a non-root user, with tini as PID 1; the HEALTHCHECK passes', async () => {
      assert.equal((await run('podman', ['exec', name, 'id', '-u'])).stdout.trim(), '10001');
      assert.match((await run('podman', ['exec', name, 'cat', '/proc/1/cmdline'])).stdout, /^tini\0/);
      await run('podman', [...PODMAN, 'healthcheck', 'run', name]); // exit 0: healthy
    });

    sageMakerContract(() => c.target);

    it('drains a request in flight on SIGTERM, then exits 0', async () => {
      const drained = await drainOnStop(c.target, gate, c.proc, () => run('podman', ['kill', '--signal', 'TERM', name]));
      holdFootprint = drained.footprint;
      const r = drained.held;
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal((await c.proc.exited).code, 0);
    });
  });

  describe('serve: the memory budget', () => {
    let c: Awaited<ReturnType<typeof serveContainer>>;
    before(async () => {
      assert.ok(holdFootprint > 0, 'measured by the contract suite');
      const budget = Math.floor(2 * holdFootprint + (WORKER_BASE_BYTES + 4096) / 2);
      c = await serveContainer(`mms-ct-budget-${process.pid}`, { MMS_MODEL_MEMORY_BUDGET: String(budget) });
    });
    after(async () => {
      await c?.proc.stop();
    });

    memoryBudgetContract(() => c.target, () => gate);
  });

  it('serves the bundled model with the default command', async () => {
    const [inf, mgmt, metrics] = [await port(), await port(), await port()];
    const name = `mms-ct-default-${process.pid}`;
    const proc = await startServeProcess('podman', [...PODMAN, 'run', '--rm', '--name', name, '--network', 'host',
      '-e', `MMS_INFERENCE_ADDRESS=http://127.0.0.1:${inf}`, '-e', `MMS_MANAGEMENT_ADDRESS=http://127.0.0.1:${mgmt}`,
      '-e', `MMS_METRICS_ADDRESS=http://127.0.0.1:${metrics}`, IMAGE], process.env);
    try {
      assert.equal((await request(`http://127.0.0.1:${inf}/ping`)).body.status, 'Healthy');
      const list = await request(`http://127.0.0.1:${mgmt}/models`);
      assert.deepEqual(list.body.models.map((m: { modelName: string }) => m.modelName), ['ocr']);
    } finally {
      await run('podman', ['kill', '--signal', 'TERM', name]).catch(() => undefined);
      assert.equal((await proc.exited).code, 0);
    }
  });
});
