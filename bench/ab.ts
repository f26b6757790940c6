// `npm run bench:ab`: one change measured in pairs. Side A and side B each start a server of their own
// (their own environment, config lines or build), register the same model, and take the same load;
// the sides alternate A B, B A, … so a shared machine's drift falls on both. Each run prints req/s,
// latency and the CPU per request of every process class from /proc, as `npm run bench` measures them,
// and the pairs' B/A ratios follow. It is how the steps in docs/performance-profile.md ("Paired steps")
// were measured, made one command.
import { rmSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { makeStore } from './lib/bench-store.js';
import { defaultLoadProcs } from './lib/load-parts.js';
import { measurePoint } from './lib/point.js';
import { outsideSession, type CpuPerRequest } from './lib/cpu.js';
import { Ours } from './lib/ours.js';
import { median } from './lib/report.js';

// A bad flag, or a side whose server would not start, ends the run with its message alone.
process.on('uncaughtException', (err) => {
  process.stderr.write(`bench:ab: ${err.message}\n`);
  process.exit(1);
});

const HELP = `Usage: npm run bench:ab -- [flags]   (or: node dist/bench/ab.js [flags] after npm run build)
  --a-env NAME=VALUE   side A's server environment (repeatable), e.g. MMS_WORKER_NODE_ARGS=--single-threaded-gc
  --b-env NAME=VALUE   side B's (repeatable)
  --a-config KEY=VALUE side A's config.properties line (repeatable), e.g. job_queue_size=256
  --b-config KEY=VALUE side B's (repeatable)
  --a-root DIR         a checkout whose build (DIR/dist) side A runs (default: this one)
  --b-root DIR         the same for side B
  --a-label TEXT       side A's name in the output (default A); --b-label likewise (default B)
  --model M            cls (110 KB tensors, default) or noop (the serving path alone)
  --grpc               cls as gRPC ModelInfer calls instead of REST
  --workers N          workers of the model (default 2)     --batch N   batch_size (default 1: off)
  --fronts N           inference fronts (default 0: the server's own choice)
  --c N                connections (default 64)              --pairs N   pairs of runs (default 3)
  --duration S         measured seconds a run (default 8)   --warmup S  seconds before it (default 2)
  --out FILE           also write the runs as JSON
  --help               this text`;

const { values: flags } = parseArgs({
  options: {
    'a-env': { type: 'string', multiple: true, default: [] },
    'b-env': { type: 'string', multiple: true, default: [] },
    'a-config': { type: 'string', multiple: true, default: [] },
    'b-config': { type: 'string', multiple: true, default: [] },
    'a-root': { type: 'string' },
    'b-root': { type: 'string' },
    'a-label': { type: 'string', default: 'A' },
    'b-label': { type: 'string', default: 'B' },
    model: { type: 'string', default: 'cls' },
    grpc: { type: 'boolean', default: false },
    workers: { type: 'string', default: '2' },
    batch: { type: 'string', default: '1' },
    fronts: { type: 'string', default: '0' },
    c: { type: 'string', default: '64' },
    pairs: { type: 'string', default: '3' },
    duration: { type: 'string', default: '8' },
    warmup: { type: 'string', default: '2' },
    out: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});
if (flags.help) {
  process.stdout.write(`${HELP}\n`);
  process.exit(0);
}

/** `NAME=VALUE` pairs as an environment; throws on one without `=`. */
function envOf(pairs: string[]): NodeJS.ProcessEnv {
  return Object.fromEntries(
    pairs.map((p) => {
      const at = p.indexOf('=');
      if (at < 1) throw new Error(`expected NAME=VALUE, got "${p}"`);
      return [p.slice(0, at), p.slice(at + 1)];
    }),
  );
}

const parseModel = (m: string): 'cls' | 'noop' => {
  if (m !== 'cls' && m !== 'noop') throw new Error(`--model: cls or noop, got "${m}"`);
  return m;
};
const model = parseModel(flags.model);
if (flags.grpc && model !== 'cls') throw new Error('--grpc: the cls model only');
const num = (name: keyof typeof flags) => {
  const n = Number(flags[name]);
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${name}: a number, got "${String(flags[name])}"`);
  return n;
};
const [workers, batch, fronts, c, pairs, duration, warmup] = (['workers', 'batch', 'fronts', 'c', 'pairs', 'duration', 'warmup'] as const).map(num);

interface Side {
  label: string;
  env: NodeJS.ProcessEnv;
  config: string[];
  root?: string;
}
const sides: Side[] = [
  { label: flags['a-label'], env: envOf(flags['a-env']), config: flags['a-config'], root: flags['a-root'] },
  { label: flags['b-label'], env: envOf(flags['b-env']), config: flags['b-config'], root: flags['b-root'] },
];
if (sides[0].label === sides[1].label) throw new Error('--a-label and --b-label must differ');

interface Run {
  pair: number;
  side: string;
  rps: number;
  p50: number;
  p99: number;
  failed: number;
  cpuUs: CpuPerRequest;
  controllerMB: number;
  frontsMB: number[];
}

async function measure(side: Side, store: string, pair: number): Promise<Run> {
  const server = await Ours.start(store, fronts, side.config, 'info', { env: side.env, root: side.root });
  try {
    const rest = await server.register(model, workers, batch, side.label);
    const contender = flags.grpc ? server.grpcTwin(rest) : rest;
    const body = flags.grpc ? 'grpc-cls' : model === 'cls' ? 'cls' : 'empty';
    const r = await measurePoint(contender.url, c, body, { procs: defaultLoadProcs(), warmupS: warmup, durationS: duration, watch: server.watch, sessionCpu: rest.sessionCpu });
    return { pair, side: side.label, rps: r.rps, p50: r.p50, p99: r.p99, failed: r.errors + r.non2xx, cpuUs: r.cpuUs ?? {}, ...server.memory() };
  } finally {
    await server.stop();
  }
}

const f0 = (x: number | undefined) => (x === undefined ? '' : Math.round(x).toLocaleString('en-US'));
const f2 = (x: number) => x.toFixed(2);

const store = makeStore();
const runs: Run[] = [];
process.stdout.write(`bench:ab: ${model}${flags.grpc ? ' (gRPC)' : ''}, ${workers} workers, batch ${batch}, c=${c}, ${duration} s a run after ${warmup} s, ${pairs} pairs\n\n`);
process.stdout.write('| pair | side | req/s | p50 ms | p99 ms | failed | front µs/req | controller µs/req | worker µs/req | worker outside session.run | controller MB | fronts MB |\n|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n');
try {
  for (let p = 1; p <= pairs; p++) {
    for (const side of p % 2 === 1 ? sides : [...sides].reverse()) {
      const r = await measure(side, store, p);
      runs.push(r);
      const u = r.cpuUs;
      process.stdout.write(`| ${p} | ${r.side} | ${f0(r.rps)} | ${r.p50} | ${r.p99} | ${r.failed} | ${f0(u.front)} | ${f0(u.controller)} | ${f0(u.worker)} | ${f0(outsideSession(u))} | ${f0(r.controllerMB)} | ${r.frontsMB.map(f0).join(', ')} |\n`);
    }
  }
} finally {
  rmSync(store, { recursive: true, force: true });
}

// B over A within each pair, then the median of those ratios.
const ratio = (pick: (r: Run) => number | undefined) => {
  const each = Array.from({ length: pairs }, (_, i) => {
    const [a, b] = sides.map((s) => runs.find((r) => r.pair === i + 1 && r.side === s.label));
    const x = a && pick(a);
    const y = b && pick(b);
    return x && y !== undefined ? y / x : undefined;
  }).filter((v): v is number => v !== undefined);
  return each.length ? `${each.map(f2).join(', ')} (median ${f2(median(each))})` : 'not measured';
};
process.stdout.write(`\n${sides[1].label} / ${sides[0].label}, pair by pair:\n`);
process.stdout.write(`- req/s: ${ratio((r) => r.rps)}\n`);
process.stdout.write(`- front CPU a request: ${ratio((r) => r.cpuUs.front)}\n`);
process.stdout.write(`- worker CPU a request: ${ratio((r) => r.cpuUs.worker)}\n`);
process.stdout.write(`- fronts' RSS after the load: ${ratio((r) => r.frontsMB.reduce((a, b) => a + b, 0))}\n`);
if (flags.out) writeFileSync(flags.out, `${JSON.stringify({ model, grpc: flags.grpc, workers, batch, fronts, c, duration, warmup, sides, runs }, null, 2)}\n`);
