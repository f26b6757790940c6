// Keys converted to milliseconds for Node timers: a value past 2^31-1 ms would make the timer fire at
// once (every request failing), so the start must fail naming the key (docs/configuration.md, Keys).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../../frontend/config/server-config.js';
import { fromFile, useTempConfigDir } from './helpers.js';

useTempConfigDir();

function assertRejects(line: string, key: string): void {
  assert.throws(
    () => fromFile([line]),
    (err: unknown) => err instanceof ConfigError && err.message.includes(key),
    `${line} should be rejected naming ${key}`,
  );
}

describe('timer-backed keys have a maximum', () => {
  it('rejects values whose milliseconds overflow a timer', () => {
    assertRejects('default_response_timeout=35792', 'default_response_timeout');
    assertRejects('default_response_timeout_seconds=2147484', 'default_response_timeout_seconds');
    assertRejects('worker_start_timeout=2147484', 'worker_start_timeout');
    assertRejects('model_load_timeout=2147484', 'model_load_timeout');
    assertRejects('response_cache_ttl=2147484', 'response_cache_ttl');
    assertRejects('unregister_model_timeout=2147484', 'unregister_model_timeout');
    assertRejects('graceful_shutdown_timeout=2147484', 'graceful_shutdown_timeout');
    assertRejects('download_timeout=2147484', 'download_timeout');
    assertRejects('worker_ping_interval_ms=2147483648', 'worker_ping_interval_ms');
  });

  it('rejects a response timeout that overflows when a second batch waits behind a running one', () => {
    // A slot holds two batches; the waiting one is given the timeout twice.
    assertRejects('default_response_timeout_seconds=1073742', 'default_response_timeout_seconds');
    assertRejects('default_response_timeout=17896', 'default_response_timeout');
  });

  it('accepts the largest values that still fit', () => {
    assert.equal(fromFile(['default_response_timeout_seconds=1073741']).responseTimeout, 1073741);
    assert.equal(fromFile(['default_response_timeout=17895']).responseTimeout, 17895 * 60);
    assert.equal(fromFile(['worker_start_timeout=2147483']).workerStartTimeout, 2147483);
    assert.equal(fromFile(['download_timeout=2147483']).archive.downloadTimeout, 2147483);
    assert.equal(fromFile(['worker_ping_interval_ms=2147483647']).workerPing.intervalMs, 2147483647);
  });

  it('rejects default_response_timeout_seconds=0; -1 still means unset', () => {
    assertRejects('default_response_timeout_seconds=0', 'default_response_timeout_seconds');
    assert.equal(fromFile(['default_response_timeout_seconds=-1', 'default_response_timeout=2']).responseTimeout, 120);
    assert.equal(fromFile(['default_response_timeout_seconds=1']).responseTimeout, 1);
  });
});
