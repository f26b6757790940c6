// A broad sweep of hostile requests against one real server: every route of both APIs, every
// management parameter, garbage bodies, tensors, headers, paths, methods and bytes that are not HTTP.
// No answer may be a 5xx, every 4xx carries the JSON error body (docs/api.md, "Common behaviour"),
// a second model serves throughout, and no worker process dies.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { CATALOGUE } from '../../frontend/errors.js';
import { REGISTER_PARAMS as REGISTER_SPECS, SCALE_PARAMS as SCALE_SPECS } from '../../frontend/control/registry/model-params.js';
import { writeModelDir } from '../helpers/onnx-models.js';
import { childPids, startTestServer, type TestServer } from '../helpers/server.js';
import { JSON_VALUES, ODD_PATHS, QUERY_VALUES, embeddingsCases, inferenceCases, type HostileCase } from '../helpers/hostile-inputs.js';
import { isOpenAiPath } from '../../frontend/openai/openai-errors.js';
import { FIXTURES } from '../helpers/fixtures.js';
import { rawExchange, send, type RawResponse } from '../helpers/raw-exchange.js';

// Every parameter the routes read, from the one list of them.
const REGISTER_PARAMS = REGISTER_SPECS.map((s) => s.name);
const SCALE_PARAMS = SCALE_SPECS.map((s) => s.name);
const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'HEAD'];
const GOOD_INPUT = JSON.stringify({ inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }] });

