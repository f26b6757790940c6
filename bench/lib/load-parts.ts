// One load point as the benchmarks run it: `procs` load processes (load-worker.js, or grpc-load.js
// for gRPC) share the connections, each printing its LoadResult; their rates add up.
import os from 'node:os';
import path from 'node:path';
import type { LoadResult, LoadSpec } from './load-worker.js';
import { DIST, runNodeJson } from './processes.js';

/** Load processes for a host: one on a small machine, else one per four cores (at most 16), so the load generator is not the limit. */
export const defaultLoadProcs = (cores = os.availableParallelism()): number => (cores <= 4 ? 1 : Math.min(16, Math.ceil(cores / 4)));

/** Runs `seconds` of load; one LoadResult per load process. */
export function runLoadParts(url: string, connections: number, body: LoadSpec['body'], procs: number, seconds: number): Promise<LoadResult[]> {
  const n = Math.max(1, Math.min(procs, connections));
  const worker = path.join(DIST, 'bench', 'lib', body === 'grpc-cls' ? 'grpc-load.js' : 'load-worker.js');
  return Promise.all(Array.from({ length: n }, (_, i) => {
    const spec: LoadSpec = { url, connections: Math.floor(connections / n) + (i < connections % n ? 1 : 0), duration: seconds, body };
    return runNodeJson<LoadResult>(worker, [JSON.stringify(spec)]);
  }));
}

/** The parts as one point: rates and errors summed, p50 their mean (each sees the same server), p99 the worst. */
export function combineParts(parts: LoadResult[]): LoadResult {
  return {
    rps: parts.reduce((a, p) => a + p.rps, 0),
    p50: parts.reduce((a, p) => a + p.p50, 0) / parts.length,
    p99: Math.max(...parts.map((p) => p.p99)),
    errors: parts.reduce((a, p) => a + p.errors, 0),
    non2xx: parts.reduce((a, p) => a + p.non2xx, 0),
    requests: parts.reduce((a, p) => a + (p.requests ?? 0), 0),
    loadCores: Math.max(...parts.map((p) => p.loadCores ?? 0)),
  };
}
