// The live console on the management listener (docs/api.md, "Console"): four static files from
// `console/` beside this module (copied into dist by the build), served to anyone like the API page,
// and the one JSON call the page samples, behind the Management API's guards (Host/Origin check,
// token). The page's own actions (scale, unregister) are plain Management API calls.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import Router from '@koa/router';
import type { Middleware } from 'koa';
import type { ModelRegistry } from './registry/model-registry.js';
import { consoleSummary } from './console-summary.js';
import { resourceNotFound } from '../errors.js';
import { sendJson } from '../http/respond.js';

const DIR = fileURLToPath(new URL('./console/', import.meta.url));

/** The files the page loads, by name; nothing else of the folder is served. */
const ASSETS: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'console.js': 'text/javascript; charset=utf-8',
  'charts.js': 'text/javascript; charset=utf-8',
  'console.css': 'text/css; charset=utf-8',
};

/** Only this origin, no inline script or style: the page loads and calls nothing elsewhere. */
const CSP = "default-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/** Read on first request and kept: the files ship with the server and do not change under it. */
const cache = new Map<string, Promise<Buffer>>();

export interface ConsoleSource {
  registry: ModelRegistry;
  /** Every front's metrics registry as JSON (prom-client); undefined: no request figures. */
  frontMetrics?: () => Promise<unknown[][]>;
}

/** `guards`: the Management API's (host-guard.ts, token-auth.ts), on the data call only. */
export function consoleRoutes(source: ConsoleSource, guards: Middleware[] = []): Router {
  const router = new Router();
  const asset = async (file: string, ctx: Parameters<Middleware>[0]) => {
    const type = Object.hasOwn(ASSETS, file) ? ASSETS[file] : undefined;
    if (!type) throw resourceNotFound();
    let bytes = cache.get(file);
    if (!bytes) {
      cache.set(file, (bytes = readFile(`${DIR}${file}`)));
      bytes.catch(() => cache.delete(file)); // a missing build step should not stick
    }
    ctx.set('Content-Security-Policy', CSP);
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.type = type;
    ctx.body = await bytes;
  };
  router.get('/console', (ctx) => asset('index.html', ctx));
  router.get('/console/api/summary', ...guards, async (ctx) => {
    sendJson(ctx, 200, await consoleSummary(source.registry, source.frontMetrics ?? (async () => [])));
  });
  router.get('/console/:file', (ctx) => asset(ctx.params.file, ctx));
  return router;
}
