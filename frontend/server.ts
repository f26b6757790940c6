// Wires the server together: registry, start-up models, one Koa app per listener (one shared app when
// both addresses are equal, as SageMaker runs it), the metrics listener, and a graceful close that
// stops accepting, lets in-flight requests finish up to a deadline, then stops the workers.
import http from 'node:http';
import https from 'node:https';
import { readFileSync } from 'node:fs';
import { once } from 'node:events';
import Koa from 'koa';
import Router from '@koa/router';
import type { ServerConfig } from './config/server-config.js';
import { formatAddress, sameAddress, type Address } from './config/address.js';
import type { Logger } from './logging/logger.js';
import { ServerMetrics } from './metrics/server-metrics.js';
import { ModelRegistry } from './registry/model-registry.js';
import { accessLog } from './http/access-log.js';
import { loadStartupModels, type StartupFailure } from './registry/startup-models.js';
import { removeStaleWorkDirs } from './archive/work-dirs.js';
import { commonHeaders } from './http/common-headers.js';
import { answerUnparsableRequests } from './http/client-error.js';
import { errorMiddleware } from './http/error-middleware.js';
import { methodNotAllowed } from './http/errors.js';
import { inferenceRoutes } from './http/inference-app.js';
import { managementRoutes } from './http/management-app.js';
import { apiDescription } from './http/openapi.js';
import { hostGuard } from './http/host-guard.js';
import { keyFilePath, requireKey, writeKeyFile, type ApiKeys } from './http/token-auth.js';
import { sendJson } from './http/respond.js';

export interface RunningServer {
  inferenceUrl: string;
  managementUrl: string;
  metricsUrl: string;
  registry: ModelRegistry;
  /** Start-up models that did not load (the server serves the others). */
  startupFailures: StartupFailure[];
  close(): Promise<void>;
}

export async function startServer(config: ServerConfig, log: Logger): Promise<RunningServer> {
  let registry: ModelRegistry | undefined;
  const metrics = new ServerMetrics(() => registry);
  registry = new ModelRegistry(config, log.child({ component: 'registry' }), metrics);
  const models = registry;
  await removeStaleWorkDirs(config.workDir, log);
  const { loaded: startup, failed: startupFailures } = await loadStartupModels(models, config, log);
  const startupModels = () => startup.filter((n) => models.has(n));
  const drain = { active: false };

  const shared = sameAddress(config.inferenceAddress, config.managementAddress);
  const listeners: Array<{ address: Address; apis: { inference: boolean; management: boolean } }> = shared
    ? [{ address: config.inferenceAddress, apis: { inference: true, management: true } }]
    : [
        { address: config.inferenceAddress, apis: { inference: true, management: false } },
        { address: config.managementAddress, apis: { inference: false, management: true } },
      ];

  const servers: Array<http.Server> = [];
  const urls: string[] = [];
  try {
    const keys = config.tokenAuth.enabled ? createKeys(config, log) : undefined;
    for (const l of listeners) {
      const guards = {
        inference: keys ? [requireKey(keys.inference)] : [],
        management: [hostGuard(l.address, config), ...(keys ? [requireKey(keys.management)] : [])],
      };
      const app = buildApp(config, log, l.apis, models, startupModels, metrics, drain, guards);
      const server = createHttpServer(l.address, config, app.callback());
      servers.push(server);
      urls.push(await listen(server, l.address));
    }
    const metricsServer = createHttpServer(config.metricsAddress, config, metricsHandler(metrics));
    servers.push(metricsServer);
    urls.push(await listen(metricsServer, config.metricsAddress));
  } catch (err) {
    for (const s of servers) s.close();
    await models.closeAll();
    throw err;
  }
  const [inferenceUrl, managementUrl = inferenceUrl] = urls.slice(0, listeners.length);
  const metricsUrl = urls[urls.length - 1];
  log.info({ inference: inferenceUrl, management: managementUrl, metrics: metricsUrl }, 'listening');

  return {
    inferenceUrl,
    managementUrl,
    metricsUrl,
    registry: models,
    startupFailures,
    async close() {
      drain.active = true;
      const closed = Promise.all(servers.map((s) => {
        const done = once(s, 'close');
        s.close();
        s.closeIdleConnections();
        return done;
      }));
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), config.gracefulShutdownTimeout * 1000)));
      if ((await Promise.race([closed, deadline])) === 'late') {
        log.warn('graceful shutdown deadline passed; closing open connections');
        for (const s of servers) s.closeAllConnections();
        await closed;
      }
      clearTimeout(timer);
      await models.closeAll();
    },
  };
}

