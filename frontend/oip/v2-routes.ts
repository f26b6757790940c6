// The Open Inference Protocol's REST routes (KServe v2) on the inference listener: health, server
// and model metadata, model readiness and inference (docs/api.md, Open Inference Protocol). Inference
// goes the way /predictions does (the body, JSON or binary-data extension, is the worker's v2 codec's
// to read); errors are rendered as `{"error": "..."}` by the one error middleware (errors.ts isV2Path).
import Router from '@koa/router';
import type { Middleware } from 'koa';
import { methodNotAllowed, notReady } from '../errors.js';
import { sendJson } from '../http/respond.js';
import { forwardRequest, type InferenceLimits } from '../inference/inference-routes.js';
import type { WorkerRouter } from '../inference/worker-router.js';
import { inferenceRoute, modelMetadata, modelReady, serverMetadata, serverReady } from './v2-model.js';

const MODEL = '/v2/models/:model{/versions/:version}';

/**
 * Health, readiness and server metadata stay open like /ping (probes carry no keys); `guards`
 * (token-auth.ts) run before model metadata and inference.
 */
export function v2Routes(workers: WorkerRouter, config: InferenceLimits, drain: { active: boolean }, guards: Middleware[] = []): Router {
  const router = new Router();

  router.get('/v2/health/live', (ctx) => sendJson(ctx, 200, { live: true }));
  router.get('/v2/health/ready', (ctx) => {
    if (!serverReady(workers, drain)) throw notReady(drain.active ? 'The server is stopping.' : 'Not every model has a live worker yet.');
    sendJson(ctx, 200, { ready: true });
  });
  router.get('/v2', (ctx) => sendJson(ctx, 200, serverMetadata()));
  router.get(`${MODEL}/ready`, (ctx) => {
    const m = workers.route(ctx.params.model, ctx.params.version);
    if (!modelReady(m)) throw notReady(`Model ${m.name} is not ready: it has no live worker.`);
    sendJson(ctx, 200, { name: m.name, ready: true });
  });
  // Registered after the open routes: a router runs its matched layers in order, and those answer without next().
  if (guards.length) router.use(...guards);

  router.get(MODEL, (ctx) => sendJson(ctx, 200, modelMetadata(workers.route(ctx.params.model, ctx.params.version), workers)));
  router.post(`${MODEL}/infer`, (ctx) => forwardRequest(ctx, workers, config, inferenceRoute(workers, ctx.params.model, ctx.params.version)));

  router.all(['/v2', '/v2/health/live', '/v2/health/ready', MODEL, `${MODEL}/ready`, `${MODEL}/infer`], () => {
    throw methodNotAllowed();
  });
  return router;
}
