// One log line per request with its latency (and the errorCode of an error answer), and the request counters and latency histogram of the
// metrics (inference routes put the model name in ctx.state.model).
import type { Middleware } from 'koa';
import type { Logger } from '../logging/logger.js';
import type { RequestMetrics } from '../inference/front-metrics.js';

declare module 'koa' {
  interface DefaultState {
    model?: string;
  }
}

export function accessLog(log: Logger, metrics?: RequestMetrics): Middleware {
  return async (ctx, next) => {
    const start = performance.now();
    try {
      await next();
    } finally {
      const ms = performance.now() - start;
      const model = ctx.state.model;
      const status = ctx.state.clientClosed ? 499 : ctx.status;
      if (model) metrics?.request(model, status, ms / 1000);
      if (log.isLevelEnabled('info')) {
        log.info({ method: ctx.method, path: ctx.path, status, ms: Math.round(ms * 100) / 100, requestId: ctx.state.requestId, model, errorCode: ctx.state.errorCode }, 'request');
      }
    }
  };
}
