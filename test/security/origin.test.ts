// Management requests from web pages: a foreign Origin (plain cross-site POST) or a Host that is not
// an address the listener serves (DNS rebinding) is refused with 403; curl-style requests and
// same-origin pages still work, and the inference API ignores Origin (docs/api.md, Security).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request, sharedAddress, startTestServer, type TestServer } from '../helpers/server.js';
import { rawRequest } from '../helpers/raw-http.js';

const port = (url: string) => new URL(url).port;

describe('management Host and Origin checks (separate listeners)', () => {
  let s: TestServer;
  before(async () => {
    // Another loopback address, so that the two APIs get separate listeners.
    s = await startTestServer({ management_address: 'http://127.0.0.2:0', allowed_hosts: 'mms.internal,gateway.example:9000', cors_allowed_origin: 'http://app.example' });
  });
  after(() => s.close());

  it('refuses a forged Host (DNS rebinding) with 403 JSON', async () => {
    const res = await rawRequest(`${s.managementUrl}/models`, { headers: { host: `attacker.example:${port(s.managementUrl)}` } });
    assert.equal(res.status, 403);
    assert.equal(res.body.code, 403);
    assert.equal(res.body.type, 'ForbiddenException');
    assert.match(res.body.message, /Host attacker\.example:\d+ is not allowed/);
  });

  it('refuses a cross-site text/plain POST that would register a model', async () => {
    const res = await rawRequest(`${s.managementUrl}/models?url=cls.mar&initial_workers=1`, {
      method: 'POST',
      headers: { origin: 'http://evil.example', 'content-type': 'text/plain' },
      body: 'x',
    });
    assert.equal(res.status, 403);
    assert.match(res.body.message, /Origin http:\/\/evil\.example is not allowed/);
  });

  it('refuses the issue example: foreign Origin and forged Host', async () => {
    const res = await rawRequest(`${s.managementUrl}/models?url=cls.mar&initial_workers=1`, {
      method: 'POST',
      headers: { origin: 'http://evil.example', host: 'attacker.example:8081', 'content-type': 'text/plain' },
    });
    assert.equal(res.status, 403);
  });

  it('refuses an opaque Origin (null)', async () => {
    const res = await rawRequest(`${s.managementUrl}/models`, { method: 'POST', headers: { origin: 'null' } });
    assert.equal(res.status, 403);
  });

  it('serves requests without Origin and with the listener host (curl)', async () => {
    assert.equal((await request(`${s.managementUrl}/models`)).status, 200);
    const loopbackName = await rawRequest(`${s.managementUrl}/models`, { headers: { host: `localhost:${port(s.managementUrl)}` } });
    assert.equal(loopbackName.status, 200);
  });

  it('serves a same-origin page', async () => {
    const p = port(s.managementUrl);
    const ip = await rawRequest(`${s.managementUrl}/models`, { headers: { origin: new URL(s.managementUrl).origin } });
    assert.equal(ip.status, 200);
    const name = await rawRequest(`${s.managementUrl}/models`, { headers: { host: `localhost:${p}`, origin: `http://localhost:${p}` } });
    assert.equal(name.status, 200);
  });

  it('refuses a page on another port of the same host', async () => {
    const res = await rawRequest(`${s.managementUrl}/models`, { headers: { origin: 'http://127.0.0.2:1' } });
    assert.equal(res.status, 403);
  });

  it('serves Hosts listed in allowed_hosts (with the port when the entry names one)', async () => {
    assert.equal((await rawRequest(`${s.managementUrl}/models`, { headers: { host: 'mms.internal' } })).status, 200);
    assert.equal((await rawRequest(`${s.managementUrl}/models`, { headers: { host: 'MMS.internal:8081' } })).status, 200);
    assert.equal((await rawRequest(`${s.managementUrl}/models`, { headers: { host: 'gateway.example:9000' } })).status, 200);
    assert.equal((await rawRequest(`${s.managementUrl}/models`, { headers: { host: 'gateway.example:9001' } })).status, 403);
  });

  it('serves the Origin named by cors_allowed_origin', async () => {
    const res = await rawRequest(`${s.managementUrl}/models`, { headers: { origin: 'http://app.example' } });
    assert.equal(res.status, 200);
  });

  it('leaves the inference API open to any Origin and Host', async () => {
    const res = await rawRequest(`${s.inferenceUrl}/ping`, { method: 'POST', headers: { origin: 'http://evil.example', host: 'attacker.example' } });
    assert.equal(res.status, 200);
    const predict = await rawRequest(`${s.inferenceUrl}/predictions/none`, { method: 'POST', headers: { origin: 'http://evil.example', 'content-type': 'text/plain' }, body: 'x' });
    assert.equal(predict.status, 404);
  });
});

describe('one listener for both APIs', () => {
  let s: TestServer;
  before(async () => {
    const address = await sharedAddress(); // equal addresses
    s = await startTestServer({ inference_address: address, management_address: address });
  });
  after(() => s.close());

  it('checks management routes and leaves inference routes open', async () => {
    assert.equal(s.inferenceUrl, s.managementUrl);
    const evil = { origin: 'http://evil.example', host: 'attacker.example' };
    assert.equal((await rawRequest(`${s.managementUrl}/models`, { headers: evil })).status, 403);
    assert.equal((await rawRequest(`${s.managementUrl}/models/x`, { method: 'DELETE', headers: evil })).status, 403);
    assert.equal((await rawRequest(`${s.inferenceUrl}/ping`, { headers: evil })).status, 200);
    assert.equal((await rawRequest(`${s.inferenceUrl}/models/none/invoke`, { method: 'POST', headers: evil })).status, 404);
  });
});

describe('wildcard listener (0.0.0.0)', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer({ inference_address: 'http://127.0.0.1:0', management_address: 'http://0.0.0.0:0', allowed_hosts: 'mms.internal' });
  });
  after(() => s.close());

  it('accepts any IP-literal Host, localhost and allowed_hosts; refuses other names', async () => {
    const url = `http://127.0.0.1:${port(s.managementUrl)}/models`;
    for (const host of ['10.1.2.3:8081', '[fe80::1]:8081', '127.0.0.1', 'localhost', 'mms.internal']) {
      assert.equal((await rawRequest(url, { headers: { host } })).status, 200, host);
    }
    assert.equal((await rawRequest(url, { headers: { host: 'attacker.example' } })).status, 403);
  });
});
