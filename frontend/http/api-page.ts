// The interactive API page: Swagger UI from the swagger-ui-dist package, served from this server (no
// CDN; the Content-Security-Policy allows nothing else), rendering this listener's own OpenAPI document
// (`/api-description`). Open without a key, like the document itself (docs/api.md, API page).
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import Router from '@koa/router';
import { resourceNotFound } from '../errors.js';

const DIST = path.dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));

/** The files the page loads, by name; nothing else of the package is served. */
const ASSETS: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'favicon-32x32.png': 'image/png',
  'favicon-16x16.png': 'image/png',
};

const PAGE = `<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Model Server API</title>
  <link rel="stylesheet" href="/docs/swagger-ui.css">
  <link rel="icon" type="image/png" href="/docs/favicon-32x32.png" sizes="32x32">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/swagger-ui-bundle.js"></script>
  <script src="/docs/init.js"></script>
</body>
</html>
`;

/** A script file rather than an inline one, so the policy can forbid inline scripts. */
const INIT = `window.addEventListener('load', function () {
  window.ui = SwaggerUIBundle({ url: '/api-description', dom_id: '#swagger-ui', deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis], layout: 'BaseLayout' });
});
`;

const CSP = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; frame-ancestors 'none'";

/** Files read on first request and kept (the bundle is 1.7 MB; a listener serves it many times). */
const cache = new Map<string, Promise<Buffer>>();

export function apiPageRoutes(): Router {
  const router = new Router();
  router.get('/docs', (ctx) => {
    ctx.set('Content-Security-Policy', CSP);
    ctx.type = 'text/html; charset=utf-8';
    ctx.body = PAGE;
  });
  router.get('/docs/:file', async (ctx) => {
    const file = ctx.params.file;
    ctx.set('Content-Security-Policy', CSP);
    if (file === 'init.js') {
      ctx.type = 'text/javascript; charset=utf-8';
      ctx.body = INIT;
      return;
    }
    const type = Object.hasOwn(ASSETS, file) ? ASSETS[file] : undefined;
    if (!type) throw resourceNotFound();
    let bytes = cache.get(file);
    if (!bytes) cache.set(file, (bytes = readFile(path.join(DIST, file))));
    ctx.type = type;
    ctx.body = await bytes;
  });
  return router;
}
