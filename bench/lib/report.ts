// Turns benchmark results into docs/performance.md (tables, ratios, goals); the SVG plot is chart.ts.
import { outsideSession, type CpuPerRequest } from './cpu.js';
import type { Machine } from './machine.js';

/** One measurement of one configuration at one concurrency, in one round. */
export interface Sample {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
  /** Cores the controller (the server process) kept busy during the point (ours only). */
  controllerCores?: number;
  /** Cores all inference fronts together kept busy during the point (ours only). */
  frontCores?: number;
  /** Cores the busiest load process kept busy; near 1 means the load generator was the limit. */
  loadCores?: number;
  /** Responses the load processes received during the point. */
  requests?: number;
  /** µs of CPU per request answered, by process class (ours: front, controller, worker; a peer: peer). */
  cpuUs?: CpuPerRequest;
  /** A pipeline's: cores each stage's workers kept busy inside session.run during the point. */
  stageCores?: Record<string, number>;
}

/** A configuration at one concurrency: the medians over the rounds (errors summed), and each round. */
export interface Point extends Sample {
  concurrency: number;
  samples?: Sample[];
  /** Older results: the cores of the one frontend process. */
  frontendCores?: number;
}

export interface Series {
  name: string;
  model: 'noop' | 'cls' | 'det' | 'ocr';
  points: Point[];
  workerRssMB?: number;
  /** Ours: workers, batch size and inference fronts of this configuration. */
  workers?: number;
  batch?: number;
  fronts?: number;
  /** `grpc`: measured through gRPC ModelInfer (absent: REST). */
  protocol?: 'rest' | 'grpc';
  /** A floor of CPU per request serving no model (bare node:http): not plotted, not in the rate goals. */
  cpuFloor?: boolean;
  /** Ours registered with cpu_affinity=true (--cpu-affinity): its twin without is the series of the same configuration. */
  pinned?: boolean;
}

/** A ratio of two contenders measured in the same round (adjacent in time), per round and its median. */
export interface Ratio {
  what: string;
  concurrency?: number;
  perRound: number[];
  median: number;
}

export interface Goal {
  goal: string;
  measured: string;
  met: boolean;
}

export interface Loop {
  /** Median over the rounds of one single-threaded loop's rate. */
  itemsPerSecond: number;
  samples?: number[];
  parallel?: number;
  aggregate?: number;
  aggregateSamples?: number[];
}

/** The many-core fronts series: ours at one high concurrency with 1, 2, 4, 8 fronts, and the loops. */
export interface FrontsScaling {
  concurrency: number;
  workers: number;
  batch: number;
  series: Series[];
  loops: Loop;
}

export interface Results {
  machine: Machine;
  /** The bench's flags for this run, --out left out (absent in older results). */
  args?: string[];
  durationS: number;
  rounds?: number;
  loadProcs?: number;
  inProcessLoop: Loop;
  series: Series[];
  ratios?: Ratio[];
  frontsScaling?: FrontsScaling;
  /** Older results: the one frontend process's RSS. */
  frontendRssMB?: number;
  /** RSS read `idleMs` after the last load (absent in older results: read at once). */
  memory?: { controllerMB: number; frontsMB: number[]; idleMs?: number };
  /** How our server ran (absent in older results: log level warn). */
  server?: ServerSetup;
  /** Where CPU per request came from: schedstat (ns) or stat (clock ticks). */
  cpuClock?: string;
  goals: Goal[];
}

export interface ServerSetup {
  /** MMS_LOG_LEVEL (info, the default, keeps the access log on). */
  logLevel: string;
  /** Where its stdout (the log) went. */
  stdout: string;
  /** The config.properties lines the bench sets. */
  config: string[];
}

const fmt = (n: number | null, d = 0) => (n === null || !Number.isFinite(n) ? '–' : n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }));
const opt = (n: number | undefined, d = 2) => (n === undefined ? '' : fmt(n, d));

export function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function pointRows(s: Series, label = s.name): string[] {
  return s.points.map((p) => {
    const spread = p.samples && p.samples.length > 1 ? ` (${fmt(Math.min(...p.samples.map((q) => q.rps)))}–${fmt(Math.max(...p.samples.map((q) => q.rps)))})` : '';
    const fronts = p.frontCores ?? p.frontendCores;
    return `| ${label} | ${p.concurrency} | ${fmt(p.rps)}${spread} | ${fmt(p.p50, 2)} | ${fmt(p.p99, 2)} | ${p.errors} | ${p.non2xx} | ${cpuCells(p.cpuUs)} | ${opt(p.controllerCores)} | ${opt(fronts)} | ${opt(p.loadCores)} |`;
  });
}

/** µs per request: front, controller, worker, and all of them (ours) or the peer's one process. */
const cpuCells = (c: CpuPerRequest | undefined) => [c?.front, c?.controller, c?.worker, outsideSession(c), c?.total].map((x) => opt(x, 0)).join(' | ');
const CPU_HEAD = 'front µs/req | controller µs/req | worker µs/req | worker outside session.run µs/req | total µs/req';

const HEAD = [
  `| configuration | c | req/s median (min–max) | p50 ms | p99 ms | errors | non-2xx | ${CPU_HEAD} | controller cores | front cores | load cores |`,
  '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
];

