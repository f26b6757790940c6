// Headers MMS puts on every response (docs/api.md, "Common behaviour"): a fresh request id, no-cache headers, and CORS
// when configured.
import { randomUUID } from 'node:crypto';
import type { Middleware } from 'koa';
import type { ServerConfig } from '../config/server-config.js';

declare module 'koa' {
  interface DefaultState {
    requestId: string;
  }
}

/** MMS's no-cache headers, on every response of every listener. */
export const NO_CACHE_HEADERS: ReadonlyArray<readonly [string, string]> = [
  ['Pragma', 'no-cache'],
  ['Cache-Control', 'no-cache; no-store, must-revalidate, private'],
  ['Expires', 'Thu, 01 Jan 1970 00:00:00 UTC'],
];

export function commonHeaders(config: Pick<ServerConfig, 'cors'>): Middleware {
  const cors: Array<[string, string]> = [];
  if (config.cors.origin) cors.push(['Access-Control-Allow-Origin', config.cors.origin]);
  if (config.cors.methods) cors.push(['Access-Control-Allow-Methods', config.cors.methods]);
  if (config.cors.headers) cors.push(['Access-Control-Allow-Headers', config.cors.headers]);
  return async (ctx, next) => {
    const requestId = randomUUID();
    ctx.state.requestId = requestId;
    ctx.set('x-request-id', requestId);
    for (const [k, v] of NO_CACHE_HEADERS) ctx.set(k, v);
    await next();
    for (const [k, v] of cors) if (!ctx.response.get(k)) ctx.set(k, v);
  };
}
