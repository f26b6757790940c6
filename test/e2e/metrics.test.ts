// The Prometheus endpoint: GET /metrics on its own listener serves valid exposition text (checked by a
// strict parser below, prom-client has none), and its counters match exactly what was sent: requests
// by model and status, batches and queue waits for the items that reached a worker, workers by state,
// worker memory, queue depth, and restarts after a worker is killed.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import os from 'node:os';
import path from 'node:path';
import { writeModelDir } from '../helpers/onnx-models.js';
import { eventually, postJson, request, startTestServer, v2Request, type TestServer } from '../helpers/server.js';

// ---- A strict parser for the Prometheus text exposition format (version 0.0.4). ----

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

interface Family {
  name: string;
  type: 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';
  help?: string;
  samples: Sample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;
const FLOAT = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

/** A value as Go's strconv.ParseFloat reads it (the format's definition): NaN/Inf in any case. */
function parseFloatValue(s: string, where: string): number {
  if (/^\+?inf(inity)?$/i.test(s)) return Infinity;
  if (/^-inf(inity)?$/i.test(s)) return -Infinity;
  if (/^nan$/i.test(s)) return NaN; // prom-client writes "Nan" (e.g. an event-loop lag with no samples yet)
  if (!FLOAT.test(s)) throw new Error(`${where}: not a float: ${JSON.stringify(s)}`);
  return Number(s);
}

/** Parses `{a="x",b="y"}` starting at src[pos] === '{'; returns the labels and the index after '}'. */
function parseLabels(src: string, pos: number, where: string): [Record<string, string>, number] {
  const labels: Record<string, string> = {};
  let i = pos + 1;
  for (;;) {
    if (src[i] === '}') return [labels, i + 1];
    const name = LABEL_NAME.exec(src.slice(i))?.[0];
    if (!name) throw new Error(`${where}: bad label name at ${i}`);
    if (Object.hasOwn(labels, name)) throw new Error(`${where}: duplicate label ${name}`);
    i += name.length;
    if (src[i] !== '=' || src[i + 1] !== '"') throw new Error(`${where}: expected ="… after label ${name}`);
    i += 2;
    let value = '';
    for (;;) {
      const c = src[i];
      if (c === undefined || c === '\n') throw new Error(`${where}: unterminated label value`);
      if (c === '"') break;
      if (c === '\\') {
        const e = src[i + 1];
        if (e === '\\') value += '\\';
        else if (e === '"') value += '"';
        else if (e === 'n') value += '\n';
        else throw new Error(`${where}: bad escape \\${e} in label value`);
        i += 2;
      } else {
        value += c;
        i++;
      }
    }
    labels[name] = value;
    i++; // closing quote
    if (src[i] === ',') i++;
    else if (src[i] !== '}') throw new Error(`${where}: expected , or } after label ${name}`);
  }
}

function familyOf(f: Family, sampleName: string): boolean {
  if (f.type === 'histogram') return [`${f.name}_bucket`, `${f.name}_sum`, `${f.name}_count`].includes(sampleName);
  if (f.type === 'summary') return [f.name, `${f.name}_sum`, `${f.name}_count`].includes(sampleName);
  return sampleName === f.name;
}

const seriesKey = (name: string, labels: Record<string, string>) =>
  `${name}{${Object.keys(labels).sort().map((k) => `${k}=${JSON.stringify(labels[k])}`).join(',')}}`;

function parseExposition(text: string): Map<string, Family> {
  if (text !== '' && !text.endsWith('\n')) throw new Error('exposition must end with a newline');
  const families = new Map<string, Family>();
  const series = new Set<string>();
  const typed = new Set<string>();
  let current: Family | undefined;
  const open = (name: string, where: string): Family => {
    if (current?.name === name) return current;
    if (families.has(name)) throw new Error(`${where}: metric family ${name} appears in two places`);
    current = { name, type: 'untyped', samples: [] };
    families.set(name, current);
    return current;
  };
  const lines = text.split('\n');
  lines.pop();
  lines.forEach((line, n) => {
    const where = `line ${n + 1} (${JSON.stringify(line.slice(0, 200))})`;
    if (line === '') return;
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) ([^ ]+)(?: (.*))?$/.exec(line);
      if (!m) return; // any other comment
      const [, kind, name, rest = ''] = m;
      if (!METRIC_NAME.test(name) || METRIC_NAME.exec(name)![0] !== name) throw new Error(`${where}: bad metric name ${name}`);
      const f = open(name, where);
      if (kind === 'HELP') {
        if (f.help !== undefined) throw new Error(`${where}: second HELP for ${name}`);
        if (/\\[^\\n]/.test(rest.replace(/\\\\/g, ''))) throw new Error(`${where}: bad escape in HELP`);
        f.help = rest.replace(/\\(\\|n)/g, (_, e: string) => (e === 'n' ? '\n' : '\\'));
      } else {
        if (typed.has(name)) throw new Error(`${where}: second TYPE for ${name}`);
        if (f.samples.length) throw new Error(`${where}: TYPE after samples of ${name}`);
        if (!TYPES.has(rest)) throw new Error(`${where}: unknown type ${rest}`);
        f.type = rest as Family['type'];
        typed.add(name);
      }
      return;
    }
    const name = METRIC_NAME.exec(line)?.[0];
    if (!name) throw new Error(`${where}: bad sample line ${JSON.stringify(line)}`);
    let i = name.length;
    let labels: Record<string, string> = {};
    if (line[i] === '{') [labels, i] = parseLabels(line, i, where);
    if (line[i] !== ' ') throw new Error(`${where}: expected a space before the value`);
    const [valueText, timestamp, extra] = line.slice(i + 1).split(' ');
    if (extra !== undefined || (timestamp !== undefined && !/^-?\d+$/.test(timestamp))) throw new Error(`${where}: trailing garbage`);
    const value = parseFloatValue(valueText, where);
    const f = current && familyOf(current, name) ? current : open(name, where);
    const key = seriesKey(name, labels);
    if (series.has(key)) throw new Error(`${where}: duplicate series ${key}`);
    series.add(key);
    f.samples.push({ name, labels, value });
  });
  for (const f of families.values()) checkFamily(f);
  return families;
}

