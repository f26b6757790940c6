// One measured point, as `npm run bench` and `npm run bench:ab` take it: a warm-up, then the load
// processes share the connections (their rates add up), and the watched processes' CPU over the point
// by class, per response and (ours) as cores; with the session CPU the workers report in their metrics.
import type { LoadSpec } from './load-worker.js';
import { combineParts, runLoadParts } from './load-parts.js';
import { cpuBetween, perRequest, snapshot, type SessionCpu, type Watch } from './cpu.js';
import type { Sample } from './report.js';

export interface PointOptions {
  /** Load processes (one at concurrency 1). */
  procs: number;
  warmupS: number;
  durationS: number;
  watch?: Watch;
  /** The model's mms_session_cpu_seconds_total (a pipeline's by stage), read before and after. */
  sessionCpu?: () => Promise<SessionCpu | undefined>;
}

export async function measurePoint(url: string, connections: number, body: LoadSpec['body'], o: PointOptions): Promise<Sample> {
  const procs = connections > 1 ? o.procs : 1;
  if (o.warmupS > 0) await runLoadParts(url, connections, body, procs, o.warmupS);
  const sessionBefore = await o.sessionCpu?.();
  const before = o.watch && snapshot(o.watch);
  const t0 = performance.now();
  const parts = await runLoadParts(url, connections, body, procs, o.durationS);
  const after = o.watch && snapshot(o.watch);
  const elapsed = (performance.now() - t0) / 1000;
  const sessionAfter = await o.sessionCpu?.();
  const sample: Sample = combineParts(parts);
  if (!before || !after) return sample;
  const ns = cpuBetween(before, after);
  const cores = (x: number | undefined) => (x === undefined ? undefined : x / 1e9 / elapsed);
  const cpuUs = perRequest(ns, sample.requests ?? 0);
  // Seconds inside session.run during the point, by stage: their sum per request, and each stage's cores.
  const session = sessionAfter && Object.entries(sessionAfter).map(([k, v]) => [k, v - (sessionBefore?.[k] ?? 0)] as const);
  if (session && sample.requests) cpuUs.session = (session.reduce((a, [, v]) => a + v, 0) * 1e6) / sample.requests;
  const stages = session?.filter(([k]) => k !== '');
  const stageCores = stages?.length ? Object.fromEntries(stages.map(([k, v]) => [k, v / elapsed])) : undefined;
  return { ...sample, cpuUs, controllerCores: cores(ns.controller), frontCores: cores(ns.front), ...(stageCores ? { stageCores } : {}) };
}
