// The ramp's plot: clients, loaded workers and the autoscaler's target against time (one count axis),
// with requests/s on a second axis at the right, legend below the plot.
import type { RampResult } from './ramp.js';

const W = 720;
const LEFT = 50;
const PLOT_W = 600;
const TOP = 40;
const PLOT_H = 260;
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function rampSvg(r: RampResult): string {
  const s = r.samples;
  const bottom = TOP + PLOT_H;
  const tMax = Math.max(1, ...s.map((p) => p.t));
  const countMax = Math.max(1, ...s.map((p) => Math.max(p.clients, p.workers, p.target)));
  const rpsMax = Math.max(1, ...s.map((p) => p.rps));
  const x = (t: number) => LEFT + (t / tMax) * PLOT_W;
  const yc = (v: number) => bottom - (v / countMax) * PLOT_H;
  const yr = (v: number) => bottom - (v / rpsMax) * PLOT_H;
  const H = bottom + 40 + 4 * 15;
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${LEFT}" y="${TOP - 18}" font-size="14">${esc(`Ramp: workers follow the load (min 1, max ${r.maxWorkers}; ${r.stepS} s steps)`)}</text>`,
    `<line x1="${LEFT}" y1="${bottom}" x2="${LEFT + PLOT_W}" y2="${bottom}" stroke="#333"/>`,
    `<line x1="${LEFT}" y1="${TOP}" x2="${LEFT}" y2="${bottom}" stroke="#333"/>`,
  ];
  for (let k = 0; k <= 4; k++) {
    const v = (countMax * k) / 4;
    out.push(`<line x1="${LEFT}" y1="${yc(v)}" x2="${LEFT + PLOT_W}" y2="${yc(v)}" stroke="#eee"/>`);
    out.push(`<text x="${LEFT - 6}" y="${yc(v) + 4}" text-anchor="end">${Math.round(v * 10) / 10}</text>`);
    out.push(`<text x="${LEFT + PLOT_W + 6}" y="${yr((rpsMax * k) / 4) + 4}" fill="#999">${Math.round((rpsMax * k) / 4)}</text>`);
  }
  for (let k = 0; k <= 5; k++) out.push(`<text x="${x((tMax * k) / 5)}" y="${bottom + 16}" text-anchor="middle">${Math.round((tMax * k) / 5)} s</text>`);
  const series: Array<[string, string, string, (p: RampResult['samples'][number]) => number]> = [
    ['clients (concurrent requests)', '#1f77b4', '', (p) => yc(p.clients)],
    ['READY workers', '#d62728', '', (p) => yc(p.workers)],
    ['autoscaler target', '#2ca02c', '5 3', (p) => yc(p.target)],
    ['requests/s (right axis)', '#bbbbbb', '', (p) => yr(p.rps)],
  ];
  series.forEach(([name, color, dash, y], i) => {
    const pts = s.map((p) => `${x(p.t).toFixed(1)},${y(p).toFixed(1)}`).join(' ');
    out.push(`<polyline points="${pts}" fill="none" stroke="${color}" stroke-width="2"${dash ? ` stroke-dasharray="${dash}"` : ''}/>`);
    const ly = bottom + 38 + i * 15;
    out.push(`<line x1="${LEFT}" y1="${ly - 4}" x2="${LEFT + 18}" y2="${ly - 4}" stroke="${color}" stroke-width="2"${dash ? ` stroke-dasharray="${dash}"` : ''}/>`);
    out.push(`<text x="${LEFT + 24}" y="${ly}">${esc(name)}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
