// The benchmark's goals (those of the data-plane issue), each judged from same-run ratios: a
// contender's figure over its neighbour's in the same round, the median over rounds.
import { BARE_HTTP, NAIVE_DEFAULT_THREADS, NAIVE_ONE_THREAD } from './peers.js';
import { median, type Goal, type Ratio, type Results, type Sample, type Series } from './report.js';

const at = (s: Series | undefined, c: number) => s?.points.find((p) => p.concurrency === c);
const pct = (n: number) => `${Math.round(n * 100)}%`;
const x2 = (n: number) => `${n.toFixed(2)}×`;
const signed = (n: number) => `${n >= 0 ? '+' : '−'}${Math.abs(n).toFixed(3)}`;

/** Per round a's value over b's (b a series at the same c, or per-round numbers), and the median. */
function sameRun(what: string, a: Series | undefined, b: Series | number[] | undefined, c: number, key: 'rps' | 'p50' = 'rps'): Ratio | undefined {
  const as = at(a, c)?.samples;
  const bs = Array.isArray(b) ? b : at(b, c)?.samples?.map((s) => s[key]);
  if (!as || !bs || as.length === 0) return undefined;
  const perRound = as.slice(0, bs.length).map((s, i) => s[key] / bs[i]);
  return { what, concurrency: c, perRound, median: median(perRound) };
}

/** Per round a's `fa` over b's `fb` at concurrency c, and the median; rounds missing either are skipped. */
function sameRunBy(what: string, a: Series | undefined, b: Series | undefined, c: number, fa: (s: Sample) => number | undefined, fb: (s: Sample) => number | undefined): Ratio | undefined {
  const as = at(a, c)?.samples ?? [];
  const bs = at(b, c)?.samples ?? [];
  const perRound = as.slice(0, bs.length).flatMap((s, i) => {
    const x = fa(s);
    const y = fb(bs[i]);
    return x === undefined || y === undefined || !(y > 0) ? [] : [x / y];
  });
  return perRound.length ? { what, concurrency: c, perRound, median: median(perRound) } : undefined;
}

/**
 * Our fronts' CPU per cls request over bare node:http's on the same body, c=64, same rounds: each of
 * our REST cls configurations is listed, the goal takes the lowest.
 */
function frontCpuGoal(series: Series[], ratios: Ratio[], fronts: number): Goal | undefined {
  const bare = series.find((s) => s.name === BARE_HTTP);
  if (!bare) return undefined;
  const rs = series
    .filter((s) => s.model === 'cls' && s.name.startsWith('ours') && s.protocol !== 'grpc' && s.fronts === fronts)
    .map((s) => sameRunBy(`${s.name}: front µs/req / bare node:http µs/req`, s, bare, 64, (q) => q.cpuUs?.front, (q) => q.cpuUs?.total))
    .filter((q): q is Ratio => q !== undefined)
    .sort((p, q) => p.median - q.median);
  ratios.push(...rs);
  const b = rs[0];
  const us = (s: Series | undefined) => at(s, 64)?.cpuUs;
  const mine = series.find((s) => b?.what.startsWith(`${s.name}:`));
  return {
    goal: 'front CPU per cls request (c=64) ≤ 1.5× bare node:http on the same body',
    measured: b ? `${x2(b.median)} (${Math.round(us(mine)?.front ?? 0)} vs ${Math.round(us(bare)?.total ?? 0)} µs/req; ${mine?.name})` : 'not measured',
    met: (b?.median ?? Infinity) <= 1.5,
  };
}

/** The best (highest median) of several same-run ratios. */
const best = (rs: Array<Ratio | undefined>) => rs.filter((r): r is Ratio => r !== undefined).sort((p, q) => q.median - p.median)[0];

function batchingGoal(series: Series[], ratios: Ratio[], fronts: number): Goal | undefined {
  const worst: Ratio[] = [];
  for (const on of series.filter((s) => (s.batch ?? 1) > 1 && s.fronts === fronts && s.protocol !== 'grpc')) {
    const off = series.find((s) => s.model === on.model && s.workers === on.workers && s.batch === 1 && s.fronts === on.fronts && s.protocol !== 'grpc' && !s.pinned === !on.pinned);
    for (const p of on.points) {
      const r = sameRun(`${on.name} / batching off`, on, off, p.concurrency);
      if (r) worst.push(r);
    }
  }
  if (worst.length === 0) return undefined;
  ratios.push(...worst);
  const w = worst.sort((p, q) => p.median - q.median)[0];
  return { goal: 'batching on ≥ batching off at every concurrency (same-run ratio ≥ 1)', measured: `worst: ${w.what} at c=${w.concurrency}: ${x2(w.median)}`, met: w.median >= 1 };
}

