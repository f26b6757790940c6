// Every listener's accept queue is LISTEN_BACKLOG as capped by the kernel (net.core.somaxconn), not
// Node's default 511 (docs/configuration.md, "Listen backlog"). `ss -ltn` shows a listening socket's
// backlog in its Send-Q column.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { LISTEN_BACKLOG } from '../../frontend/http/listen.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const NODE_DEFAULT = 511;

function skipReason(): string | undefined {
  try {
    execFileSync('ss', ['-V'], { stdio: 'ignore' });
  } catch {
    return '`ss` (iproute2) is not installed';
  }
  if (!existsSync('/proc/sys/net/core/somaxconn')) return 'no /proc/sys/net/core/somaxconn';
  if (somaxconn() <= NODE_DEFAULT) return `net.core.somaxconn is ${somaxconn()}: no backlog above Node's default can be seen`;
  return undefined;
}

const somaxconn = () => Number(readFileSync('/proc/sys/net/core/somaxconn', 'utf8'));

/** The Send-Q (backlog) of the TCP socket listening on `port`. */
function backlog(port: string): number {
  const out = execFileSync('ss', ['-Hltn', 'sport', '=', `:${port}`], { encoding: 'utf8' }).trim();
  const [first] = out.split('\n');
  assert.ok(first, `nothing listens on port ${port}`);
  return Number(first.trim().split(/\s+/)[2]);
}

describe('listen backlog', { timeout: 60_000, skip: skipReason() }, () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(async () => {
    await server?.close();
  });

  it('every listener, gRPC included, asks for LISTEN_BACKLOG; the kernel caps it at somaxconn', () => {
    const expected = Math.min(LISTEN_BACKLOG, somaxconn());
    const ports = {
      inference: new URL(server.inferenceUrl).port,
      management: new URL(server.managementUrl).port,
      metrics: new URL(server.metricsUrl).port,
      grpc: server.grpcUrl.split(':').pop() as string,
    };
    for (const [name, port] of Object.entries(ports)) assert.equal(backlog(port), expected, name);
  });
});