describe('hostile-input sweep', () => {
  let server: TestServer;
  let pidsBefore: Record<string, number[]>;
  let childrenBefore: number[];
  let sent = 0;

  const pidsOf = async (name: string) => JSON.parse((await send(server.managementUrl, { path: `/models/${name}` })).body).workers.map((w: { pid: number }) => w.pid);
  const otherServes = async () => {
    const r = await send(server.inferenceUrl, { method: 'POST', path: '/predictions/other', headers: { 'content-type': 'application/json' }, body: GOOD_INPUT });
    assert.equal(r.status, 200, `the second model stopped serving: ${r.body}`);
  };

  /** Why a response breaks the rules, or undefined. `openAi`: a /v1 path of the inference listener (OpenAI's error shape). */
  const violation = (label: string, method: string, r: RawResponse, openAi = false): string | undefined => {
    if (r.status === 0) return `${label}: no HTTP answer (${JSON.stringify(r.body.slice(0, 80))})`;
    if (r.status >= 500) return `${label}: ${r.status} ${r.body.slice(0, 200)}`;
    if (r.status < 400 || method === 'HEAD') return undefined;
    try {
      const e = JSON.parse(r.body);
      if (openAi) {
        const o = e.error ?? {};
        const ok = typeof o.message === 'string' && o.type === 'invalid_request_error' && (o.param === null || typeof o.param === 'string') && Object.hasOwn(CATALOGUE, String(o.code).toUpperCase());
        return ok && Object.keys(e).length === 1 ? undefined : `${label}: ${r.status} body ${r.body.slice(0, 200)}`;
      }
      if (e.code !== r.status || typeof e.type !== 'string' || typeof e.message !== 'string' || !Object.hasOwn(CATALOGUE, e.errorCode)) return `${label}: ${r.status} body ${r.body.slice(0, 200)}`;
    } catch {
      return `${label}: ${r.status} without a JSON body: ${JSON.stringify(r.body.slice(0, 120))}`;
    }
    return undefined;
  };

  /** Sends every case (a few at a time), then checks the second model still serves. */
  const sweep = async (base: string, cases: HostileCase[], onAnswer?: (c: HostileCase, r: RawResponse) => Promise<void>) => {
    const problems: string[] = [];
    let next = 0;
    const lane = async () => {
      while (next < cases.length) {
        const c = cases[next++];
        const r = await send(base, c).catch((err: Error) => ({ status: 0, headers: {}, body: err.message }));
        sent++;
        const openAi = base === server.inferenceUrl && isOpenAiPath(c.path.split('?')[0]);
        const v = violation(`${c.method ?? 'GET'} ${c.path.slice(0, 100)} ${c.label.slice(0, 100)}`, c.method ?? 'GET', r, openAi);
        if (v) problems.push(v);
        await onAnswer?.(c, r);
      }
    };
    await Promise.all([lane(), lane(), lane(), lane()]);
    await otherServes();
    assert.deepEqual(problems, [], `${problems.length} of ${cases.length} answers break the rules`);
  };

  before(async () => {
    server = await startTestServer({ max_request_size: String(4 << 20) });
    writeModelDir(path.join(server.store, 'scale'), { name: 'scale' });
    for (const [name, workers] of [['good', 1], ['other', 1], ['target', 0]] as const) {
      const r = await send(server.managementUrl, { method: 'POST', path: `/models?url=scale&model_name=${name}&initial_workers=${workers}` });
      assert.equal(r.status, 200, r.body);
    }
    // An embedding model for /v1/embeddings.
    const emb = path.join(server.store, 'emb');
    cpSync(path.join(FIXTURES, 'nlp', 'tiny-bert-embeddings'), emb, { recursive: true });
    mkdirSync(path.join(emb, 'MAR-INF'));
    writeFileSync(path.join(emb, 'MAR-INF', 'MANIFEST.json'), JSON.stringify({ runtime: 'onnx', model: { modelName: 'emb', handler: 'sentence_embedding' } }));
    const r = await send(server.managementUrl, { method: 'POST', path: '/models?url=emb&model_name=emb&initial_workers=1&batch_size=4' });
    assert.equal(r.status, 200, r.body);
    pidsBefore = { good: await pidsOf('good'), other: await pidsOf('other'), emb: await pidsOf('emb') };
    childrenBefore = childPids();
  });

  after(async () => {
    await otherServes();
    // No worker died or was replaced, and nothing was left running.
    assert.deepEqual({ good: await pidsOf('good'), other: await pidsOf('other'), emb: await pidsOf('emb') }, pidsBefore);
    assert.deepEqual(childPids(), childrenBefore);
    await server.close();
  });

  it('inference routes: bodies, tensors, binary headers, content types, methods', async () => {
    const paths = ['/predictions/good', '/predictions/good/1.0', '/models/good/invoke', '/invocations?model_name=good'];
    // Every case on the main route; every third on the others, which share its code after routing.
    await sweep(server.inferenceUrl, paths.flatMap((p, i) => (i === 0 ? inferenceCases(p) : inferenceCases(p, false).filter((_, k) => k % 3 === i - 1))));
  });

  it('/v1/embeddings and /v1/models: bodies, fields, token arrays, content types, methods', async () => {
    await sweep(server.inferenceUrl, embeddingsCases('emb', 'good'));
    const ok = await send(server.inferenceUrl, { method: 'POST', path: '/v1/embeddings', headers: { 'content-type': 'application/json' }, body: '{"model":"emb","input":["Hello","World"]}' });
    assert.equal(ok.status, 200, ok.body);
    assert.equal(JSON.parse(ok.body).data.length, 2);
  });

  it('unknown paths, traversal and percent-encoding garbage, every method, every listener', async () => {
    const methods = (i: number) => METHODS.filter((_, k) => k % 2 === i % 2); // half the methods per path, alternating
    for (const base of [server.inferenceUrl, server.managementUrl, server.metricsUrl]) {
      await sweep(base, ODD_PATHS.flatMap((p, i) => methods(i).map((method) => ({ label: '', method, path: p }))));
    }
  });

  it('register: every parameter with hostile values, in the query and as JSON', async () => {
    let n = 0;
    const cases: HostileCase[] = [];
    for (const p of REGISTER_PARAMS) {
      for (const v of QUERY_VALUES) cases.push({ label: `${p}=${v.slice(0, 40)}`, method: 'POST', path: `/models?url=scale&model_name=q${n++}&initial_workers=0&${p}=${v}` });
      for (const v of JSON_VALUES) {
        const body = JSON.stringify({ url: 'scale', model_name: `j${n++}`, initial_workers: 0, [p]: v });
        cases.push({ label: `JSON ${p}=${JSON.stringify(v).slice(0, 40)}`, method: 'POST', path: '/models', headers: { 'content-type': 'application/json' }, body });
      }
    }
    // What registered anyway (a valid odd value) is unregistered again.
    await sweep(server.managementUrl, cases, async (_c, r) => {
      if (r.status >= 300) return;
      for (const name of JSON.parse((await send(server.managementUrl, { path: '/models' })).body).models.map((m: { modelName: string }) => m.modelName)) {
        if (!['good', 'other', 'target', 'emb'].includes(name)) await send(server.managementUrl, { method: 'DELETE', path: `/models/${encodeURIComponent(name)}` });
      }
    });
  });

  it('register: hostile JSON bodies', async () => {
    const bodies = ['', '{', 'null', '[]', '"x"', '1', `${'['.repeat(500_000)}${']'.repeat(500_000)}`, `{"url":${'['.repeat(500_000)}${']'.repeat(500_000)}}`,
      '{"url":"scale","url":"x"}', '{"__proto__":{"url":"scale"}}', '{"constructor":{"prototype":{"url":"scale"}}}', Buffer.from([0x7b, 0xff, 0x7d]).toString('latin1')];
    const cases = bodies.map((body) => ({ label: body.slice(0, 40), method: 'POST', path: '/models', headers: { 'content-type': 'application/json' }, body }));
    cases.push({ label: 'JSON over 1 MiB', method: 'POST', path: '/models', headers: { 'content-type': 'application/json' }, body: `{"url":"${'x'.repeat(2 << 20)}"}` });
    cases.push({ label: 'JSON with a charset', method: 'PUT', path: '/models/target', headers: { 'content-type': 'application/json; charset=latin1' }, body: '{"min_worker":"x"}' });
    await sweep(server.managementUrl, cases);
  });

  it('scale, list, describe, unregister: hostile values and names', async () => {
    const cases: HostileCase[] = [];
    for (const p of SCALE_PARAMS) {
      for (const v of QUERY_VALUES) cases.push({ label: `${p}=${v.slice(0, 40)}`, method: 'PUT', path: `/models/target?min_worker=0&max_worker=0&synchronous=true&${p}=${v}` });
      for (const v of JSON_VALUES) {
        const body = JSON.stringify({ min_worker: 0, max_worker: 0, synchronous: true, [p]: v });
        cases.push({ label: `JSON ${p}=${JSON.stringify(v).slice(0, 40)}`, method: 'PUT', path: '/models/target', headers: { 'content-type': 'application/json' }, body });
      }
    }
    for (const v of QUERY_VALUES) {
      cases.push({ label: `limit=${v.slice(0, 40)}`, path: `/models?limit=${v}` }, { label: `next_page_token=${v.slice(0, 40)}`, path: `/models?next_page_token=${v}&limit=${v}` });
      for (const method of ['GET', 'PUT', 'DELETE', 'POST']) cases.push({ label: `name ${v.slice(0, 40)}`, method, path: `/models/${v || '%20'}?min_worker=0` });
    }
    await sweep(server.managementUrl, cases);
  });

  it('bytes that are not valid HTTP get a JSON 4xx, not a 5xx or a silent close', async () => {
    const post = (headers: string, body = '') => `POST /predictions/good HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${headers}\r\n${body}`;
    const requests: Record<string, string | Buffer> = {
      'not HTTP at all': 'GARBAGE\r\n\r\n',
      'header over 16 KiB': `GET /ping HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
      'URL over 16 KiB': `GET /ping?${'a'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`,
      'control byte in a header': 'GET /ping HTTP/1.1\r\nHost: x\r\nX-A\x01: b\r\n\r\n',
      'NUL in the path': 'GET /pi\x00ng HTTP/1.1\r\nHost: x\r\n\r\n',
      'unknown method': 'FOO /ping HTTP/1.1\r\nHost: x\r\n\r\n',
      'CONNECT': 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n',
      'HTTP/2 preface': 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n',
      'TLS client hello': Buffer.from('16030100a5010000a10303', 'hex'),
      'HTTP/9.9': 'GET /ping HTTP/9.9\r\nHost: x\r\n\r\n',
      'content-length not a number': post('Content-Length: abc\r\n'),
      'content-length negative': post('Content-Length: -5\r\n'),
      'content-length and chunked': post('Content-Length: 4\r\nTransfer-Encoding: chunked\r\n', '0\r\n\r\n'),
      'two content-lengths': post('Content-Length: 4\r\nContent-Length: 5\r\n', 'abcd'),
      'bad chunk size': post('Transfer-Encoding: chunked\r\n', 'zz\r\nabc\r\n0\r\n\r\n'),
    };
    const problems: string[] = [];
    for (const [label, bytes] of Object.entries(requests)) {
      const v = violation(label, 'GET', await rawExchange(server.inferenceUrl, bytes));
      if (v) problems.push(v);
    }
    await otherServes();
    assert.deepEqual(problems, []);
  });

  // Cases that each had their own fix in the hardening work.
  const noFiveHundred = async (label: string, c: Omit<HostileCase, 'label'>) => {
    const r = await send(server.managementUrl, c);
    assert.equal(violation(label, c.method ?? 'GET', r), undefined);
    return r;
  };

  it('register from a file:// URL outside the store', async () => {
    const urls = ['file:///etc/passwd', 'file:///', 'file://', 'file:', 'file://host/x', 'file:relative', 'file://%zz', 'file:///%00', `file://${server.store}/../../etc`, 'FILE:///etc'];
    for (const url of urls) {
      const r = await noFiveHundred(url, { method: 'POST', path: `/models?url=${encodeURIComponent(url)}&model_name=f&initial_workers=0` });
      if (r.status === 200) await send(server.managementUrl, { method: 'DELETE', path: '/models/f' }); // e.g. the store itself
    }
  });

  it('register a 100,000-character model name', async () => {
    for (const initial_workers of [0, 1]) {
      const body = JSON.stringify({ url: 'scale', model_name: 'a'.repeat(100_000), initial_workers });
      const r = await noFiveHundred('long name', { method: 'POST', path: '/models', headers: { 'content-type': 'application/json' }, body });
      if (r.status === 200) await send(server.managementUrl, { method: 'DELETE', path: `/models/${'a'.repeat(100_000)}` });
    }
  });

  it('a response_timeout beyond the timer range neither kills workers nor fails requests', async () => {
    for (const timeout of ['2147484', '4294967296', '9007199254740991']) {
      const reg = await noFiveHundred(timeout, { method: 'POST', path: `/models?url=scale&model_name=rt&initial_workers=1&response_timeout=${timeout}` });
      if (reg.status !== 200) continue; // refused as a bad value: fine
      const r = await send(server.inferenceUrl, { method: 'POST', path: '/predictions/rt', headers: { 'content-type': 'application/json' }, body: GOOD_INPUT });
      await send(server.managementUrl, { method: 'DELETE', path: '/models/rt' });
      assert.equal(r.status, 200, `response_timeout=${timeout}: ${r.body}`);
    }
  });

  it('more fields than max_request_parameters: 413', async () => {
    const many = Array.from({ length: 1500 }, (_, i) => `p${i}=1`).join('&');
    const multipart = Array.from({ length: 1500 }, (_, i) => `--b\r\nContent-Disposition: form-data; name="p${i}"\r\n\r\n1\r\n`).join('') + '--b--\r\n';
    const cases: HostileCase[] = [
      { label: 'query', method: 'POST', path: `/predictions/good?${many}`, headers: { 'content-type': 'application/json' }, body: GOOD_INPUT },
      { label: 'form', method: 'POST', path: '/predictions/good', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: many },
      { label: 'multipart', method: 'POST', path: '/predictions/good', headers: { 'content-type': 'multipart/form-data; boundary=b' }, body: multipart },
    ];
    for (const c of cases) {
      const r = await send(server.inferenceUrl, c);
      assert.equal(violation(c.label, 'POST', r), undefined);
      assert.equal(r.status, 413, `${c.label}: ${r.status} ${r.body.slice(0, 200)}`);
    }
  });

  it('a body the client abandons halfway leaves the server serving', async () => {
    const url = new URL(server.inferenceUrl);
    const socket = net.connect(Number(url.port), url.hostname);
    socket.write('POST /predictions/good HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"inputs":[');
    socket.destroy();
    await otherServes();
    const r = await send(server.inferenceUrl, { method: 'POST', path: '/predictions/good', headers: { 'content-type': 'application/json' }, body: GOOD_INPUT });
    assert.equal(r.status, 200);
  });
});
