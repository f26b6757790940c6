// Turns benchmark results into docs/performance.md (tables, ratios, goals) and an SVG plot of
// throughput against concurrency for every configuration.
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

/** Throughput (log-scaled concurrency on x) per configuration, one panel per model. */
export function svg(r: Results): string {
  const W = 900;
  const H = 360;
  const panels = (['noop', 'cls'] as const).map((model, i) => ({ model, x0: 60 + i * 430, series: r.series.filter((s) => s.model === model) }));
  const colors = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f'];
  const out = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="11">`, `<rect width="${W}" height="${H}" fill="white"/>`];
  for (const p of panels) {
    const max = Math.max(1, ...p.series.flatMap((s) => s.points.map((q) => q.rps)));
    const cs = [...new Set(p.series.flatMap((s) => s.points.map((q) => q.concurrency)))].sort((a, b) => a - b);
    const x = (c: number) => p.x0 + (cs.length < 2 ? 0 : (Math.log(c / cs[0]) / Math.log(cs[cs.length - 1] / cs[0])) * 340);
    const y = (v: number) => 300 - (v / max) * 250;
    out.push(`<text x="${p.x0}" y="30" font-size="14">${p.model === 'noop' ? 'no-op model' : 'PaddleOCR cls, binary tensors'}: requests/s</text>`);
    out.push(`<line x1="${p.x0}" y1="300" x2="${p.x0 + 340}" y2="300" stroke="#333"/><line x1="${p.x0}" y1="50" x2="${p.x0}" y2="300" stroke="#333"/>`);
    for (const c of cs) out.push(`<text x="${x(c)}" y="315" text-anchor="middle">c=${c}</text>`);
    out.push(`<text x="${p.x0 - 5}" y="${y(max)}" text-anchor="end">${fmt(max)}</text><text x="${p.x0 - 5}" y="300" text-anchor="end">0</text>`);
    p.series.forEach((s, i) => {
      const color = colors[i % colors.length];
      const pts = s.points.map((q) => `${x(q.concurrency)},${y(q.rps)}`).join(' ');
      out.push(`<polyline points="${pts}" fill="none" stroke="${color}" stroke-width="2"/>`);
      out.push(`<text x="${p.x0 + 12}" y="${62 + i * 13}" fill="${color}">${s.name}</text>`);
    });
  }
  out.push('</svg>');
  return out.join('\n');
}
