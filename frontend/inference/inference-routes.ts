// Inference API routes: /ping, /predictions/:model[/:version], SageMaker's /invocations and
// /models/:model/invoke. A request's life: read body → RequestItem → worker router → reply item.
import Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import type { ModelRoute } from '../../protocol/routes.js';
import type { ServerConfig } from '../config/server-config.js';
import type { WorkerRouter } from './worker-router.js';
import { badRequest } from '../errors.js';
import { modelApiDescription } from '../http/openapi.js';
import { readBodyPieces } from '../http/read-body.js';
import { toRequestItem } from './request-item.js';
import { requestOptions } from './deadline.js';
import { sendJson } from '../http/respond.js';
import { answer } from './pipeline-runner.js';

/** `guards` (token-auth.ts) run before every inference route but /ping, which stays open for health checks. */
export type InferenceLimits = Pick<ServerConfig, 'maxRequestSize' | 'maxRequestParameters'>;

export function inferenceRoutes(
  workers: WorkerRouter,
  config: InferenceLimits,
  guards: Middleware[] = [],
): Router {
  const router = new Router();

  router.all('/ping', (ctx) => {
    // MMS's body, plus per-model detail on request (?detail=true).
    const detail = ctx.query.detail === 'true' ? { models: workers.modelHealth() } : {};
    sendJson(ctx, 200, { status: workers.health(), ...detail });
  });
  // Registered after /ping: a router runs its matched layers in order, and /ping answers without next().
  if (guards.length) router.use(...guards);

  router.all('/predictions/:model{/:version}{/*rest}', async (ctx) => {
    const model = workers.route(ctx.params.model, ctx.params.version);
    if (ctx.method === 'OPTIONS') return sendJson(ctx, 200, modelApiDescription({ name: model.name, version: model.version }));
    await predict(ctx, model);
  });

  router.all('/invocations', async (ctx) => {
    let name = typeof ctx.query.model_name === 'string' ? ctx.query.model_name : '';
    if (!name) {
      const startup = workers.startupModels;
      if (startup.length !== 1) throw badRequest('Parameter model_name is required.');
      name = startup[0];
    }
    await predict(ctx, workers.route(name));
  });

  router.all('/models/:model/invoke', async (ctx) => predict(ctx, workers.route(ctx.params.model)));

  const predict = (ctx: Context, model: ModelRoute) => forwardRequest(ctx, workers, config, model);
  return router;
}

/** One inference request: body → RequestItem → the model's worker → its reply as the response. */
export async function forwardRequest(ctx: Context, workers: WorkerRouter, config: InferenceLimits, model: ModelRoute): Promise<void> {
  ctx.state.model = model.name;
  // Read before the body: a malformed deadline is refused at once, and the deadline counts from arrival.
  const options = requestOptions(ctx, performance.now());
  const item = await toRequestItem(ctx, await readBodyPieces(ctx, config.maxRequestSize), config.maxRequestParameters);
  const reply = await answer(workers, model, item, options);
  ctx.status = reply.status;
  if (reply.reason) ctx.message = reply.reason;
  if (reply.contentType) ctx.type = reply.contentType;
  for (const [k, v] of reply.headers) ctx.set(k, v);
  ctx.body = reply.body;
}
