// The SVG plot of a benchmark run: requests/s against concurrency (log scale), one panel per model
// that has data, each with its legend below the plotting area so no label covers a line; a many-core
// run adds a panel of requests/s against the number of inference fronts, with the loops' rate as a line.
// bare node:http (a floor of CPU per request, serving no model) is left out: its rate is not a model's.
import type { FrontsScaling, Results, Series } from './report.js';

const COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];
const TITLES: Record<Series['model'], string> = { noop: 'no-op model', cls: 'PaddleOCR cls, binary tensors', det: 'PaddleOCR det 640, binary tensors', ocr: 'OCR images (pipeline vs single handler)' };

// Geometry of one panel, in px.
const PANEL_W = 440;
const LEFT = 60; // room for the y labels
const PLOT_W = 340;
const TOP = 50;
const PLOT_H = 250;
const LEGEND_GAP = 38; // below the plot: x labels, then the legend
const LINE_H = 15;

const fmt = (n: number) => n.toLocaleString('en-US', { maximumFractionDigits: 0 });
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A round step (1, 2 or 5 × 10^k) giving about four intervals up to `max`. */
function niceStep(max: number): number {
  const raw = max / 4;
  const power = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? raw;
}

export function svg(r: Results): string {
  const panels = (['noop', 'cls'] as const)
    .map((model) => ({ model, series: r.series.filter((s) => s.model === model && !s.cpuFloor && s.points.length > 0) }))
    .filter((p) => p.series.length > 0); // a model the run did not measure gets no empty panel
  const fronts = r.frontsScaling && r.frontsScaling.series.length > 0 ? r.frontsScaling : undefined;
  const rows = Math.max(fronts ? 3 : 0, ...panels.map((p) => p.series.length));
  const W = Math.max(1, panels.length + (fronts ? 1 : 0)) * PANEL_W + 20;
  const H = TOP + PLOT_H + LEGEND_GAP + rows * LINE_H + 10;
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
  ];
  panels.forEach((p, i) => out.push(...panel(p.model, p.series, i * PANEL_W + LEFT)));
  if (fronts) out.push(...frontsPanel(fronts, panels.length * PANEL_W + LEFT));
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

function panel(model: Series['model'], series: Series[], x0: number): string[] {
  const out: string[] = [];
  const bottom = TOP + PLOT_H;
  const step = niceStep(Math.max(1, ...series.flatMap((s) => s.points.map((q) => q.rps))));
  const ticks = Math.ceil(Math.max(1, ...series.flatMap((s) => s.points.map((q) => q.rps))) / step);
  const top = ticks * step;
  const cs = [...new Set(series.flatMap((s) => s.points.map((q) => q.concurrency)))].sort((a, b) => a - b);
  const x = (c: number) => x0 + (cs.length < 2 ? PLOT_W / 2 : (Math.log(c / cs[0]) / Math.log(cs[cs.length - 1] / cs[0])) * PLOT_W);
  const y = (v: number) => bottom - (v / top) * PLOT_H;

  out.push(`<text x="${x0}" y="${TOP - 20}" font-size="14">${esc(TITLES[model])}: requests/s</text>`);
  for (let k = 0; k <= ticks; k++) {
    const v = k * step;
    out.push(`<line x1="${x0}" y1="${y(v)}" x2="${x0 + PLOT_W}" y2="${y(v)}" stroke="${k === 0 ? '#333' : '#e5e5e5'}"/>`);
    out.push(`<text x="${x0 - 6}" y="${y(v) + 4}" text-anchor="end">${fmt(v)}</text>`);
  }
  out.push(`<line x1="${x0}" y1="${TOP}" x2="${x0}" y2="${bottom}" stroke="#333"/>`);
  for (const c of cs) out.push(`<text x="${x(c)}" y="${bottom + 16}" text-anchor="middle">c=${c}</text>`);

  series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length];
    const pts = s.points.map((q) => `${x(q.concurrency).toFixed(1)},${y(q.rps).toFixed(1)}`);
    out.push(`<polyline points="${pts.join(' ')}" fill="none" stroke="${color}" stroke-width="2"/>`);
    for (const pt of pts) {
      const [cx, cy] = pt.split(',');
      out.push(`<circle cx="${cx}" cy="${cy}" r="3" fill="${color}"/>`);
    }
    // Legend: outside the plot, one row per series, a line swatch then the name.
    const ly = bottom + LEGEND_GAP + i * LINE_H;
    out.push(`<line x1="${x0}" y1="${ly - 4}" x2="${x0 + 18}" y2="${ly - 4}" stroke="${color}" stroke-width="2"/>`);
    out.push(`<text x="${x0 + 24}" y="${ly}">${esc(s.name)}</text>`);
  });
  return out;
}