function memoryGoals(memory: Results['memory']): Goal[] {
  if (!memory) return [];
  const maxFront = Math.max(0, ...memory.frontsMB);
  return [
    { goal: 'controller RSS after the bench ≤ 80 MB', measured: `${Math.round(memory.controllerMB)} MB`, met: memory.controllerMB <= 80 },
    { goal: 'each front RSS after the bench ≤ 80 MB', measured: memory.frontsMB.length ? `${memory.frontsMB.map((m) => Math.round(m)).join(', ')} MB` : 'no fronts', met: memory.frontsMB.length > 0 && maxFront <= 80 },
  ];
}

/**
 * gRPC ModelInfer against REST binary on the same model, in the same rounds: req/s at c=64 at least
 * REST's, and p50 at c=1 within 0.2 ms of REST's.
 */
function grpcGoals(series: Series[], ratios: Ratio[]): Goal[] {
  const out: Goal[] = [];
  for (const g of series.filter((s) => s.protocol === 'grpc')) {
    const rest = series.find((s) => s.protocol !== 'grpc' && !s.pinned && s.model === g.model && s.workers === g.workers && s.batch === g.batch && s.fronts === g.fronts);
    const rps = sameRun(`${g.name} / ${rest?.name} (req/s)`, g, rest, 64);
    if (rps) ratios.push(rps);
    out.push({ goal: 'gRPC ModelInfer cls c=64 ≥ REST binary req/s (same model, same run)', measured: rps ? x2(rps.median) : 'not measured', met: (rps?.median ?? 0) >= 1 });
    const a = at(g, 1)?.samples;
    const b = at(rest, 1)?.samples;
    if (!a || !b) continue;
    const perRound = a.slice(0, b.length).map((q, i) => q.p50 - b[i].p50);
    const diff: Ratio = { what: `${g.name} p50 − REST p50 (ms)`, concurrency: 1, perRound, median: median(perRound) };
    ratios.push(diff);
    out.push({ goal: 'gRPC ModelInfer cls c=1 p50 ≤ REST binary p50 + 0.2 ms', measured: `${signed(diff.median)} ms`, met: diff.median <= 0.2 });
  }
  return out;
}

/** Our server through REST, unpinned: the configuration the goals judge (pinned twins have a goal of their own). */
const oursRest = (s: Series) => s.name.startsWith('ours') && s.protocol !== 'grpc' && !s.pinned;

/** Every answer 2xx at concurrency c (batching off, the default job_queue_size of the run). */
function non2xxGoal(series: Series[], c: number): Goal {
  const off = series.filter((s) => oursRest(s) && (s.batch ?? 1) === 1);
  const points = off.map((s) => at(s, c)).filter((p) => p !== undefined);
  const non2xx = points.reduce((a, p) => a + p.non2xx + p.errors, 0);
  const requests = points.reduce((a, p) => a + (p.requests ?? 0), 0);
  return { goal: `c=${c}, batching off: 0 answers other than 2xx`, measured: points.length ? `${non2xx} of ${requests.toLocaleString('en-US')}` : 'not measured', met: points.length > 0 && non2xx === 0 };
}

/** Our cls workers' CPU per request outside session.run (c=64), the lowest of our REST cls configurations. */
function workerCpuGoal(series: Series[], fronts: number): Goal {
  const own = series
    .filter((s) => s.model === 'cls' && oursRest(s) && s.fronts === fronts)
    .map((s) => ({ s, c: at(s, 64)?.cpuUs }))
    .filter((x) => x.c?.worker !== undefined && x.c.session !== undefined)
    .map((x) => ({ name: x.s.name, us: x.c!.worker! - x.c!.session!, worker: x.c!.worker!, session: x.c!.session! }))
    .sort((a, b) => a.us - b.us)[0];
  return {
    goal: 'worker CPU per cls request outside session.run (c=64) ≤ 50 µs',
    measured: own ? `${Math.round(own.us)} µs (${Math.round(own.worker)} in all, ${Math.round(own.session)} in session.run; ${own.name})` : 'not measured',
    met: own !== undefined && own.us <= 50,
  };
}

/**
 * --cpu-affinity: each pinned series over its unpinned twin (same model, workers, batch and fronts), req/s
 * per concurrency in the same rounds. cpu_affinity becomes the default only if pinning wins: every ratio ≥ 1.
 */
function pinningGoal(series: Series[], ratios: Ratio[]): Goal | undefined {
  const rs: Ratio[] = [];
  for (const p of series.filter((s) => s.pinned)) {
    const twin = series.find((s) => !s.pinned && s.protocol !== 'grpc' && s.model === p.model && s.workers === p.workers && s.batch === p.batch && s.fronts === p.fronts);
    for (const q of p.points) {
      const r = sameRun(`${p.name} / unpinned (req/s)`, p, twin, q.concurrency);
      if (r) rs.push(r);
    }
  }
  if (rs.length === 0) return undefined;
  ratios.push(...rs);
  const worst = [...rs].sort((a, b) => a.median - b.median)[0];
  const all = rs.map((r) => `${x2(r.median)} (${r.what.split(' / ')[0].replace(/^ours /, '')}, c=${r.concurrency})`).join('; ');
  return { goal: 'cpu_affinity=true ≥ unpinned req/s at every point (same-run ratio ≥ 1; else the default stays false)', measured: all, met: worst.median >= 1 };
}

