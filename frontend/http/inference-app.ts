// Inference API routes: /ping, /predictions/:model[/:version], SageMaker's /invocations and
// /models/:model/invoke. A request's life: read body → RequestItem → model's pool → reply item.
import Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import type { ServerConfig } from '../config/server-config.js';
import type { Model, ModelRegistry } from '../registry/model-registry.js';
import { badRequest, modelNotFound } from './errors.js';
import { modelApiDescription } from './openapi.js';
import { readBodyPieces } from './read-body.js';
import { toRequestItem } from './request-item.js';
import { sendJson } from './respond.js';

/** `guards` (token-auth.ts) run before every inference route but /ping, which stays open for health checks. */
export function inferenceRoutes(registry: ModelRegistry, config: ServerConfig, startupModels: () => string[], guards: Middleware[] = []): Router {
  const router = new Router();

  router.all('/ping', (ctx) => {
    // MMS's body, plus per-model detail on request (?detail=true).
    const detail = ctx.query.detail === 'true' ? { models: registry.modelHealth() } : {};
    sendJson(ctx, 200, { status: registry.health(), ...detail });
  });
  // Registered after /ping: a router runs its matched layers in order, and /ping answers without next().
  if (guards.length) router.use(...guards);

  router.all('/predictions/:model{/:version}{/*rest}', async (ctx) => {
    const model = registry.get(ctx.params.model);
    const version = ctx.params.version;
    if (version !== undefined && version !== model.version) throw modelNotFound(`Model version not found: ${model.name}/${version}`);
    if (ctx.method === 'OPTIONS') return sendJson(ctx, 200, modelApiDescription({ name: model.name, version: model.version }));
    await predict(ctx, model);
  });

  router.all('/invocations', async (ctx) => {
    let name = typeof ctx.query.model_name === 'string' ? ctx.query.model_name : '';
    if (!name) {
      const startup = startupModels();
      if (startup.length !== 1) throw badRequest('Parameter model_name is required.');
      name = startup[0];
    }
    await predict(ctx, registry.get(name));
  });

  router.all('/models/:model/invoke', async (ctx) => predict(ctx, registry.get(ctx.params.model)));

  async function predict(ctx: Context, model: Model): Promise<void> {
    ctx.state.model = model.name;
    const item = await toRequestItem(ctx, await readBodyPieces(ctx, config.maxRequestSize), config.maxRequestParameters);
    const reply = await model.pool.submit(item);
    ctx.status = reply.status;
    if (reply.reason) ctx.message = reply.reason;
    if (reply.contentType) ctx.type = reply.contentType;
    for (const [k, v] of reply.headers) ctx.set(k, v);
    ctx.body = reply.body;
  }

  return router;
}