function checkFamily(f: Family): void {
  if (f.type === 'counter') {
    for (const s of f.samples) assert.ok(s.value >= 0, `${seriesKey(s.name, s.labels)} is a negative counter`);
  }
  if (f.type !== 'histogram') return;
  const groups = new Map<string, { buckets: Array<[number, number]>; sum?: number; count?: number }>();
  for (const s of f.samples) {
    const { le, ...rest } = s.labels;
    const key = seriesKey(f.name, rest);
    const g = groups.get(key) ?? { buckets: [] };
    groups.set(key, g);
    if (s.name.endsWith('_bucket')) {
      assert.ok(le !== undefined, `${key}: bucket without le`);
      g.buckets.push([parseFloatValue(le, key), s.value]);
    } else {
      assert.equal(le, undefined, `${key}: le on ${s.name}`);
      if (s.name.endsWith('_sum')) g.sum = s.value;
      else g.count = s.value;
    }
  }
  for (const [key, g] of groups) {
    assert.ok(g.buckets.length > 0, `${key}: no buckets`);
    for (let i = 1; i < g.buckets.length; i++) {
      assert.ok(g.buckets[i][0] > g.buckets[i - 1][0], `${key}: le bounds not increasing`);
      assert.ok(g.buckets[i][1] >= g.buckets[i - 1][1], `${key}: buckets not cumulative`);
    }
    const [lastLe, lastCount] = g.buckets[g.buckets.length - 1];
    assert.equal(lastLe, Infinity, `${key}: last bucket is not +Inf`);
    assert.equal(g.count, lastCount, `${key}: _count differs from the +Inf bucket`);
    assert.ok(g.sum !== undefined && !Number.isNaN(g.sum), `${key}: no _sum`);
  }
}

