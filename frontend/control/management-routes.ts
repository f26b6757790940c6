// Management API routes: register, list, describe, scale, unregister, set-default (docs/api.md, "Management API";
// versions: "Model versions"). Parameters come from the query string or, with Content-Type application/json, from
// a JSON object.
import Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import { readWorkerMemory } from './workers/worker-memory.js';
import type { PoolSnapshot } from './workers/worker-pool.js';
import type { Model, ModelRegistry, RegisterParams } from './registry/model-registry.js';
import { REGISTER_PARAMS, SCALE_PARAMS, shownSettings, type ScaleParams } from './registry/model-params.js';
import { methodNotAllowed } from '../errors.js';
import { sendJson } from '../http/respond.js';
import { Params, jsonObject } from './params.js';

/** `guards` run before every management route (host-guard.ts, token-auth.ts), never on other paths. */
export function managementRoutes(registry: ModelRegistry, guards: Middleware[] = []): Router {
  const router = new Router();
  if (guards.length) router.use(...guards);

  router.get('/models', (ctx) => {
    const q = new Params(ctx.query);
    let limit = q.int('limit') ?? 100;
    if (limit > 100 || limit < 0) limit = 100;
    const offset = Math.max(0, q.int('next_page_token') ?? 0);
    const all = registry.list();
    // One entry per version; a versioned model's entries say their version and which is the default.
    const page = all.slice(offset, offset + limit).map((m) => ({
      modelName: m.name,
      modelUrl: m.url,
      ...(m.version !== undefined ? { modelVersion: m.version, isDefault: registry.isDefault(m) } : {}),
    }));
    const next = offset + limit <= all.length ? { nextPageToken: String(offset + limit) } : {};
    sendJson(ctx, 200, { ...next, models: page });
  });

  router.post('/models', async (ctx) => {
    // Checked against each parameter's range by the registry (model-params.ts), whoever registers.
    const outcome = await registry.register((await params(ctx)).read(REGISTER_PARAMS) as unknown as RegisterParams);
    sendJson(ctx, outcome.code, { status: outcome.status });
  });

  // One version: MMS's object; several: TorchServe's array, one object per version.
  router.get('/models/:name', async (ctx) => {
    const all = registry.versions(ctx.params.name);
    const described = await Promise.all(all.map((m) => describe(registry, m)));
    sendJson(ctx, 200, described.length === 1 ? described[0] : described);
  });

  router.get('/models/:name/:version', async (ctx) => {
    sendJson(ctx, 200, await describe(registry, registry.get(ctx.params.name, ctx.params.version)));
  });

  router.put('/models/:name/:version/set-default', async (ctx) => {
    const outcome = await registry.setDefault(ctx.params.name, ctx.params.version);
    sendJson(ctx, outcome.code, { status: outcome.status });
  });

  router.put(['/models/:name', '/models/:name/:version'], async (ctx) => {
    const p = (await params(ctx)).read(SCALE_PARAMS) as unknown as ScaleParams;
    const outcome = await registry.scale(ctx.params.name, p.minWorker, p.maxWorker ?? p.minWorker, p.synchronous, ctx.params.version, p.stage);
    sendJson(ctx, outcome.code, { status: outcome.status });
  });

  router.delete(['/models/:name', '/models/:name/:version'], async (ctx) => {
    const outcome = await registry.unregister(ctx.params.name, ctx.params.version);
    sendJson(ctx, outcome.code, { status: outcome.status });
  });

  router.all(['/models', '/models/:name', '/models/:name/:version', '/models/:name/:version/set-default'], () => {
    throw methodNotAllowed();
  });

  return router;
}

/** The console shows every model as describe does (console-summary.ts). */
export { describe };

/** A process's GPU memory in bytes, from nvidia-smi's per-process MiB (undefined when it lists none). */
function gpuBytes(processes: Map<number, number>, pid: number | undefined): number | undefined {
  const mib = pid === undefined ? undefined : processes.get(pid);
  return mib === undefined ? undefined : mib * 1024 * 1024;
}

