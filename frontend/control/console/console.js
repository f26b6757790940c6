// The live console (docs/api.md, "Console"): samples GET /console/api/summary every 2 s, keeps 5
// minutes of points per model and GPU in this tab (the server keeps no history for it), and shows
// models, versions, stages, workers and small charts. Scale and unregister are plain Management API
// calls. With token authorization on, a 401 asks for the management key, kept in sessionStorage.
'use strict';
(function () {
  const { chart, draw, bar, format } = window.ConsoleCharts;
  const INTERVAL_MS = 2000;
  const WINDOW_MS = 5 * 60 * 1000;
  const TOKEN = 'mms-console-management-key';
  const $ = (id) => document.getElementById(id);

  let previous; // the last summary, to turn cumulative counters into rates
  let timer;
  let waitingForKey = false;
  const history = new Map(); // model name -> { rate, latency, p95, wait: [[t, v]] }
  const gpuHistory = new Map(); // gpu id -> [[t, bytes]]
  const cards = new Map(); // model name -> card

  function h(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(props || {})) {
      if (k === 'class') node.className = v;
      else if (k === 'role' || k.startsWith('data-') || k.startsWith('aria-')) node.setAttribute(k, v);
      else node[k] = v;
    }
    node.append(...children.filter((c) => c !== undefined && c !== null));
    return node;
  }

  function setStatus(text, bad) {
    $('status').textContent = text;
    $('status').className = bad ? 'status bad' : 'status';
  }

  // ---- the server ---------------------------------------------------------------------------------

  class NeedsKey extends Error {}

  async function call(method, path) {
    const headers = {};
    const key = sessionStorage.getItem(TOKEN);
    if (key) headers.Authorization = `Bearer ${key}`;
    const res = await fetch(path, { method, headers, cache: 'no-store' });
    let body = {};
    try {
      body = await res.json();
    } catch {
      // not JSON: the status says enough
    }
    if (res.status === 401) throw new NeedsKey(body.message || 'Management key needed.');
    if (!res.ok) throw new Error(`${res.status}: ${body.message || res.statusText}`);
    return body;
  }

  async function tick() {
    clearTimeout(timer);
    try {
      const summary = await call('GET', '/console/api/summary');
      render(summary);
      setStatus(`live · ${new Date(summary.time).toLocaleTimeString()}`);
    } catch (e) {
      if (e instanceof NeedsKey) {
        askForKey(e.message);
        return; // no more polling until a key is given
      }
      setStatus(`cannot read the server: ${e.message}`, true);
    }
    timer = setTimeout(tick, INTERVAL_MS);
  }

  function askForKey(message) {
    waitingForKey = true;
    sessionStorage.removeItem(TOKEN);
    $('token-form').hidden = false;
    setStatus(message, true);
    $('token').focus();
  }

  $('token-form').addEventListener('submit', (event) => {
    event.preventDefault();
    sessionStorage.setItem(TOKEN, $('token').value.trim());
    $('token').value = '';
    $('token-form').hidden = true;
    waitingForKey = false;
    void tick();
  });

  async function act(card, what, method, path) {
    card.message.textContent = `${what}…`;
    card.message.className = 'message';
    try {
      const body = await call(method, path);
      card.message.textContent = `${what}: ${body.status || 'done'}`;
    } catch (e) {
      if (e instanceof NeedsKey) askForKey(e.message);
      card.message.textContent = `${what} failed: ${e.message}`;
      card.message.className = 'message bad';
    }
    if (!waitingForKey) void tick(); // show the result now, not at the next sample
  }

  // ---- samples -> series --------------------------------------------------------------------------

  const push = (series, t, v) => {
    series.push([t, v]);
    while (series.length && series[0][0] < t - WINDOW_MS) series.shift();
  };

  /** The histogram's q-quantile over an interval, from two cumulative samples (upper bucket bound). */
  function quantile(now, before, q) {
    const count = now.count - (before ? before.count : 0);
    if (count <= 0) return null;
    for (const [le, n] of now.buckets) {
      const old = before ? (before.buckets.find((b) => b[0] === le) || [le, 0])[1] : 0;
      if (n - old >= q * count) return le * 1000;
    }
    return null; // beyond the largest bucket
  }

  const NONE = { rate: null, latency: null, p95: null, wait: null };

  /** One traffic key's figures over the last interval, from two cumulative samples; null: none. */
  function interval(summary, key) {
    const dt = previous ? (summary.time - previous.time) / 1000 : 0;
    if (dt <= 0) return NONE;
    const now = summary.traffic[key];
    if (!now) return { ...NONE, rate: 0 };
    const before = previous.traffic[key];
    const d = (f) => f(now) - (before ? f(before) : 0);
    // A front started afresh counts from zero again: that interval is a gap, not a negative rate.
    if (d((x) => x.requests) < 0 || d((x) => x.latency.count) < 0 || d((x) => x.queueWait.count) < 0) return NONE;
    const mean = (h) => (d((x) => x[h].count) > 0 ? (d((x) => x[h].sum) / d((x) => x[h].count)) * 1000 : null);
    return { rate: d((x) => x.requests) / dt, latency: mean('latency'), p95: quantile(now.latency, before && before.latency, 0.95), wait: mean('queueWait') };
  }

  function sample(summary) {
    const t = summary.time;
    const names = new Set(summary.models.map((m) => m.modelName));
    for (const name of names) {
      if (!history.has(name)) history.set(name, { rate: [], latency: [], p95: [], wait: [], stages: new Map() });
      const s = history.get(name);
      const f = interval(summary, name);
      push(s.rate, t, f.rate);
      push(s.latency, t, f.latency);
      push(s.p95, t, f.p95);
      push(s.wait, t, f.wait);
      // A pipeline's stages queue on workers of their own: their figures come keyed `<name>#<stage>`.
      for (const key of Object.keys(summary.traffic)) {
        if (!key.startsWith(`${name}#`)) continue;
        const stage = key.slice(name.length + 1);
        if (!s.stages.has(stage)) s.stages.set(stage, []);
        push(s.stages.get(stage), t, interval(summary, key).wait);
      }
    }
    for (const name of [...history.keys()]) if (!names.has(name)) history.delete(name);
    for (const g of summary.gpus) {
      if (!gpuHistory.has(g.id)) gpuHistory.set(g.id, []);
      push(gpuHistory.get(g.id), t, g.memoryUsedBytes);
    }
    previous = summary;
  }

  // ---- rendering ----------------------------------------------------------------------------------

  function render(summary) {
    sample(summary);
    renderGpus(summary);
    const byName = new Map();
    for (const m of summary.models) {
      if (!byName.has(m.modelName)) byName.set(m.modelName, []);
      byName.get(m.modelName).push(m);
    }
    for (const [name, card] of cards) {
      if (!byName.has(name)) {
        card.root.remove();
        cards.delete(name);
      }
    }
    for (const [name, versions] of byName) {
      if (!cards.has(name)) {
        const card = newCard(name);
        cards.set(name, card);
        $('models').append(card.root);
      }
      updateCard(cards.get(name), versions, summary.traffic[name], summary.time);
    }
    $('no-models').hidden = byName.size > 0;
  }

  function renderGpus(summary) {
    $('gpus').hidden = summary.gpus.length === 0;
    $('gpu-list').replaceChildren(...summary.gpus.map((g) => {
      const c = chart('memory used', 'gpu-memory');
      draw(c, [{ points: gpuHistory.get(g.id) || [], cls: 'l0' }], WINDOW_MS, summary.time, format.bytes, g.memoryTotalBytes);
      const util = g.utilization === undefined ? '' : ` · ${Math.round(g.utilization * 100)}% busy`;
      return h('div', { class: 'gpu', 'data-gpu': String(g.id) },
        h('div', { class: 'gpu-title' }, `GPU ${g.id}: ${g.name}`),
        h('div', { class: 'muted' }, `${format.bytes(g.memoryUsedBytes)} of ${format.bytes(g.memoryTotalBytes)}${util}`),
        bar(g.memoryUsedBytes, g.memoryTotalBytes), c.root);
    }));
  }

  function newCard(name) {
    const charts = { rate: chart('requests', 'rate'), latency: chart('latency (mean, p95)', 'latency'), wait: chart('queue wait (mean)', 'wait') };
    const card = {
      title: h('h3', {}, name),
      info: h('div', { class: 'muted' }),
      versions: h('div', { class: 'versions' }),
      message: h('div', { class: 'message', role: 'status' }),
      sections: new Map(), // version key -> section
      charts,
    };
    card.root = h('article', { class: 'model', 'data-model': name }, card.title, card.info,
      h('div', { class: 'charts' }, charts.rate.root, charts.latency.root, charts.wait.root), card.versions, card.message);
    return card;
  }

  function updateCard(card, versions, traffic, now) {
    const s = history.get(versions[0].modelName);
    draw(card.charts.rate, [{ points: s.rate, cls: 'l0' }], WINDOW_MS, now, format.rate);
    draw(card.charts.latency, [{ points: s.latency, cls: 'l0' }, { points: s.p95, cls: 'l1' }], WINDOW_MS, now, format.ms);
    const stages = [...s.stages].map(([stage, points], i) => ({ points, cls: `l${3 + (i % 3)}`, stage }));
    const own = s.wait.some((p) => p[1] !== null) || stages.length === 0;
    card.charts.wait.name.textContent = own ? 'queue wait (mean)' : `queue wait (mean) of ${stages.map((l) => l.stage).join(', ')}`;
    draw(card.charts.wait, [...(own ? [{ points: s.wait, cls: 'l2' }] : []), ...stages], WINDOW_MS, now, format.ms);
    card.info.textContent = traffic
      ? `${traffic.requests} requests answered (${traffic.errors} errors) · ${traffic.queueDepth} in flight`
      : 'no requests yet';
    const keys = new Set();
    for (const m of versions) {
      const key = m.modelVersion === undefined ? '' : String(m.modelVersion);
      keys.add(key);
      if (!card.sections.has(key)) {
        const section = newSection(card, m);
        card.sections.set(key, section);
        card.versions.append(section.root);
      }
      updateSection(card.sections.get(key), m);
    }
    for (const [key, section] of card.sections) {
      if (!keys.has(key)) {
        section.root.remove();
        card.sections.delete(key);
      }
    }
  }

  /** One version: its state, stages, workers, and the scale and unregister actions. */
  function newSection(card, m) {
    const name = m.modelName;
    const path = `/models/${encodeURIComponent(name)}${m.modelVersion === undefined ? '' : `/${encodeURIComponent(m.modelVersion)}`}`;
    const label = m.modelVersion === undefined ? name : `${name} ${m.modelVersion}`;
    const first = Array.isArray(m.stages) && m.stages.length ? m.stages[0] : {}; // a pipeline scales its stages
    const count = m.minWorkers ?? first.minWorkers ?? 1;
    const input = h('input', { type: 'number', min: '0', name: 'workers', value: String(count), 'aria-label': `Workers for ${label}` });
    const scale = h('button', { type: 'button', class: 'scale' }, 'Scale');
    scale.addEventListener('click', () => {
      const n = Number(input.value);
      if (!Number.isInteger(n) || n < 0) return;
      void act(card, `scale ${label} to ${n}`, 'PUT', `${path}?min_worker=${n}&max_worker=${n}&synchronous=true`);
    });
    const unregister = h('button', { type: 'button', class: 'danger' }, 'Unregister');
    unregister.addEventListener('click', () => {
      if (!window.confirm(`Unregister ${label} and stop its workers?`)) return;
      void act(card, `unregister ${label}`, 'DELETE', path);
    });
    const section = {
      head: h('div', { class: 'version-head' }),
      stages: h('div', { class: 'stages' }),
      workers: h('tbody'),
    };
    const table = h('table', { class: 'workers' },
      h('thead', {}, h('tr', {}, ...['worker', 'state', 'pid', 'memory', 'GPU', 'restarts', 'last exit'].map((c) => h('th', {}, c)))),
      section.workers);
    section.root = h('section', { class: 'version', 'data-version': m.modelVersion === undefined ? '' : String(m.modelVersion) },
      section.head, section.stages, table,
      h('div', { class: 'actions' }, h('label', {}, 'workers ', input), scale, unregister));
    return section;
  }

  function updateSection(section, m) {
    const version = m.modelVersion !== undefined ? `version ${m.modelVersion}${m.isDefault ? ' (default)' : ''} · ` : '';
    section.head.replaceChildren(
      h('span', { class: `badge ${String(m.status).toLowerCase()}` }, String(m.status)),
      ` ${version}` + (m.minWorkers === undefined ? `${m.runtime ?? ''}` : `workers: min ${m.minWorkers}, max ${m.maxWorkers}, target ${m.targetWorkers ?? m.minWorkers}`) +
        (m.lastExit ? ` · last exit ${exitText(m.lastExit)}` : ''),
    );
    const stages = Array.isArray(m.stages) ? m.stages : [];
    section.stages.hidden = stages.length === 0;
    section.stages.replaceChildren(...(stages.length ? [h('span', { class: 'muted' }, 'stages: ')] : []),
      ...stages.map((s, i) => h('span', { class: 'stage' }, `${i ? ' → ' : ''}${stageText(s)}`)));
    // A pipeline's workers belong to its stages: listed by stage.
    const workers = Array.isArray(m.workers)
      ? m.workers
      : stages.flatMap((st) => (Array.isArray(st.workers) ? st.workers.map((w) => Object.assign({ stage: st.name }, w)) : []));
    section.workers.replaceChildren(...workers.map((w) => {
      const exit = h('td', {}, w.lastExit ? exitText(w.lastExit) : '–');
      if (w.lastExit && w.lastExit.stderr && w.lastExit.stderr.length) exit.title = w.lastExit.stderr.join('\n');
      return h('tr', { 'data-worker': w.id },
        h('td', {}, w.stage === undefined ? w.id : `${w.stage}: ${w.id}`), h('td', { class: `state ${String(w.status).toLowerCase()}` }, w.status), h('td', {}, String(w.pid ?? '–')),
        h('td', {}, format.bytes(w.memoryUsage)),
        h('td', {}, w.gpuId === undefined ? '–' : `${w.gpuId}: ${format.bytes(w.gpuMemoryUsage)}`),
        h('td', {}, String(w.restarts ?? 0)), exit);
    }));
  }

  /** A stage as the pipeline's describe gives it: a name, or an object with a name and its state. */
  function stageText(s) {
    if (typeof s !== 'object' || s === null) return String(s);
    const name = s.name ?? s.stage ?? s.modelName ?? '?';
    const workers = Array.isArray(s.workers) ? `${s.workers.length} worker${s.workers.length === 1 ? '' : 's'}` : s.workers;
    const details = [s.status, workers].filter((x) => x !== undefined && x !== '');
    return details.length ? `${name} (${details.join(', ')})` : String(name);
  }

  function exitText(e) {
    const how = e.signal ? e.signal : `code ${e.code}`;
    const oom = e.oomKilled === true ? ', out of memory' : '';
    const killed = e.killedBy ? `, killed: ${e.killedBy}` : '';
    return `${how}${oom}${killed} at ${new Date(e.at).toLocaleTimeString()}`;
  }

  void tick();
})();
