// max_request_parameters: a request with more query values, form fields and multipart parts than the
// cap gets 413 naming the key; one at the cap reaches the worker with every parameter.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { writeHandlerModelDir } from '../helpers/fixtures.js';
import { request, startTestServer, type JsonResponse, type TestServer } from '../helpers/server.js';

const CAP = 1000;

function form(n: number, prefix = 'f'): string {
  const pairs: string[] = [];
  for (let i = 0; i < n; i++) pairs.push(`${prefix}${i}=${i % 10}`);
  return pairs.join('&');
}

function multipart(fields: number, files = 0): FormData {
  const data = new FormData();
  for (let i = 0; i < fields; i++) data.append(`f${i}`, String(i % 10));
  for (let i = 0; i < files; i++) data.append(`file${i}`, new Blob([`x${i}`], { type: 'text/plain' }), `x${i}.txt`);
  return data;
}

describe('max_request_parameters', () => {
  let server: TestServer;
  let url: string;

  before(async () => {
    server = await startTestServer({ max_request_parameters: String(CAP) });
    writeHandlerModelDir(path.join(server.store, 'params'), 'params', 'param-count.mjs');
    const r = await request(`${server.managementUrl}/models?url=params&initial_workers=1`, { method: 'POST' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    url = `${server.inferenceUrl}/predictions/params`;
  });
  after(() => server.close());

  const urlencoded = (body: string, query = '') =>
    request(`${url}${query}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });

  const tooMany = (r: JsonResponse) => {
    assert.equal(r.status, 413, JSON.stringify(r.body).slice(0, 300));
    assert.equal(r.body.code, 413);
    assert.equal(r.body.type, 'RequestEntityTooLargeException');
    assert.match(r.body.message, new RegExp(`max_request_parameters \\(${CAP}\\)`));
    assert.equal(r.body.errorCode, 'TOO_MANY_PARAMETERS');
  };

  const names = (r: JsonResponse): string[] => {
    assert.equal(r.status, 200, JSON.stringify(r.body).slice(0, 300));
    return r.body.names;
  };

  it('refuses 200k urlencoded fields with 413', async () => {
    tooMany(await urlencoded(form(200_000)));
  });

  it('refuses one field over the cap, counting query values too', async () => {
    tooMany(await urlencoded(form(CAP + 1)));
    tooMany(await urlencoded(form(CAP - 10), `?${form(11, 'q')}`));
    tooMany(await request(`${url}?${form(CAP + 1, 'q')}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }));
  });

  it('refuses too many multipart parts with 413', async () => {
    tooMany(await request(url, { method: 'POST', body: multipart(10_000) }));
    tooMany(await request(url, { method: 'POST', body: multipart(CAP + 1) }));
    tooMany(await request(url, { method: 'POST', body: multipart(CAP / 2, CAP / 2 + 1) }));
    tooMany(await request(`${url}?q=1`, { method: 'POST', body: multipart(CAP) }));
  });

  it('serves requests at the cap with every parameter', async () => {
    assert.equal(names(await urlencoded(form(CAP))).length, CAP);
    assert.equal(names(await urlencoded(form(CAP - 10), `?${form(10, 'q')}`)).length, CAP);
    assert.equal(names(await request(url, { method: 'POST', body: multipart(CAP / 2, CAP / 2) })).length, CAP);
    // A raw body is one parameter.
    const raw = names(await request(`${url}?${form(CAP - 1, 'q')}`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hi' }));
    assert.equal(raw.length, CAP);
    assert.ok(raw.includes('body'));
  });

  it('keeps serving after refusals', async () => {
    assert.deepEqual(names(await urlencoded('a=1&b=2')), ['a', 'b']);
  });
});