async function params(ctx: Context): Promise<Params> {
  if (!ctx.is('application/json')) return new Params(ctx.query);
  return new Params((await jsonObject(ctx)) ?? ctx.query);
}

/** One version's describe object (MMS's fields, with `isDefault` for a versioned model). */
async function describe(registry: ModelRegistry, m: Model): Promise<Record<string, unknown>> {
  if (m.stages) return describePipeline(registry, m);
  const pool = m.pool.snapshot();
  return {
    ...identity(registry, m),
    ...workerCounts(pool),
    loadedAtStartup: m.loadedAtStartup,
    ...reloaded(m),
    ...shownSettings(m), // runtime, handler, batchSize, ... (model-params.ts)
    status: poolStatus(pool),
    ...(pool.lastExit ? { lastExit: pool.lastExit } : {}),
    workers: await describeWorkers(registry, pool),
  };
}

/** Which model this is: name, version (and whether it is the name's default), url. */
const identity = (registry: ModelRegistry, m: Model) => ({
  modelName: m.name,
  modelVersion: m.version,
  ...(m.version !== undefined ? { isDefault: registry.isDefault(m) } : {}),
  modelUrl: m.url,
});

const workerCounts = (pool: PoolSnapshot) => ({ minWorkers: pool.minWorkers, maxWorkers: pool.maxWorkers, targetWorkers: pool.target });

const poolStatus = (pool: PoolSnapshot) => (pool.failed ? 'Failed' : pool.healthy ? 'Healthy' : 'Unhealthy');

/** Hot reload (model_watch_interval): the content serving now and since when. */
const reloaded = (m: Model) => (m.content ? { contentHash: m.content.hash, loadedAt: m.content.loadedAt.toISOString() } : {});

/** A pipeline's describe object: its own fields, then `stages`, each with its settings and workers (docs/pipelines.md). */
async function describePipeline(registry: ModelRegistry, m: Model): Promise<Record<string, unknown>> {
  const stages = await Promise.all(m.stages!.map(async (s) => {
    const pool = s.pool.snapshot();
    return {
      name: s.stage!.name,
      handler: s.handler,
      runtime: s.runtime,
      batchSize: s.batchSize,
      maxBatchDelay: s.maxBatchDelay,
      executionProvider: s.executionProvider,
      ...(s.stage!.intraOpThreads ? { intraOpThreads: s.stage!.intraOpThreads } : {}),
      ...(s.stage!.map ? { map: s.stage!.map } : {}),
      ...(s.stage!.gather ? { gather: true } : {}),
      ...workerCounts(pool),
      status: poolStatus(pool),
      workers: await describeWorkers(registry, pool),
    };
  }));
  return {
    ...identity(registry, m),
    loadedAtStartup: m.loadedAtStartup,
    ...reloaded(m),
    runtime: 'pipeline',
    responseTimeout: m.responseTimeout,
    status: stages.some((s) => s.status === 'Failed') ? 'Failed' : stages.every((s) => s.status === 'Healthy') ? 'Healthy' : 'Unhealthy',
    stages,
  };
}

async function describeWorkers(registry: ModelRegistry, pool: PoolSnapshot): Promise<Array<Record<string, unknown>>> {
  const [memory, gpu] = await Promise.all([readWorkerMemory(pool.workers.map((w) => w.pid)), registry.gpus.read()]);
  return pool.workers.map((w, i) => ({
    id: w.id,
    startTime: w.startTime.toISOString(),
    status: w.state,
    gpu: w.gpuId >= 0,
    memoryUsage: memory[i],
    pid: w.pid,
    ...(w.gpuId >= 0 ? { gpuId: w.gpuId, gpuMemoryUsage: gpuBytes(gpu.processes, w.pid) } : {}),
    ...(w.provider ? { executionProvider: w.provider } : {}),
    ...(w.hostId !== w.id ? { sharedProcess: w.hostId } : {}),
    ...(w.cpus ? { cpus: w.cpus, ...(w.cpusShared ? { cpusShared: true } : {}) } : {}),
    restarts: w.restarts,
    ...(w.lastExit ? { lastExit: w.lastExit } : {}),
    stderr: w.stderr,
  }));
}
