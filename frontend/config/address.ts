// Listener address syntax (docs/configuration.md, Keys): http://host[:port], https://host[:port], unix:/path,
// and host:port (gRPC's usual form, and what people write), read as http://host:port.

export type Address =
  | { kind: 'tcp'; scheme: 'http' | 'https'; host: string; port: number }
  | { kind: 'unix'; scheme: 'http'; path: string };

/** Default ports when an address names none: MMS uses 80/443 for inference, 8081/8444 for management. */
export interface DefaultPorts {
  http: number;
  https: number;
}

export function parseAddress(text: string, defaults: DefaultPorts = { http: 80, https: 443 }): Address {
  if (text.startsWith('unix:')) {
    const path = text.slice(5);
    if (!path) throw new Error(`Invalid binding address: ${text}`);
    return { kind: 'unix', scheme: 'http', path };
  }
  const m = /^(https?):\/\/(\[[^\]]+\]|[^:/]+)(?::(\d+))?\/?$/i.exec(text) ?? bareHostPort(text);
  if (!m) throw new Error(`Invalid binding address: ${text} (expected http://host:port, https://host:port, host:port or unix:/path)`);
  const scheme = m[1].toLowerCase() as 'http' | 'https';
  const port = m[3] !== undefined ? Number(m[3]) : defaults[scheme];
  if (port > 65535) throw new Error(`Invalid port in binding address: ${text}`);
  return { kind: 'tcp', scheme, host: m[2].replace(/^\[|\]$/g, ''), port };
}

export function formatAddress(a: Address): string {
  if (a.kind === 'unix') return `unix:${a.path}`;
  const host = a.host.includes(':') ? `[${a.host}]` : a.host;
  return `${a.scheme}://${host}:${a.port}`;
}

/** One listener serves both. Two port-0 addresses are two ephemeral ports, so never the same. */
export function sameAddress(a: Address, b: Address): boolean {
  if (a.kind === 'tcp' && a.port === 0) return false;
  return formatAddress(a) === formatAddress(b);
}

/** `host:port` or `[v6]:port` without a scheme: as http (the port is required, so `localhost` stays a mistake). */
function bareHostPort(text: string): [string, string, string, string] | null {
  const m = /^(\[[^\]]+\]|[^:/\[\]]+):(\d+)$/.exec(text);
  return m ? [text, 'http', m[1], m[2]] : null;
}
