// Turns benchmark results into docs/performance.md (tables, ratios, goals); the SVG plot is chart.ts.
import type { Machine } from './machine.js';

export interface Point {
  concurrency: number;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
  /** Cores the frontend process kept busy during the point (ours only). */
  frontendCores?: number;
}

export interface Series {
  name: string;
  model: 'noop' | 'cls';
  points: Point[];
  workerRssMB?: number;
}

export interface Goal {
  goal: string;
  measured: string;
  met: boolean;
}

export interface Results {
  machine: Machine;
  durationS: number;
  inProcessLoop: { itemsPerSecond: number; parallel?: number; aggregate?: number };
  series: Series[];
  frontendRssMB: number;
  goals: Goal[];
}

const fmt = (n: number, d = 0) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

export function markdown(r: Results, title: string): string {
  const m = r.machine;
  const lines = [
    `## ${title}`,
    '',
    `Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, Node ${m.node}, ${m.platform}; ${m.date}.`,
    `Each point: autocannon in its own process for ${r.durationS} s. In-process ORT loop (1 thread): ${fmt(r.inProcessLoop.itemsPerSecond)} items/s` +
      (r.inProcessLoop.aggregate ? `; ${r.inProcessLoop.parallel} loops side by side: ${fmt(r.inProcessLoop.aggregate)} items/s.` : '.'),
    '',
    '| configuration | c | req/s | p50 ms | p99 ms | errors | non-2xx | frontend cores |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const s of r.series) {
    for (const p of s.points) {
      const cores = p.frontendCores === undefined ? '' : fmt(p.frontendCores, 2);
      lines.push(`| ${s.name} | ${p.concurrency} | ${fmt(p.rps)} | ${fmt(p.p50, 2)} | ${fmt(p.p99, 2)} | ${p.errors} | ${p.non2xx} | ${cores} |`);
    }
  }
  lines.push('', '| goal | measured | met |', '|---|---|---|');
  for (const g of r.goals) lines.push(`| ${g.goal} | ${g.measured} | ${g.met ? 'yes' : '**no**'} |`);
  lines.push('', `Frontend RSS after the runs: ${fmt(r.frontendRssMB)} MB.`);
  const rss = r.series.filter((s) => s.workerRssMB).map((s) => `${s.name}: ${fmt(s.workerRssMB!)} MB`);
  if (rss.length) lines.push(`Worker RSS after load: ${rss.join('; ')}.`);
  return `${lines.join('\n')}\n`;
}
