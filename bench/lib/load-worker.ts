// Runs the load in its own process (so the load generator never shares an event loop with what it
// measures) and prints one JSON line: requests/s, latency percentiles (ms), errors, non-2xx, and the
// CPU it used itself (so a run can tell when the load generator, not the server, is the limit).
// Concurrency 1 is a plain keep-alive request loop timed with the high-resolution clock, since
// autocannon reports whole milliseconds and c=1 comparisons are about fractions of one.
import http from 'node:http';
import autocannon from 'autocannon';
import { tensorRequest } from './model-inputs.js';
import { ocrRequest } from './ocr-scenario.js';

export interface LoadSpec {
  /** `grpc://host:port/<model>` for the gRPC load (grpc-load.ts). */
  url: string;
  connections: number;
  duration: number;
  /** `grpc-cls`: the cls tensor as a gRPC ModelInfer call (grpc-load.ts runs it). */
  body: 'cls' | 'det' | 'empty' | 'grpc-cls' | 'ocr';
}

export interface LoadResult {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
  /** Responses received (2xx or not): what the server's CPU per request is divided by. */
  requests?: number;
  /** Cores this load process kept busy while it ran (near 1: the load generator is the bottleneck). */
  loadCores?: number;
}

const spec = JSON.parse(process.argv[2]) as LoadSpec;
const req = spec.body === 'cls' || spec.body === 'det' ? tensorRequest(spec.body) : spec.body === 'ocr' ? await ocrRequest() : { body: Buffer.alloc(0), headers: {} as Record<string, string> };
const cpu0 = process.cpuUsage();
const t0 = performance.now();
const result = spec.connections === 1 ? await sequential() : await cannon();
const cpu = process.cpuUsage(cpu0);
result.loadCores = (cpu.user + cpu.system) / 1000 / (performance.now() - t0);
process.stdout.write(`${JSON.stringify(result)}\n`);

async function cannon(): Promise<LoadResult> {
  const r = await autocannon({
    url: spec.url,
    method: 'POST',
    connections: spec.connections,
    duration: spec.duration,
    headers: req.headers,
    body: req.body,
  });
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, errors: r.errors + r.timeouts, non2xx: r.non2xx, requests: r.requests.total };
}

async function sequential(): Promise<LoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const url = new URL(spec.url);
  const times: number[] = [];
  let errors = 0;
  let non2xx = 0;
  const end = performance.now() + spec.duration * 1000;
  const started = performance.now();
  while (performance.now() < end) {
    const t0 = performance.now();
    try {
      const status = await post(agent, url);
      if (status < 200 || status >= 300) non2xx++;
      times.push(performance.now() - t0);
    } catch {
      errors++;
    }
  }
  const elapsed = (performance.now() - started) / 1000;
  agent.destroy();
  times.sort((a, b) => a - b);
  const at = (q: number) => Math.round((times[Math.min(times.length - 1, Math.floor(q * times.length))] ?? 0) * 1000) / 1000;
  return { rps: times.length / elapsed, p50: at(0.5), p99: at(0.99), errors, non2xx, requests: times.length };
}

function post(agent: http.Agent, url: URL): Promise<number> {
  return new Promise((resolve, reject) => {
    const r = http.request(url, { method: 'POST', agent, headers: { ...req.headers, 'content-length': req.body.length } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    r.on('error', reject);
    r.end(req.body);
  });
}
