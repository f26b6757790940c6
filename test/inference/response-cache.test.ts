// The front's response cache on its own (frontend/inference/response-cache.ts): what the key tells
// apart, expiry, and that a table change of version or settings empties a model's cache.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { OutgoingItem, ReplyItem } from '../../protocol/messages.js';
import type { ModelRoute } from '../../protocol/routes.js';
import { ResponseCache } from '../../frontend/inference/response-cache.js';

const route = (o: Partial<ModelRoute> = {}): ModelRoute => ({
  name: 'm', version: '1', queueSize: 10, batchSize: 1, responseTimeoutMs: 1000, retryOnWorkerDeath: true, workers: [],
  minWorkers: 1, starting: false, healthy: true, platform: 'node', openInference: false,
  cache: { maxBytes: 1 << 20, ttlMs: 3_600_000 }, ...o,
});
const item = (parameters: OutgoingItem['parameters'], headers: Array<[string, string]> = []): OutgoingItem => ({ requestId: 'r', headers, parameters });
const body = (value: Buffer | Buffer[], contentType = 'text/plain') => item([{ name: 'body', contentType, value }]);
const reply = (text: string, status = 200): ReplyItem => ({ requestId: 'r', contentType: 'text/plain', status, reason: '', headers: [], body: Buffer.from(text) });

describe('ResponseCache', () => {
  it('keys the exact input: the same bytes in other pieces match, other fields or boundaries do not', () => {
    const c = new ResponseCache();
    const r = route();
    const key = (i: OutgoingItem) => c.key(r, i);
    assert.equal(key(body(Buffer.from('abc'))), key(body([Buffer.from('a'), Buffer.from('bc')])));
    assert.notEqual(key(body(Buffer.from('abc'))), key(body(Buffer.from('abd'))));
    assert.notEqual(key(body(Buffer.from('abc'))), key(body(Buffer.from('abc'), 'application/json')));
    const p = (name: string, value: string) => ({ name, contentType: '', value: Buffer.from(value) });
    assert.notEqual(key(item([p('a', 'bc')])), key(item([p('ab', 'c')])));
    assert.notEqual(key(item([p('a', '1'), p('b', '2')])), key(item([p('b', '2'), p('a', '1')])));
    assert.notEqual(key(body(Buffer.from('x'))), key(item(body(Buffer.from('x')).parameters, [['inference-header-content-length', '1']])));
    assert.equal(key(body(Buffer.from('x'))), key(item(body(Buffer.from('x')).parameters, [['user-agent', 'other']])), 'other headers are not keyed');
    assert.notEqual(key(body(Buffer.from('x'))), c.key(route({ version: '2' }), body(Buffer.from('x'))));
    assert.equal(c.key(route({ cache: undefined }), body(Buffer.from('x'))), undefined, 'no cache, no key');
  });

  it('answers a kept reply under the new request id; errors and expired answers are not served', () => {
    const lookups: boolean[] = [];
    const c = new ResponseCache((_m, hit) => lookups.push(hit));
    const r = route();
    c.apply([r]);
    const k = c.key(r, body(Buffer.from('x')))!;
    assert.equal(c.get(r, k, 'a'), undefined);
    c.set(r, k, reply('answer'));
    assert.deepEqual(c.get(r, k, 'b'), { ...reply('answer'), requestId: 'b' });
    const failed = c.key(r, body(Buffer.from('y')))!;
    c.set(r, failed, reply('no', 500));
    assert.equal(c.get(r, failed, 'c'), undefined);
    assert.deepEqual(lookups, [false, true, false]);
    const expiring = route({ cache: { maxBytes: 1 << 20, ttlMs: 0 } });
    c.apply([expiring]);
    c.set(expiring, k, reply('answer'));
    assert.equal(c.get(expiring, k, 'd'), undefined, 'a ttl of 0 serves nothing');
  });

  it('a new version, new settings or the model leaving the table empties its cache', () => {
    const c = new ResponseCache();
    const k = c.key(route(), body(Buffer.from('x')))!;
    const fill = (r: ModelRoute) => c.set(r, k, reply('answer'));
    c.apply([route()]);
    fill(route());
    c.apply([route()]);
    assert.ok(c.get(route(), k, 'r'), 'the same table keeps it');
    c.apply([route({ version: '2' })]);
    assert.equal(c.get(route({ version: '2' }), k, 'r'), undefined);
    fill(route({ version: '2' }));
    c.apply([route({ version: '2', cache: { maxBytes: 1000, ttlMs: 1000 } })]);
    assert.equal(c.get(route({ version: '2' }), k, 'r'), undefined);
    c.apply([]);
    c.apply([route()]);
    assert.equal(c.get(route(), k, 'r'), undefined);
  });
});