/** Requests/s against inference fronts (log 2 scale), with the in-process loops' rate and 85% of it. */
function frontsPanel(f: FrontsScaling, x0: number): string[] {
  const out: string[] = [];
  const bottom = TOP + PLOT_H;
  const pts = f.series.map((s) => ({ fronts: s.fronts ?? 0, rps: s.points[0]?.rps ?? 0 })).sort((a, b) => a.fronts - b.fronts);
  const agg = f.loops.aggregate ?? 0;
  const max = Math.max(1, agg, ...pts.map((p) => p.rps));
  const step = niceStep(max);
  const ticks = Math.ceil(max / step);
  const top = ticks * step;
  const ns = pts.map((p) => p.fronts);
  const x = (n: number) => x0 + (ns.length < 2 ? PLOT_W / 2 : (Math.log(n / ns[0]) / Math.log(ns[ns.length - 1] / ns[0])) * PLOT_W);
  const y = (v: number) => bottom - (v / top) * PLOT_H;
  out.push(`<text x="${x0}" y="${TOP - 20}" font-size="14">${esc(`cls, ${f.workers} worker${f.workers > 1 ? 's' : ''}, c=${f.concurrency}: requests/s by fronts`)}</text>`);
  for (let k = 0; k <= ticks; k++) {
    const v = k * step;
    out.push(`<line x1="${x0}" y1="${y(v)}" x2="${x0 + PLOT_W}" y2="${y(v)}" stroke="${k === 0 ? '#333' : '#e5e5e5'}"/>`);
    out.push(`<text x="${x0 - 6}" y="${y(v) + 4}" text-anchor="end">${fmt(v)}</text>`);
  }
  out.push(`<line x1="${x0}" y1="${TOP}" x2="${x0}" y2="${bottom}" stroke="#333"/>`);
  for (const n of ns) out.push(`<text x="${x(n)}" y="${bottom + 16}" text-anchor="middle">${n} front${n > 1 ? 's' : ''}</text>`);
  const legend: Array<[string, string, string]> = [];
  if (agg > 0) {
    out.push(`<line x1="${x0}" y1="${y(agg)}" x2="${x0 + PLOT_W}" y2="${y(agg)}" stroke="${COLORS[2]}" stroke-width="2" stroke-dasharray="6 4"/>`);
    out.push(`<line x1="${x0}" y1="${y(0.85 * agg)}" x2="${x0 + PLOT_W}" y2="${y(0.85 * agg)}" stroke="${COLORS[3]}" stroke-width="1" stroke-dasharray="2 3"/>`);
    legend.push([COLORS[2], '6 4', `${f.loops.parallel} in-process loops side by side (items/s)`], [COLORS[3], '2 3', '85% of the loops (the goal)']);
  }
  const line = pts.map((p) => `${x(p.fronts).toFixed(1)},${y(p.rps).toFixed(1)}`);
  out.push(`<polyline points="${line.join(' ')}" fill="none" stroke="${COLORS[0]}" stroke-width="2"/>`);
  for (const pt of line) {
    const [cx, cy] = pt.split(',');
    out.push(`<circle cx="${cx}" cy="${cy}" r="3" fill="${COLORS[0]}"/>`);
  }
  legend.unshift([COLORS[0], '', `ours, batching ${f.batch > 1 ? `on (${f.batch})` : 'off'}`]);
  legend.forEach(([color, dash, name], i) => {
    const ly = bottom + LEGEND_GAP + i * LINE_H;
    out.push(`<line x1="${x0}" y1="${ly - 4}" x2="${x0 + 18}" y2="${ly - 4}" stroke="${color}" stroke-width="2"${dash ? ` stroke-dasharray="${dash}"` : ''}/>`);
    out.push(`<text x="${x0 + 24}" y="${ly}">${esc(name)}</text>`);
  });
  return out;
}
