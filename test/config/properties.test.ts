// config.properties follows java.util.Properties line rules (docs/configuration.md, Config file and
// precedence): every rule is checked through loadConfig on a real file.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../../frontend/config/server-config.js';
import { fromFile, useTempConfigDir } from './helpers.js';

useTempConfigDir();

describe('config.properties syntax', () => {
  it('accepts =, : and whitespace as the separator, with blanks around it', () => {
    const c = fromFile(['job_queue_size: 7', 'default_workers_per_model 3', 'number_of_gpu   =   2', 'max_request_size:1024', 'max_response_size\t2048']);
    assert.equal(c.jobQueueSize, 7);
    assert.equal(c.defaultWorkersPerModel, 3);
    assert.equal(c.numberOfGpu, 2);
    assert.equal(c.maxRequestSize, 1024);
    assert.equal(c.maxResponseSize, 2048);
    assert.deepEqual(c.warnings, []);
  });

  it('keeps a separator character inside the value', () => {
    const c = fromFile(['model_store /a=b:c', 'cors_allowed_origin=http://x:8080']);
    assert.equal(c.modelStore, '/a=b:c');
    assert.equal(c.cors.origin, 'http://x:8080');
  });

  it('skips # and ! comment lines, also after leading whitespace; # inside a value stays', () => {
    const c = fromFile(['# job_queue_size=1', '! job_queue_size=2', '   # indented comment', '\t! indented bang', 'cors_allowed_headers=a#b!c']);
    assert.equal(c.jobQueueSize, 100);
    assert.equal(c.cors.headers, 'a#b!c');
    assert.deepEqual(c.warnings, []);
  });

  it('ignores leading whitespace before a key', () => {
    const c = fromFile(['    job_queue_size=9', '\t\tdebug=true']);
    assert.equal(c.jobQueueSize, 9);
    assert.equal(c.debug, true);
  });

  it('joins continuation lines (odd trailing backslashes), dropping the next line\'s leading blanks', () => {
    const c = fromFile(['load_models=a.mar,\\', '    b.mar,\\', '\tc.mar', 'job_queue_size=1\\', '  2', 'model_store=/x\\\\']);
    assert.equal(c.loadModels, 'a.mar,b.mar,c.mar');
    assert.equal(c.jobQueueSize, 12);
    // An even number of backslashes is an escaped backslash, not a continuation.
    assert.equal(c.modelStore, '/x\\');
  });

  it('decodes \\uXXXX and the other escapes in keys and values', () => {
    const c = fromFile(['model_store=/m\\u00e9dels', 'job\\u005fqueue_size=4', 'cors_allowed_origin=a\\tb\\\\c\\qd']);
    assert.equal(c.modelStore, '/m\u00e9dels');
    assert.equal(c.jobQueueSize, 4);
    assert.equal(c.cors.origin, 'a\tb\\cqd');
  });

  it('refuses a malformed \\u escape, as Java does, naming the line', () => {
    assert.throws(
      () => fromFile(['job_queue_size=1', 'model_store=/a\\u00zz']),
      (err: unknown) => err instanceof ConfigError && /\\u/.test(err.message) && /line 2/.test(err.message),
    );
  });

  it('takes escaped =, : and blanks in a key as part of the key', () => {
    const c = fromFile(['a\\=b=1', 'c\\:d:2', 'e\\ f 3', 'job_queue_size=5']);
    assert.equal(c.jobQueueSize, 5);
    for (const key of ['a=b', 'c:d', 'e f']) assert.ok(c.warnings.some((w) => w.includes(`key ${key} `)), `no warning for ${key}: ${c.warnings}`);
  });

  it('reads a key with no value as empty', () => {
    const c = fromFile(['load_models', 'model_store=/s']);
    assert.equal(c.loadModels, undefined);
    assert.equal(c.modelStore, '/s');
  });

  it('accepts CRLF line ends', () => {
    const c = fromFile(['job_queue_size=6\r', 'debug=true\r']);
    assert.equal(c.jobQueueSize, 6);
    assert.equal(c.debug, true);
  });
});
