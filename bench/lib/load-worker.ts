// Runs autocannon in its own process (so the load generator never shares an event loop with what it
// measures) and prints one JSON line: requests/s, latency percentiles, errors and non-2xx counts.
import autocannon from 'autocannon';
import { clsRequest } from './cls-input.js';

export interface LoadSpec {
  url: string;
  connections: number;
  duration: number;
  body: 'cls' | 'empty';
  /** autocannon worker threads (a many-core host needs more than one load thread). */
  workers?: number;
}

const spec = JSON.parse(process.argv[2]) as LoadSpec;
const req = spec.body === 'cls' ? clsRequest() : { body: Buffer.alloc(0), headers: {} };
const result = await autocannon({
  url: spec.url,
  method: 'POST',
  connections: spec.connections,
  duration: spec.duration,
  ...(spec.workers && spec.workers > 1 ? { workers: spec.workers } : {}),
  headers: req.headers,
  body: req.body,
});
process.stdout.write(
  `${JSON.stringify({
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    total: result.requests.total,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
  })}\n`,
);