function createKeys(config: ServerConfig, log: Logger): ApiKeys {
  const file = keyFilePath(config);
  const keys = writeKeyFile(file);
  log.info({ keyFile: file }, 'token authorization enabled: API keys written to the key file'); // never the keys
  return keys;
}

function metricsHandler(metrics: ServerMetrics): http.RequestListener {
  return (req, res) => {
    if (req.method !== 'GET' || req.url?.split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"code":404,"type":"ResourceNotFoundException","message":"Only GET /metrics is served here."}\n');
      return;
    }
    metrics.registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
      (err: Error) => res.writeHead(500).end(err.message),
    );
  };
}

function buildApp(
  config: ServerConfig,
  log: Logger,
  apis: { inference: boolean; management: boolean },
  registry: ModelRegistry,
  startupModels: () => string[],
  metrics: ServerMetrics,
  drain: { active: boolean },
  guards: { inference: Koa.Middleware[]; management: Koa.Middleware[] },
): Koa {
  const app = new Koa();
  app.silent = true;
  const root = new Router();
  root.options('/', (ctx) => sendJson(ctx, 200, apiDescription(apis)));
  root.all('/', () => {
    throw methodNotAllowed();
  });
  root.all('/api-description', (ctx) => sendJson(ctx, 200, apiDescription(apis)));
  app.use(commonHeaders(config));
  app.use(accessLog(log.child({ component: 'access' }), metrics));
  app.use(async (ctx, next) => {
    await next();
    if (drain.active) ctx.set('Connection', 'close'); // a stopping server lets no connection linger
  });
  app.use(errorMiddleware(log));
  app.use(root.routes());
  if (apis.inference) app.use(inferenceRoutes(registry, config, startupModels, guards.inference).routes());
  if (apis.management) app.use(managementRoutes(registry, guards.management).routes());
  return app;
}

function createHttpServer(address: Address, config: ServerConfig, handler: http.RequestListener): http.Server {
  const server = createNodeServer(address, config, handler);
  answerUnparsableRequests(server);
  return server;
}

function createNodeServer(address: Address, config: ServerConfig, handler: http.RequestListener): http.Server {
  if (address.scheme === 'http') return http.createServer({ keepAliveTimeout: 65_000 }, handler);
  const { tls } = config;
  if (tls.keystore) return https.createServer({ pfx: readFileSync(tls.keystore), passphrase: tls.keystorePass }, handler);
  if (tls.privateKeyFile && tls.certificateFile) {
    return https.createServer({ key: readFileSync(tls.privateKeyFile), cert: readFileSync(tls.certificateFile) }, handler);
  }
  throw new Error('https addresses need keystore, or private_key_file and certificate_file');
}

async function listen(server: http.Server, address: Address): Promise<string> {
  const done = Promise.race([once(server, 'listening'), once(server, 'error').then(([err]) => Promise.reject(err))]);
  if (address.kind === 'unix') server.listen(address.path);
  else server.listen(address.port, address.host);
  await done;
  if (address.kind === 'unix') return formatAddress(address);
  const bound = server.address();
  return formatAddress({ ...address, port: typeof bound === 'object' && bound ? bound.port : address.port });
}
