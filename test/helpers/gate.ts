// A loopback HTTP server that holds requests until the test releases them: a handler (fixtures
// handlers/hold.mjs) fetches /hold/<id>, so the test knows when a request reached its worker
// (`arrived`) and decides when it finishes (`release`), with no timers.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Gate {
  /** The URL a handler fetches to wait on hold `id`. */
  url(id: string): string;
  /** Resolves once a handler waits on `id`. */
  arrived(id: string): Promise<void>;
  release(id: string): void;
  close(): Promise<void>;
}

export async function startGate(): Promise<Gate> {
  const held = new Map<string, http.ServerResponse>();
  const waiting = new Map<string, () => void>();
  const released = new Set<string>();
  const server = http.createServer((req, res) => {
    const id = decodeURIComponent(req.url?.replace(/^\/hold\//, '') ?? '');
    if (released.has(id)) return void res.end('released');
    held.set(id, res);
    waiting.get(id)?.();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: (id) => `http://127.0.0.1:${port}/hold/${encodeURIComponent(id)}`,
    arrived: (id) => (held.has(id) ? Promise.resolve() : new Promise((resolve) => waiting.set(id, resolve))),
    release(id) {
      released.add(id);
      held.get(id)?.end('released');
      held.delete(id);
    },
    async close() {
      for (const res of held.values()) res.end('released');
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
