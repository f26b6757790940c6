// Keeps web pages away from the management API (docs/api.md, Security): a page on another site can
// send a plain POST (no CORS preflight), and one on a rebound DNS name reaches a loopback listener
// under its own Host. So a management request needs a Host the listener serves, and an Origin, when
// it has one, of the same host:port or named by cors_allowed_origin.
import { isIP } from 'node:net';
import type { Middleware } from 'koa';
import type { Address } from '../config/address.js';
import type { ServerConfig } from '../config/server-config.js';
import { forbidden } from '../errors.js';

interface HostPort {
  name: string;
  port?: string;
}

/** `name[:port]` or `[v6]:port`, lower-case, brackets and a trailing dot dropped; undefined if malformed. */
export function parseHost(text: string): HostPort | undefined {
  const m = /^(\[[0-9a-f:.]+\]|[^\s:[\]/@]+)(?::(\d{1,5}))?$/i.exec(text.trim());
  if (!m) return undefined;
  return { name: m[1].toLowerCase().replace(/^\[|\]$/g, '').replace(/\.$/, ''), port: m[2] };
}

const isLoopbackIp = (ip: string) => (isIP(ip) === 4 ? ip.startsWith('127.') : ip === '::1');
const isWildcard = (host: string) => host === '0.0.0.0' || host === '::' || host === '';

/**
 * Whether a Host header names this listener. IP literals cannot come from DNS rebinding, so a wildcard
 * listener (or one bound by name) takes any; a listener on one IP takes that IP (any loopback IP for a
 * loopback one). Names: `localhost` on loopback and wildcard listeners, the listener's own name, and
 * `allowed_hosts` entries (an entry with a port matches that port only; `*` turns the check off).
 */
export function hostAllowed(header: string | undefined, listener: Address, allowedHosts: string[]): boolean {
  if (listener.kind === 'unix' || header === undefined || header === '') return true; // no browser there; HTTP/1.0
  const host = parseHost(header);
  if (!host) return false;
  for (const entry of allowedHosts) {
    if (entry === '*') return true;
    const allowed = parseHost(entry);
    if (allowed && allowed.name === host.name && (allowed.port === undefined || allowed.port === host.port)) return true;
  }
  const bound = listener.host.toLowerCase();
  const boundIsIp = isIP(bound) !== 0;
  if (isIP(host.name)) {
    if (!boundIsIp || isWildcard(bound)) return true;
    return host.name === bound || (isLoopbackIp(bound) && isLoopbackIp(host.name));
  }
  if (host.name === bound) return true;
  return host.name === 'localhost' && (bound === 'localhost' || isWildcard(bound) || isLoopbackIp(bound));
}

/** Same origin: the Origin's host:port is the Host header's (default ports by the Origin's scheme). */
export function originAllowed(origin: string | undefined, hostHeader: string | undefined, corsOrigins: string[]): boolean {
  if (origin === undefined) return true; // not a browser (curl, SDKs), or a same-origin GET
  const normalized = origin.trim().toLowerCase().replace(/\/$/, '');
  if (corsOrigins.some((o) => o === '*' || o === normalized)) return true;
  if (!hostHeader) return false;
  try {
    const o = new URL(normalized);
    if (o.origin === 'null') return false; // opaque origins: sandboxed frames, file: pages
    return new URL(`${o.protocol}//${hostHeader.trim()}`).host === o.host;
  } catch {
    return false;
  }
}

export function hostGuard(listener: Address, config: ServerConfig): Middleware {
  const allowedHosts = config.allowedHosts.map((h) => h.trim()).filter(Boolean);
  const corsOrigins = (config.cors.origin ?? '').split(',').map((o) => o.trim().toLowerCase().replace(/\/$/, '')).filter(Boolean);
  return async (ctx, next) => {
    const host = ctx.get('host') || undefined;
    if (!hostAllowed(host, listener, allowedHosts)) {
      throw forbidden(`Host ${host} is not allowed for the management API; add it to allowed_hosts.`);
    }
    const origin = ctx.get('origin') || undefined;
    if (!originAllowed(origin, host, corsOrigins)) {
      throw forbidden(`Origin ${origin} is not allowed for the management API (cross-site request); set cors_allowed_origin to allow it.`);
    }
    await next();
  };
}
