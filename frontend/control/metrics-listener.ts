// The metrics listener's one route, `GET /metrics` (docs/api.md, "Metrics"): the controller's registry
// and every front's, merged. No Koa here, so it writes the headers every listener's responses carry
// itself (docs/api.md, "Common behaviour"): a request id, no-cache; errors as the catalogue's JSON
// with `Connection: close`, like every other listener's (a client's unread body is then never parsed).
import { randomUUID } from 'node:crypto';
import type http from 'node:http';
import { ServerError, errorJson, internal } from '../errors.js';
import { NO_CACHE_HEADERS } from '../http/common-headers.js';
import { missingHost } from '../http/client-error.js';
import type { Logger } from '../logging/logger.js';
import type { ServerMetrics } from './metrics.js';

/** `fronts`: each front's registry as JSON, read when scraped. */
export function metricsHandler(metrics: ServerMetrics, log: Logger, fronts: () => Promise<unknown[][]>): http.RequestListener {
  return (req, res) => {
    res.setHeader('x-request-id', randomUUID());
    for (const [k, v] of NO_CACHE_HEADERS) res.setHeader(k, v);
    const fail = (e: ServerError) =>
      res.writeHead(e.status, { 'content-type': 'application/json; charset=utf-8', connection: 'close' }).end(errorJson(e));
    const refused = missingHost(req) ?? (req.method !== 'GET' || req.url?.split('?')[0] !== '/metrics' ? new ServerError('RESOURCE_NOT_FOUND', 'Only GET /metrics is served here.') : undefined);
    if (refused) {
      fail(refused);
      return;
    }
    fronts()
      .then((all) => metrics.render(all))
      .then(
        (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
        (err: Error) => {
          log.error({ err }, 'cannot render metrics');
          fail(internal(err.message));
        },
      );
  };
}