export interface GoalOptions {
  /** The many-core run (its goal is against the loops side by side). */
  device: boolean;
  /** Our server's --fronts: the series the 2-core goals compare. */
  fronts: number;
  /** Workers (and loops side by side) of the many-core run. */
  deviceWorkers: number;
}

/** The goals, each from same-run ratios, and the ratios they used (for the report). */
export function goals(r: Omit<Results, 'goals' | 'ratios'>, o: GoalOptions): { goals: Goal[]; ratios: Ratio[] } {
  const { deviceWorkers, fronts } = o;
  const find = (name: string) => r.series.find((s) => s.name === name);
  const ratios: Ratio[] = [];
  const out: Goal[] = [];
  if (o.device) {
    const aggs = r.inProcessLoop.aggregateSamples ?? [];
    const fs = r.frontsScaling;
    // Batching on and batching off each against the loops side by side: the best point of each.
    for (const batched of [true, false]) {
      const mine = r.series.filter((s) => oursRest(s) && (s.batch ?? 1) > 1 === batched);
      const cands = mine.flatMap((s) => s.points.map((p) => sameRun(`${s.name} / ${deviceWorkers} loops`, s, aggs, p.concurrency)));
      if (fs && (fs.batch > 1) === batched) cands.push(...fs.series.map((s) => sameRun(`${s.name} / ${deviceWorkers} loops`, s, fs.loops.aggregateSamples ?? [], fs.concurrency)));
      ratios.push(...cands.filter((q): q is Ratio => q !== undefined));
      const b = best(cands);
      out.push({
        goal: `cls with ${deviceWorkers} worker${deviceWorkers > 1 ? 's' : ''}, batching ${batched ? 'on' : 'off'}, ≥ 85% of ${deviceWorkers} in-process loops side by side`,
        measured: b ? `${pct(b.median)} (${b.what}, c=${b.concurrency})` : 'not measured',
        met: (b?.median ?? 0) >= 0.85,
      });
    }
    out.push(non2xxGoal(r.series, 256));
    const bg = batchingGoal(r.series, ratios, o.fronts);
    if (bg) out.push(bg);
  } else {
    const koa = find('bare Koa no-op');
    const cls2 = r.series.filter((s) => s.model === 'cls' && s.workers === 2 && s.fronts === fronts && s.protocol !== 'grpc' && !s.pinned);
    for (const [peer, goal] of [
      [NAIVE_ONE_THREAD, 1.5],
      [NAIVE_DEFAULT_THREADS, 1.2],
    ] as const) {
      const q = best(cls2.map((s) => sameRun(`${s.name} / ${peer}`, s, find(peer), 64)));
      if (q) ratios.push(q);
      out.push({ goal: `cls, 2 workers, c=64 ≥ ${goal}× ${peer}`, measured: q ? `${x2(q.median)} (${q.what.split(' / ')[0]})` : 'not measured', met: (q?.median ?? 0) >= goal });
    }
    const bg = batchingGoal(r.series, ratios, o.fronts);
    if (bg) out.push(bg);
    const noop = r.series.filter((s) => s.model === 'noop' && s.name.startsWith('ours'));
    const vsKoa = best(noop.map((s) => sameRun(`${s.name} / bare Koa`, s, koa, 64)));
    const bestNoop = noop.find((s) => vsKoa?.what.startsWith(s.name));
    if (vsKoa) ratios.push(vsKoa);
    out.push({ goal: 'no-op c=64 ≥ 0.6× bare Koa', measured: vsKoa ? `${x2(vsKoa.median)} (${vsKoa.what.split(' / ')[0]})` : 'not measured', met: (vsKoa?.median ?? 0) >= 0.6 });
    const p99 = at(bestNoop, 64)?.p99;
    out.push({ goal: 'no-op c=64 p99 ≤ 10 ms (the configuration above)', measured: p99 === undefined ? 'not measured' : `${p99} ms`, met: (p99 ?? Infinity) <= 10 });
    out.push(workerCpuGoal(r.series, fronts));
  }
  const fc = frontCpuGoal(r.series, ratios, fronts);
  if (fc) out.push(fc);
  const pin = pinningGoal(r.series, ratios);
  if (pin) out.push(pin);
  out.push(...grpcGoals(r.series, ratios));
  out.push(...memoryGoals(r.memory));
  return { goals: out, ratios };
}
