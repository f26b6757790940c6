// The benchmark's SVG plot: no legend inside a plotting area, no panel for a model without data.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { svg } from '../../bench/lib/chart.js';
import type { Results } from '../../bench/lib/report.js';

const results = (file: string) => JSON.parse(readFileSync(new URL(`../../../docs/${file}`, import.meta.url), 'utf8')) as Results;

/** The plotting areas, as the axis lines drawn for them: [x0, x1, yTop, yBottom]. */
function plotAreas(doc: string): Array<[number, number, number, number]> {
  const vertical = [...doc.matchAll(/<line x1="([\d.]+)" y1="([\d.]+)" x2="\1" y2="([\d.]+)" stroke="#333"\/>/g)];
  const horizontal = [...doc.matchAll(/<line x1="([\d.]+)" y1="([\d.]+)" x2="([\d.]+)" y2="\2" stroke="#333"\/>/g)];
  return vertical.map((v) => {
    const h = horizontal.find((l) => l[1] === v[1])!;
    return [Number(v[1]), Number(h[3]), Math.min(Number(v[2]), Number(v[3])), Math.max(Number(v[2]), Number(v[3]))];
  });
}

describe('benchmark chart', () => {
  for (const file of ['performance.json', 'performance-device.json']) {
    it(`${file}: every series name is drawn outside the plotting areas`, () => {
      const r = results(file);
      const doc = svg(r);
      const areas = plotAreas(doc);
      assert.ok(areas.length > 0);
      for (const s of r.series.filter((x) => !x.cpuFloor)) {
        const label = new RegExp(`<text x="([\\d.]+)" y="([\\d.]+)"[^>]*>${s.name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}</text>`).exec(doc);
        assert.ok(label, `legend entry for ${s.name}`);
        const [x, y] = [Number(label[1]), Number(label[2])];
        const inside = areas.some(([x0, x1, top, bottom]) => x >= x0 && x <= x1 && y >= top && y <= bottom);
        assert.ok(!inside, `legend "${s.name}" at ${x},${y} lies inside a plotting area`);
      }
    });
  }

  it('draws no panel for a model without series', () => {
    const doc = svg({ ...results('performance-device.json'), frontsScaling: undefined }); // cls only, no fronts series
    assert.doesNotMatch(doc, /no-op model/);
    assert.equal(plotAreas(doc).length, 1);
    assert.match(svg(results('performance.json')), /no-op model/);
  });

  it('leaves a CPU floor series (bare node:http) off the plot', () => {
    const base = results('performance.json');
    const floor = { name: 'bare node:http floor', model: 'cls' as const, cpuFloor: true, points: [{ concurrency: 64, rps: 1e6, p50: 1, p99: 2, errors: 0, non2xx: 0 }] };
    const doc = svg({ ...base, series: [...base.series, floor] });
    assert.doesNotMatch(doc, /bare node:http floor/);
    assert.doesNotMatch(doc, />1,000,000</); // its rate does not set the scale
    assert.equal(doc, svg(base));
  });

  it('draws the fronts series as its own panel, its legend outside the plotting areas', () => {
    const base = results('performance-device.json');
    const point = (rps: number) => ({ concurrency: 256, rps, p50: 10, p99: 20, errors: 0, non2xx: 0 });
    const series = [1, 2, 4, 8].map((fronts, i) => ({ name: `ours cls, ${fronts} fronts`, model: 'cls' as const, fronts, points: [point(2000 + i * 1500)] }));
    const doc = svg({ ...base, frontsScaling: { concurrency: 256, workers: 15, batch: 1, series, loops: { itemsPerSecond: 650, parallel: 15, aggregate: 8300 } } });
    const areas = plotAreas(doc);
    assert.equal(areas.length, 2);
    assert.match(doc, /requests\/s by fronts/);
    for (const name of ['ours, batching off', '15 in-process loops side by side (items/s)', '85% of the loops (the goal)']) {
      const label = new RegExp(`<text x="([\\d.]+)" y="([\\d.]+)">${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}</text>`).exec(doc);
      assert.ok(label, `legend entry ${name}`);
      const [x, y] = [Number(label[1]), Number(label[2])];
      assert.ok(!areas.some(([x0, x1, top, bottom]) => x >= x0 && x <= x1 && y >= top && y <= bottom), `legend "${name}" inside a plot`);
    }
  });
});