/** The one sample with exactly these labels, or undefined. */
function sample(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number | undefined {
  const key = seriesKey(name, labels);
  for (const f of families.values()) {
    for (const s of f.samples) if (s.name === name && seriesKey(s.name, s.labels) === key) return s.value;
  }
  return undefined;
}

function samples(families: Map<string, Family>, name: string): Sample[] {
  return [...families.values()].flatMap((f) => f.samples.filter((s) => s.name === name));
}

// ---- The tests. ----

/** A worker restart on a loaded 2-core host takes seconds; what matters is that it happens. */
const SLOW = 60_000;

describe('metrics', () => {
  let server: TestServer;
  const url = () => `${server.inferenceUrl}/predictions/scale`;
  const scrape = async () => {
    const r = await request(`${server.metricsUrl}/metrics`);
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    return parseExposition(r.body as string);
  };
  /** For polling while workers come and go. */
  const scrapeIfServed = async () => {
    const r = await request(`${server.metricsUrl}/metrics`);
    return r.status === 200 ? parseExposition(r.body as string) : undefined;
  };
  const workerInfo = async () =>
    (await request(`${server.managementUrl}/models/scale`)).body.workers as Array<{ id: string; pid: number; status: string }>;

  before(async () => {
    server = await startTestServer({ max_request_size: '10000' });
    writeModelDir(path.join(server.store, 'scale'), { name: 'scale' });
    const r = await request(`${server.managementUrl}/models?url=scale&model_name=scale&initial_workers=2&batch_size=4&max_batch_delay=50`, { method: 'POST' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
  });
  after(() => server.close());

  it('the parser rejects malformed exposition text', () => {
    const ok = '# HELP h_seconds x\n# TYPE h_seconds histogram\nh_seconds_bucket{le="1"} 1\nh_seconds_bucket{le="+Inf"} 2\nh_seconds_sum 1.5\nh_seconds_count 2\n';
    assert.equal(parseExposition(ok).get('h_seconds')?.samples.length, 4);
    for (const bad of [
      'a 1', // no final newline
      '1a 1\n',
      'a{b="c} 1\n',
      'a{b="c"} one\n',
      'a 1\nb 1\na 2\n',
      'a 1\na 2\n',
      '# TYPE a counter\n# TYPE a counter\na 1\n',
      '# TYPE a counter\na -1\n',
      ok.replace('h_seconds_count 2', 'h_seconds_count 3'),
      ok.replace('{le="1"} 1', '{le="1"} 3'),
      ok.replace('{le="+Inf"}', '{le="5"}'),
    ]) {
      assert.throws(() => parseExposition(bad), `accepted: ${JSON.stringify(bad)}`);
    }
  });

  it('serves valid Prometheus text on its own listener, and nothing else there', async () => {
    const families = await scrape();
    assert.equal(families.get('mms_requests_total')?.type, 'counter');
    assert.equal(families.get('mms_batch_size')?.type, 'histogram');
    assert.equal(families.get('mms_queue_wait_seconds')?.type, 'histogram');
    assert.equal(families.get('mms_workers')?.type, 'gauge');
    assert.ok(families.get('mms_frontend_process_resident_memory_bytes'), 'default process metrics, prefixed');
    for (const f of families.values()) assert.ok(f.help, `${f.name} has HELP`);
    const other = await request(`${server.metricsUrl}/other`);
    assert.equal(other.status, 404);
    assert.equal(other.body.type, 'ResourceNotFoundException');
    assert.equal((await request(`${server.inferenceUrl}/metrics`)).status, 404, 'not served on the inference listener');
  });

  it('counts exactly what was sent', async () => {
    const rows = (v: number) => v2Request('x', [1, 4], [v, v, v, v]);
    const sent: Array<[string, number, () => Promise<{ status: number }>]> = [];
    for (let i = 0; i < 7; i++) sent.push(['good', 200, () => postJson(url(), rows(i))]);
    sent.push(['wrong shape', 400, () => postJson(url(), v2Request('x', [1, 5], [1, 2, 3, 4, 5]))]);
    sent.push(['unknown input', 400, () => postJson(url(), v2Request('z', [1, 4], [1, 2, 3, 4]))]);
    // Refused by the frontend before the queue: counted as a request, never reaches a worker.
    sent.push(['too large', 413, () => request(url(), { method: 'POST', body: 'x'.repeat(10_001) })]);
    // No model: the request has no model label and is not counted in mms_requests_total.
    sent.push(['unknown model', 404, () => postJson(`${server.inferenceUrl}/predictions/nope`, rows(1))]);
    // One at a time: each reaches an idle model, so each is a batch of one.
    for (const [what, status, send] of sent) assert.equal((await send()).status, status, what);

    const m = await scrape();
    assert.deepEqual(
      samples(m, 'mms_requests_total').map((s) => [s.labels.model, s.labels.status, s.value]).sort(),
      [['scale', '200', 7], ['scale', '400', 2], ['scale', '413', 1]],
    );
    assert.equal(samples(m, 'mms_requests_total').filter((s) => s.labels.model === 'nope').length, 0);
    assert.equal(sample(m, 'mms_request_duration_seconds_count', { model: 'scale' }), 10);
    // 9 items reached a worker (7 good + 2 rejected by the handler), in 9 batches of one.
    assert.equal(sample(m, 'mms_batch_size_count', { model: 'scale' }), 9);
    assert.equal(sample(m, 'mms_batch_size_sum', { model: 'scale' }), 9);
    assert.equal(sample(m, 'mms_batch_size_bucket', { model: 'scale', le: '1' }), 9);
    assert.equal(sample(m, 'mms_queue_wait_seconds_count', { model: 'scale' }), 9);
    assert.equal(sample(m, 'mms_inference_duration_seconds_count', { model: 'scale' }), 9);
    assert.equal(sample(m, 'mms_queue_depth', { model: 'scale' }), 0);

    // Concurrent requests: batched any way, the batch sizes still add up to the items sent.
    const burst = await Promise.all(Array.from({ length: 12 }, (_, i) => postJson(url(), rows(100 + i))));
    burst.forEach((r, i) => {
      assert.equal(r.status, 200);
      assert.deepEqual(r.body.outputs[0].data, [200 + 2 * i, 200 + 2 * i, 200 + 2 * i, 200 + 2 * i]);
    });
    const m2 = await scrape();
    assert.equal(sample(m2, 'mms_requests_total', { model: 'scale', status: '200' }), 19);
    assert.equal(sample(m2, 'mms_batch_size_sum', { model: 'scale' }), 21);
    assert.equal(sample(m2, 'mms_queue_wait_seconds_count', { model: 'scale' }), 21);
    const batches = sample(m2, 'mms_batch_size_count', { model: 'scale' })! - 9;
    assert.ok(batches >= 3 && batches <= 12, `12 items in ${batches} batches of at most 4`);
    assert.equal(sample(m2, 'mms_inference_duration_seconds_count', { model: 'scale' }), 9 + batches);
    assert.equal(sample(m2, 'mms_request_duration_seconds_count', { model: 'scale' }), 22);
    // The CPU inside session.run: counted for every batch, and within what the batches' run times allow
    // (ORT's threads on this host's cores; the bracket holds only the native run).
    const sessionCpu = sample(m2, 'mms_session_cpu_seconds_total', { model: 'scale' })!;
    const runs = sample(m2, 'mms_inference_duration_seconds_sum', { model: 'scale' })!;
    assert.ok(sessionCpu > 0, 'session.run took some CPU');
    assert.ok(sessionCpu <= runs * os.availableParallelism() + 0.001, `${sessionCpu} s of session CPU in ${runs} s of batch runs`);
  });

  it('reports workers by state and the memory of each worker', async () => {
    const workers = await workerInfo();
    assert.equal(workers.length, 2);
    const m = await scrape();
    assert.deepEqual(
      samples(m, 'mms_workers').filter((s) => s.labels.model === 'scale' && s.value !== 0).map((s) => [s.labels.state, s.value]),
      [['READY', 2]],
    );
    const rss = samples(m, 'mms_worker_rss_bytes').filter((s) => s.labels.model === 'scale');
    assert.deepEqual(rss.map((s) => s.labels.worker).sort(), workers.map((w) => w.id).sort());
    for (const s of rss) assert.ok(s.value > 0, `worker ${s.labels.worker} rss ${s.value}`);
  });

  it('a killed worker shows in mms_worker_restarts_total', async () => {
    const before = await scrape();
    assert.equal(sample(before, 'mms_worker_restarts_total', { model: 'scale' }) ?? 0, 0);
    const [victim] = await workerInfo();
    process.kill(victim.pid, 'SIGKILL');
    const m = await eventually(async () => {
      const s = await scrapeIfServed();
      if (!s) return undefined;
      return sample(s, 'mms_worker_restarts_total', { model: 'scale' }) === 1 && s;
    }, SLOW);
    assert.equal(sample(m, 'mms_worker_restarts_total', { model: 'scale' }), 1);
    // The replacement comes up and is reported in its place.
    const after = await eventually(async () => {
      const s = await scrapeIfServed();
      if (!s) return undefined;
      return sample(s, 'mms_workers', { model: 'scale', state: 'READY' }) === 2 && s;
    }, SLOW);
    const ids = samples(after, 'mms_worker_rss_bytes').filter((s) => s.labels.model === 'scale').map((s) => s.labels.worker);
    assert.equal(ids.length, 2);
    assert.ok(!ids.includes(victim.id));
    const current = await workerInfo();
    assert.deepEqual(ids.sort(), current.map((w) => w.id).sort());
    for (const s of samples(after, 'mms_worker_rss_bytes').filter((x) => x.labels.model === 'scale')) assert.ok(s.value > 0);
    assert.equal(sample(after, 'mms_worker_restarts_total', { model: 'scale' }), 1);
    assert.equal((await postJson(url(), v2Request('x', [1, 4], [1, 1, 1, 1]))).status, 200);
  });

  it(
    'scrapes keep answering 200 while workers are added and removed',
    async () => {
      const failures: string[] = [];
      let done = false;
      const scraper = async () => {
        while (!done) {
          const r = await request(`${server.metricsUrl}/metrics`);
          if (r.status !== 200) failures.push(`${r.status} ${JSON.stringify(r.body)}`);
        }
      };
      const scrapers = [scraper(), scraper(), scraper()];
      try {
        for (let i = 0; i < 3; i++) {
          for (const n of [3, 2]) {
            const r = await request(`${server.managementUrl}/models/scale?min_worker=${n}&max_worker=${n}&synchronous=true`, { method: 'PUT' });
            assert.equal(r.status, 200, JSON.stringify(r.body));
          }
        }
      } finally {
        done = true;
        await Promise.all(scrapers);
      }
      assert.deepEqual(failures, []);
    },
  );
});
