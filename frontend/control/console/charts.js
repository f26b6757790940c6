// The console's small charts and number formats, drawn by hand as inline SVG (no library, nothing
// loaded from elsewhere). A series is an array of [epoch ms, value or null]; null leaves a gap.
'use strict';
(function () {
  const SVG = 'http://www.w3.org/2000/svg';
  const W = 240;
  const H = 56;
  const PAD = 2;
  const MIN_WINDOW_MS = 60 * 1000;

  function el(name, attrs) {
    const node = document.createElementNS(SVG, name);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
    return node;
  }

  /** A chart element: a title, the latest value, and the SVG plot; update it with draw(). */
  function chart(title, className) {
    const root = document.createElement('figure');
    root.className = `chart ${className || ''}`;
    const caption = document.createElement('figcaption');
    const name = document.createElement('span');
    name.textContent = title;
    const value = document.createElement('span');
    value.className = 'value';
    caption.append(name, value);
    const svg = el('svg', { viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: 'img', 'aria-label': title });
    root.append(caption, svg);
    return { root, svg, name, value };
  }

  /**
   * Draws `lines` ([{ points, cls }]) over the window [now - windowMs, now], y from 0 to the largest
   * value (or `max`); `label` formats the first line's latest value and the scale.
   */
  function draw(c, lines, windowMs, now, label, max) {
    const all = lines.flatMap((l) => l.points.map((p) => p[1]).filter((v) => v !== null && Number.isFinite(v)));
    const peak = Math.max(...all, 0);
    const top = max || peak * 1.15 || 1;
    // The window grows from a minute to windowMs as the page collects points, so a new page's lines
    // are not squeezed against the right edge.
    const earliest = Math.min(now - MIN_WINDOW_MS, ...lines.flatMap((l) => l.points.map((p) => p[0])));
    const start = Math.max(now - windowMs, earliest);
    const x = (t) => PAD + ((t - start) / (now - start)) * (W - 2 * PAD);
    const y = (v) => H - PAD - (Math.min(v, top) / top) * (H - 2 * PAD);
    c.svg.replaceChildren(el('line', { x1: 0, y1: H - PAD, x2: W, y2: H - PAD, class: 'axis' }));
    for (const line of lines) {
      // One polyline per run of points without a gap.
      let run = [];
      const flush = () => {
        if (run.length === 1) c.svg.append(el('circle', { cx: run[0][0], cy: run[0][1], r: 1.5, class: `dot ${line.cls}` }));
        if (run.length > 1) c.svg.append(el('polyline', { points: run.map((p) => p.join(',')).join(' '), class: `line ${line.cls}` }));
        run = [];
      };
      for (const [t, v] of line.points) {
        if (t < start) continue;
        if (v === null || !Number.isFinite(v)) flush();
        else run.push([x(t).toFixed(1), y(v).toFixed(1)]);
      }
      flush();
    }
    const scale = el('text', { x: W - PAD, y: 10, class: 'scale', 'text-anchor': 'end' });
    scale.textContent = max || peak === 0 ? '' : `max ${label(peak)}`;
    c.svg.append(scale);
    const latest = lines[0].points.length ? lines[0].points[lines[0].points.length - 1][1] : null;
    c.value.textContent = latest === null || latest === undefined ? '–' : label(latest);
  }

  /** A horizontal bar: used of total. */
  function bar(used, total) {
    const svg = el('svg', { viewBox: `0 0 ${W} 10`, width: W, height: 10, class: 'bar' });
    svg.append(el('rect', { x: 0, y: 0, width: W, height: 10, class: 'bar-total' }));
    svg.append(el('rect', { x: 0, y: 0, width: total > 0 ? Math.min(1, used / total) * W : 0, height: 10, class: 'bar-used' }));
    return svg;
  }

  function bytes(n) {
    if (n === undefined || n === null) return '–';
    const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    let i = 0;
    while (n >= 1024 && i < units.length - 1) {
      n /= 1024;
      i += 1;
    }
    return `${n >= 100 || i === 0 ? n.toFixed(0) : n.toFixed(1)} ${units[i]}`;
  }

  const ms = (v) => (v >= 1000 ? `${(v / 1000).toFixed(2)} s` : v >= 10 ? `${v.toFixed(0)} ms` : `${v.toFixed(2)} ms`);
  const rate = (v) => `${v >= 10 ? v.toFixed(0) : v.toFixed(1)} req/s`;

  window.ConsoleCharts = { chart, draw, bar, format: { bytes, ms, rate } };
})();