export function markdown(r: Results, title: string): string {
  const m = r.machine;
  const loop = r.inProcessLoop;
  const rounds = r.rounds ?? 1;
  const plural = (n: number | undefined, w: string) => `${n} ${w}${n === 1 ? '' : 's'}`;
  const lines = [
    `## ${title}`,
    '',
    `Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, Node ${m.node}, ${m.platform}; ${m.date}.` +
      (r.args ? ` Command: \`npm run bench${r.args.length ? ` -- ${r.args.join(' ')}` : ''}\`.` : ''),
    (r.rounds === undefined
      ? `Each point: autocannon in its own process for ${r.durationS} s (an older run: one pass, not interleaved; "front cores" is its one frontend process). `
      : `Each point: autocannon in ${r.loadProcs ?? 1} load process${(r.loadProcs ?? 1) > 1 ? 'es' : ''} for ${r.durationS} s; ` +
        `${rounds} round${rounds > 1 ? 's' : ''}, the contenders of a scenario interleaved (A B A B) so a shared machine's drift cancels; figures are medians over the rounds. `) +
      `In-process ORT loop (1 thread): ${fmt(loop.itemsPerSecond)} items/s` +
      (loop.aggregate ? `; ${plural(loop.parallel, 'loop')} side by side: ${fmt(loop.aggregate)} items/s.` : '.'),
    '',
    setupLine(r),
    '',
    ...HEAD,
  ];
  for (const s of r.series) lines.push(...pointRows(s));
  if (r.frontsScaling) lines.push('', ...frontsMarkdown(r.frontsScaling));
  if (r.ratios?.length) {
    lines.push('', 'Same-run ratios (each round divides two contenders measured next to each other; the median of those):', '');
    lines.push('| ratio | c | per round | median |', '|---|---:|---|---:|');
    for (const q of r.ratios) lines.push(`| ${q.what} | ${q.concurrency ?? ''} | ${q.perRound.map((x) => fmt(x, 2)).join(', ')} | ${fmt(q.median, 2)} |`);
  }
  lines.push('', '| goal | measured | met |', '|---|---|---|');
  for (const g of r.goals) lines.push(`| ${g.goal} | ${g.measured} | ${g.met ? 'yes' : '**no**'} |`);
  lines.push('');
  if (r.memory) lines.push(`Memory after the runs${r.memory.idleMs ? ` (the server idle for ${r.memory.idleMs / 1000} s)` : ''}: controller ${fmt(r.memory.controllerMB)} MB RSS; fronts ${r.memory.frontsMB.map((x) => `${fmt(x)} MB`).join(', ') || 'none'}.`);
  else if (r.frontendRssMB !== undefined) lines.push(`Frontend RSS after the runs: ${fmt(r.frontendRssMB)} MB.`);
  const rss = r.series.filter((s) => s.workerRssMB).map((s) => `${s.name}: ${fmt(s.workerRssMB!)} MB`);
  if (rss.length) lines.push(`Worker RSS after load: ${rss.join('; ')}.`);
  const saturated = [...r.series, ...(r.frontsScaling?.series ?? [])].flatMap((s) => s.points.filter((p) => (p.loadCores ?? 0) > 0.9).map((p) => `${s.name} c=${p.concurrency}`));
  if (saturated.length) lines.push(`Load generator near one core (its figure may be the load generator's limit): ${saturated.join('; ')}.`);
  return `${lines.join('\n')}\n`;
}

/** How our server ran and how CPU was read: the setting every figure of the run depends on. */
function setupLine(r: Results): string {
  if (!r.server) return 'Our server: log level warn (the access log off; an older run, before the level was recorded); no CPU per request.';
  const s = r.server;
  const access = ['trace', 'debug', 'info'].includes(s.logLevel) ? 'the access log on' : 'the access log off';
  return (
    `Our server: log level **${s.logLevel}** (${access}), stdout to ${s.stdout}; config.properties: ${s.config.map((l) => `\`${l}\``).join(', ')}, the rest default. ` +
    `CPU per request: each process's CPU time over a point (${r.cpuClock === 'stat' ? '/proc/<pid>/stat, clock ticks' : '/proc/<pid>/task/*/schedstat, ns'}) over the responses in it; the load generator's not counted.`
  );
}

function frontsMarkdown(f: FrontsScaling): string[] {
  const agg = f.loops.aggregate ?? 0;
  const lines = [
    `### Inference fronts scaling (${f.workers} worker${f.workers > 1 ? 's' : ''}, batching ${f.batch > 1 ? `on (${f.batch})` : 'off'}, c=${f.concurrency})`,
    '',
    `Against ${f.loops.parallel ?? 0} in-process loop${f.loops.parallel === 1 ? '' : 's'} side by side, measured in the same rounds: ${fmt(agg)} items/s. These servers run with \`job_queue_size=${f.concurrency}\`, so that one front alone admits every connection.`,
    '',
    `| fronts | req/s median (min–max) | of the loops | p50 ms | p99 ms | errors | non-2xx | ${CPU_HEAD} | controller cores | front cores | load cores |`,
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const s of f.series) {
    for (const p of s.points) {
      const spread = p.samples && p.samples.length > 1 ? ` (${fmt(Math.min(...p.samples.map((q) => q.rps)))}–${fmt(Math.max(...p.samples.map((q) => q.rps)))})` : '';
      lines.push(`| ${s.fronts} | ${fmt(p.rps)}${spread} | ${agg ? `${Math.round((p.rps / agg) * 100)}%` : ''} | ${fmt(p.p50, 2)} | ${fmt(p.p99, 2)} | ${p.errors} | ${p.non2xx} | ${cpuCells(p.cpuUs)} | ${opt(p.controllerCores)} | ${opt(p.frontCores)} | ${opt(p.loadCores)} |`);
    }
  }
  return lines;
}
