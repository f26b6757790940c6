// Address tests: parseAddress forms (docs/configuration.md, Keys), formatting and comparison, and the default
// ports loadConfig gives addresses written without one.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatAddress, parseAddress, sameAddress } from '../../frontend/config/address.js';
import { fromFile, useTempConfigDir } from './helpers.js';

useTempConfigDir();

describe('parseAddress', () => {
  it('parses http with and without a port', () => {
    assert.deepEqual(parseAddress('http://127.0.0.1:8080'), { kind: 'tcp', scheme: 'http', host: '127.0.0.1', port: 8080 });
    assert.deepEqual(parseAddress('http://example.com'), { kind: 'tcp', scheme: 'http', host: 'example.com', port: 80 });
    assert.deepEqual(parseAddress('http://example.com', { http: 8081, https: 8444 }), { kind: 'tcp', scheme: 'http', host: 'example.com', port: 8081 });
    assert.deepEqual(parseAddress('http://0.0.0.0:0'), { kind: 'tcp', scheme: 'http', host: '0.0.0.0', port: 0 });
  });

  it('parses https, defaulting to port 443', () => {
    assert.deepEqual(parseAddress('https://0.0.0.0'), { kind: 'tcp', scheme: 'https', host: '0.0.0.0', port: 443 });
    assert.deepEqual(parseAddress('https://localhost:8443'), { kind: 'tcp', scheme: 'https', host: 'localhost', port: 8443 });
    assert.deepEqual(parseAddress('HTTPS://Host:8443/'), { kind: 'tcp', scheme: 'https', host: 'Host', port: 8443 });
  });

  it('parses unix: socket paths', () => {
    assert.deepEqual(parseAddress('unix:/tmp/mms.sock'), { kind: 'unix', scheme: 'http', path: '/tmp/mms.sock' });
  });

  it('parses bracketed IPv6 hosts', () => {
    const a = parseAddress('http://[::1]:9000');
    assert.deepEqual(a, { kind: 'tcp', scheme: 'http', host: '::1', port: 9000 });
    assert.equal(formatAddress(a), 'http://[::1]:9000');
  });

  it('parses host:port without a scheme as http (the form gRPC and people write)', () => {
    assert.deepEqual(parseAddress('127.0.0.1:7070'), { kind: 'tcp', scheme: 'http', host: '127.0.0.1', port: 7070 });
    assert.deepEqual(parseAddress('localhost:8080'), { kind: 'tcp', scheme: 'http', host: 'localhost', port: 8080 });
    assert.deepEqual(parseAddress('[::1]:9000'), { kind: 'tcp', scheme: 'http', host: '::1', port: 9000 });
    assert.deepEqual(parseAddress('0.0.0.0:0'), { kind: 'tcp', scheme: 'http', host: '0.0.0.0', port: 0 });
  });

  it('rejects anything else with "Invalid binding address"', () => {
    for (const bad of ['localhost', ':8080', 'h:', 'h:port', 'h:80/x', '::1:80', 'ftp://h:21', 'http://', 'http://h:', 'http://h:port', 'http://h:80/path', 'unix:', '', 'tcp://h:1']) {
      assert.throws(() => parseAddress(bad), /Invalid/, `accepted ${JSON.stringify(bad)}`);
    }
    assert.throws(() => parseAddress('http://h:70000'), /Invalid port/);
  });

  it('formats and compares addresses', () => {
    assert.equal(formatAddress(parseAddress('unix:/tmp/x.sock')), 'unix:/tmp/x.sock');
    assert.equal(formatAddress(parseAddress('https://h')), 'https://h:443');
    assert.ok(sameAddress(parseAddress('http://127.0.0.1'), parseAddress('http://127.0.0.1:80/')));
    assert.ok(!sameAddress(parseAddress('http://127.0.0.1:8080'), parseAddress('http://127.0.0.1:8081')));
    assert.ok(!sameAddress(parseAddress('http://127.0.0.1:443'), parseAddress('https://127.0.0.1')));
  });
});
describe('address keys in host:port form', () => {
  it('grpc_inference_address=127.0.0.1:7070 (as docs/api.md shows it) and inference_address=0.0.0.0:8080 load', () => {
    const c = fromFile(['grpc_inference_address=127.0.0.1:7070', 'inference_address=0.0.0.0:8080']);
    assert.deepEqual(c.grpcAddress, { kind: 'tcp', scheme: 'http', host: '127.0.0.1', port: 7070 });
    assert.deepEqual(c.inferenceAddress, { kind: 'tcp', scheme: 'http', host: '0.0.0.0', port: 8080 });
  });
});

describe('address default ports', () => {
  it('management_address without a port defaults to 8081 (http) / 8444 (https)', () => {
    const m = fromFile(['management_address=http://127.0.0.1', 'inference_address=http://127.0.0.1']);
    assert.equal(m.managementAddress.kind === 'tcp' && m.managementAddress.port, 8081);
    const s = fromFile(['management_address=https://127.0.0.1']);
    assert.equal(s.managementAddress.kind === 'tcp' && s.managementAddress.port, 8444);
  });
});
