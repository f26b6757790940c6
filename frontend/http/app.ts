// One Koa app for a listener: the common middleware (headers, access log, drain, the one error
// handler), the API description, and the Inference and/or Management routes it serves. Fronts build
// it with inference routes only; the controller with management routes (and inference as well when
// both APIs share one address).
import Koa from 'koa';
import Router from '@koa/router';
import type { ServerConfig } from '../config/server-config.js';
import type { Logger } from '../logging/logger.js';
import type { ModelRegistry } from '../control/registry/model-registry.js';
import type { WorkerRouter } from '../inference/worker-router.js';
import type { RequestMetrics } from '../inference/front-metrics.js';
import { accessLog } from './access-log.js';
import { commonHeaders } from './common-headers.js';
import { errorMiddleware } from './error-middleware.js';
import { missingHost } from './client-error.js';
import { methodNotAllowed } from '../errors.js';
import { inferenceRoutes } from '../inference/inference-routes.js';
import { managementRoutes } from '../control/management-routes.js';
import { apiDescription } from './openapi.js';
import { apiPageRoutes } from './api-page.js';
import { v2Routes } from '../oip/v2-routes.js';
import { openAiRoutes } from '../openai/openai-routes.js';
import { repositoryRoutes } from '../control/repository-routes.js';
import { consoleRoutes } from '../control/console-routes.js';
import { sendJson } from './respond.js';

export interface AppApis {
  inference?: { workers: WorkerRouter; guards: Koa.Middleware[] };
  /** `frontMetrics`: every front's metrics (prom-client JSON), for the console's request figures. */
  management?: { registry: ModelRegistry; guards: Koa.Middleware[]; frontMetrics?: () => Promise<unknown[][]> };
}

export function buildApp(config: Pick<ServerConfig, 'cors' | 'maxRequestSize' | 'maxRequestParameters' | 'modelStore' | 'defaultWorkersPerModel'>, log: Logger, apis: AppApis, metrics: RequestMetrics | undefined, drain: { active: boolean }): Koa {
  const app = new Koa();
  app.silent = true;
  const served = { inference: Boolean(apis.inference), management: Boolean(apis.management) };
  const root = new Router();
  root.options('/', (ctx) => sendJson(ctx, 200, apiDescription(served)));
  root.all('/', () => {
    throw methodNotAllowed();
  });
  root.all('/api-description', (ctx) => sendJson(ctx, 200, apiDescription(served)));
  app.use(commonHeaders(config));
  app.use(accessLog(log.child({ component: 'access' }), metrics));
  app.use(async (ctx, next) => {
    await next();
    if (drain.active) ctx.set('Connection', 'close'); // a stopping server lets no connection linger
  });
  app.use(errorMiddleware(log, served.inference));
  app.use((ctx, next) => {
    const e = missingHost(ctx.req);
    if (e) throw e;
    return next();
  });
  app.use(root.routes());
  app.use(apiPageRoutes().routes());
  if (apis.inference) {
    app.use(inferenceRoutes(apis.inference.workers, config, apis.inference.guards).routes());
    app.use(v2Routes(apis.inference.workers, config, drain, apis.inference.guards).routes());
    app.use(openAiRoutes(apis.inference.workers, config, apis.inference.guards).routes());
  }
  if (apis.management) {
    app.use(managementRoutes(apis.management.registry, apis.management.guards).routes());
    app.use(repositoryRoutes(apis.management.registry, config, apis.management.guards).routes());
    app.use(consoleRoutes(apis.management, apis.management.guards).routes());
  }
  return app;
}
