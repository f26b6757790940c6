// Triton's model repository extension of the Open Inference Protocol, on the management listener,
// mapped onto our registry (docs/api.md, Model repository extension): the index lists registered
// models and the loadable entries of model_store; load registers a store entry under its name (or
// makes a registered model run a worker); unload unregisters. Errors are `{"error"}` (a /v2 path).
import { readdir } from 'node:fs/promises';
import Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import type { ServerConfig } from '../config/server-config.js';
import { badRequest, methodNotAllowed, modelNotFound, notReady } from '../errors.js';
import { sendJson } from '../http/respond.js';
import type { ModelRegistry, RegisterParams } from './registry/model-registry.js';
import { LOAD_PARAMS } from './registry/model-params.js';
import { Params, jsonObject } from './params.js';

/** A store entry's name: a directory as is, an archive without its extension. */
const ARCHIVE = /\.(mar|tar\.gz|tgz|tar)$/i;

/** Load parameters we take: the register parameters but the name, version and `synchronous` (Triton's `config`/`file:` ones are not ours). */
const LOAD_NAMES = LOAD_PARAMS.map((s) => s.name);

interface IndexEntry {
  name: string;
  version?: string;
  state: 'READY' | 'LOADING' | 'UNAVAILABLE';
  reason: string;
}

export function repositoryRoutes(registry: ModelRegistry, config: Pick<ServerConfig, 'modelStore' | 'defaultWorkersPerModel'>, guards: Middleware[] = []): Router {
  const router = new Router();
  if (guards.length) router.use(...guards);

  router.post('/v2/repository/index', async (ctx) => {
    const onlyReady = new Params(await bodyObject(ctx)).bool('ready') ?? false;
    const entries: IndexEntry[] = registry.list().map((m) => {
      const pool = m.pool.snapshot();
      const state = pool.running > 0 ? 'READY' : pool.starting ? 'LOADING' : 'UNAVAILABLE';
      return { name: m.name, ...(m.version !== undefined ? { version: m.version } : {}), state, reason: state === 'UNAVAILABLE' ? 'no live worker' : '' };
    });
    for (const name of await storeEntries(config.modelStore)) {
      if (!registry.has(name)) entries.push({ name, state: 'UNAVAILABLE', reason: 'unloaded' });
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    sendJson(ctx, 200, onlyReady ? entries.filter((e) => e.state === 'READY') : entries);
  });

  router.post('/v2/repository/models/:model/load', async (ctx) => {
    const name = ctx.params.model;
    const p = loadParameters(await bodyObject(ctx));
    if (registry.has(name)) {
      // Loaded already: make sure it runs a worker, as Triton's load of a loaded model leaves it serving.
      const pool = registry.get(name).pool.snapshot();
      const outcome = await registry.scale(name, Math.max(1, pool.minWorkers), Math.max(1, pool.maxWorkers), true);
      if (outcome.code !== 200) throw notReady(outcome.status);
    } else {
      const given = p.read(LOAD_PARAMS, false) as Partial<RegisterParams>;
      await registry.register({
        ...given,
        url: given.url ?? (await storeEntryFor(config.modelStore, name)),
        modelName: name,
        initialWorkers: given.initialWorkers ?? Math.max(1, config.defaultWorkersPerModel),
        synchronous: true,
      });
    }
    sendJson(ctx, 200, { name, load: true });
  });

  router.post('/v2/repository/models/:model/unload', async (ctx) => {
    await bodyObject(ctx); // a malformed body is a 400 here too
    // Triton's unload takes every version: the others first, the default (which must go last) then.
    const name = ctx.params.model;
    for (const m of registry.versions(name).filter((v) => !registry.isDefault(v))) await registry.unregister(name, m.version);
    await registry.unregister(name);
    sendJson(ctx, 200, { name: ctx.params.model, unload: true });
  });

  router.all(['/v2/repository/index', '/v2/repository/models/:model/load', '/v2/repository/models/:model/unload'], () => {
    throw methodNotAllowed();
  });
  return router;
}

/** The request's JSON object (an empty body is `{}`). */
async function bodyObject(ctx: Context): Promise<Record<string, unknown>> {
  return (await jsonObject(ctx)) ?? {};
}

/** `{"parameters": {...}}` of a load request, checked against the names we read. */
function loadParameters(body: Record<string, unknown>): Params {
  const raw = body.parameters ?? {};
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw badRequest('"parameters" must be an object.');
  const unknown = Object.keys(raw).filter((k) => !LOAD_NAMES.includes(k));
  if (unknown.length) throw badRequest(`Unsupported load parameter(s): ${unknown.join(', ')} (supported: ${LOAD_NAMES.join(', ')}).`);
  return new Params(raw as Record<string, unknown>);
}

/** Names of the model_store's entries: directories and archives, hidden ones left out. */
async function storeEntries(store: string | undefined): Promise<string[]> {
  if (!store) return [];
  const dirents = await readdir(store, { withFileTypes: true }).catch(() => []);
  return dirents
    .filter((d) => !d.name.startsWith('.') && (d.isDirectory() || (d.isFile() && ARCHIVE.test(d.name))))
    .map((d) => d.name.replace(ARCHIVE, ''));
}

/** The store entry (directory or archive) named `name`, as a registration url relative to the store. */
async function storeEntryFor(store: string | undefined, name: string): Promise<string> {
  if (!store) throw modelNotFound('Model store has not been configured.');
  const dirents = await readdir(store, { withFileTypes: true }).catch(() => []);
  const hit = dirents.find((d) => !d.name.startsWith('.') && (d.isDirectory() ? d.name === name : d.isFile() && ARCHIVE.test(d.name) && d.name.replace(ARCHIVE, '') === name));
  if (!hit) throw modelNotFound(`Model not found in model store: ${name}`);
  return hit.name;
}
