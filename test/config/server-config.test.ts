// loadConfig unit tests (docs/configuration.md: Config file and precedence, Keys, Start-up models): defaults, file values, $$VAR$$ substitution, precedence
// default < file < CLI < MMS_* env (only with enable_envvars_config=true in the file), validation
// errors naming the key, warnings for unknown / JVM-only keys, defaultWorkerCount.
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, defaultWorkerCount, loadConfig, type ServerConfig } from '../../frontend/config/server-config.js';
import { dir, fromFile, props, useTempConfigDir } from './helpers.js';

useTempConfigDir();

/** Asserts that loading `lines` throws a ConfigError whose message names `key`. */
function assertRejects(lines: string[], key: string, env: NodeJS.ProcessEnv = {}): void {
  assert.throws(
    () => fromFile(lines, env),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
      assert.match(err.message, new RegExp(key));
      return true;
    },
  );
}

describe('loadConfig defaults', () => {
  it('applies built-in defaults when there is no file, flag or env', () => {
    const c = loadConfig({ env: {} });
    assert.deepEqual(c.inferenceAddress, { kind: 'tcp', scheme: 'http', host: '127.0.0.1', port: 8080 });
    assert.deepEqual(c.managementAddress, { kind: 'tcp', scheme: 'http', host: '127.0.0.1', port: 8081 });
    assert.equal(c.modelStore, undefined);
    assert.equal(c.loadModels, undefined);
    assert.equal(c.defaultWorkersPerModel, 0);
    assert.equal(c.numberOfGpu, undefined); // every GPU found
    assert.equal(c.executionProvider, 'auto');
    assert.equal(c.preloadSessions, 1);
    assert.equal(c.jobQueueSize, 100);
    assert.equal(c.responseTimeout, 120 * 60);
    assert.equal(c.unregisterModelTimeout, 120);
    assert.equal(c.maxRequestSize, 6553500);
    assert.equal(c.maxResponseSize, 6553500);
    assert.equal(c.preloadModel, false);
    assert.equal(c.decodeInputRequest, true);
    assert.equal(c.blacklistEnvVars, undefined);
    assert.deepEqual(c.cors, { origin: undefined, methods: undefined, headers: undefined });
    assert.equal(c.tls.keystorePass, 'changeit');
    assert.equal(c.tls.keystoreType, 'PKCS12');
    assert.equal(c.debug, false);
    assert.equal(c.metricTimeInterval, 60);
    assert.deepEqual(c.allowedUrls, []);
    assert.equal(c.configFile, undefined);
    assert.deepEqual(c.warnings, []);
  });

  it('reads default_response_timeout as minutes when the seconds key is unset', () => {
    assert.equal(fromFile(['default_response_timeout=5']).responseTimeout, 300);
    assert.equal(fromFile(['default_response_timeout=5', 'default_response_timeout_seconds=-1']).responseTimeout, 300);
  });

  it('lets default_response_timeout_seconds win whenever it is set (> 0)', () => {
    assert.equal(fromFile(['default_response_timeout=5', 'default_response_timeout_seconds=30']).responseTimeout, 30);
    assert.equal(fromFile(['default_response_timeout_seconds=45']).responseTimeout, 45);
  });

  it('model_load_timeout is worker_start_timeout unless set; the response cache has bytes and seconds', () => {
    assert.equal(fromFile([]).modelLoadTimeout, 120);
    assert.equal(fromFile(['worker_start_timeout=30']).modelLoadTimeout, 30);
    assert.equal(fromFile(['worker_start_timeout=30', 'model_load_timeout=600']).modelLoadTimeout, 600);
    assert.deepEqual(fromFile([]).responseCache, { sizeBytes: 64 * 1024 * 1024, ttlSeconds: 300 });
    assert.deepEqual(fromFile(['response_cache_size=1000', 'response_cache_ttl=5']).responseCache, { sizeBytes: 1000, ttlSeconds: 5 });
  });
});

describe('loadConfig file values', () => {
  it('parses every kind of key from the file', () => {
    const file = props(
      '# a comment line',
      'inference_address=https://0.0.0.0:8443',
      'management_address = unix:/tmp/mms-mgmt.sock',
      'model_store=/opt/ml/model',
      'load_models=ALL',
      'default_workers_per_model=3',
      'number_of_gpu=2',
      'job_queue_size=7',
      'unregister_model_timeout=9',
      'max_request_size=1024',
      'max_response_size=2048',
      'preload_model=TRUE',
      'decode_input_request=false',
      'default_service_handler=my_handler:handle',
      'blacklist_env_vars=SECRET_.*|AWS_.*',
      'cors_allowed_origin=*',
      'cors_allowed_methods=GET, POST',
      'cors_allowed_headers=X-Custom',
      'keystore_pass=s3cret',
      'private_key_file=/k.pem',
      'certificate_file=/c.pem',
      'metric_time_interval=15',
      'onnx_intra_op_threads=2',
      'worker_start_timeout=30',
      'allowed_urls=https://example.com/.*, file:///models/.*',
    );
    const c = loadConfig({ configFile: file, env: {} });
    assert.equal(c.configFile, file);
    assert.deepEqual(c.inferenceAddress, { kind: 'tcp', scheme: 'https', host: '0.0.0.0', port: 8443 });
    assert.deepEqual(c.managementAddress, { kind: 'unix', scheme: 'http', path: '/tmp/mms-mgmt.sock' });
    assert.equal(c.modelStore, '/opt/ml/model');
    assert.equal(c.loadModels, 'ALL');
    assert.equal(c.defaultWorkersPerModel, 3);
    assert.equal(c.numberOfGpu, 2);
    assert.equal(c.jobQueueSize, 7);
    assert.equal(c.unregisterModelTimeout, 9);
    assert.equal(c.maxRequestSize, 1024);
    assert.equal(c.maxResponseSize, 2048);
    assert.equal(c.preloadModel, true);
    assert.equal(c.decodeInputRequest, false);
    assert.equal(c.defaultServiceHandler, 'my_handler:handle');
    assert.deepEqual(c.cors, { origin: '*', methods: 'GET, POST', headers: 'X-Custom' });
    assert.equal(c.tls.keystorePass, 's3cret');
    assert.equal(c.tls.privateKeyFile, '/k.pem');
    assert.equal(c.tls.certificateFile, '/c.pem');
    assert.equal(c.metricTimeInterval, 15);
    assert.equal(c.onnxIntraOpThreads, 2);
    assert.equal(c.workerStartTimeout, 30);
    assert.deepEqual(c.warnings, []);

    // blacklist_env_vars must match the whole variable name.
    const re = c.blacklistEnvVars!;
    assert.ok(re.test('SECRET_KEY'));
    assert.ok(re.test('AWS_REGION'));
    assert.ok(!re.test('MY_SECRET_KEY'));
    assert.ok(!re.test('PATH'));

    // allowed_urls: comma list of whole-URL, case-insensitive patterns.
    assert.equal(c.allowedUrls.length, 2);
    const allowed = (u: string) => c.allowedUrls.some((r) => r.test(u));
    assert.ok(allowed('https://example.com/m.mar'));
    assert.ok(allowed('HTTPS://EXAMPLE.COM/m.mar'));
    assert.ok(allowed('file:///models/a.mar'));
    assert.ok(!allowed('https://evil.com/https://example.com/x'));
  });

  it('takes the last of a repeated key', () => {
    assert.equal(fromFile(['job_queue_size=5', 'job_queue_size=6']).jobQueueSize, 6);
  });

  it('treats an empty string value as unset', () => {
    const c = fromFile(['model_store=', 'load_models=', 'blacklist_env_vars=']);
    assert.equal(c.modelStore, undefined);
    assert.equal(c.loadModels, undefined);
    assert.equal(c.blacklistEnvVars, undefined);
  });

  it('picks the file: MMS_CONFIG_FILE, then --mms-config, then ./config.properties', () => {
    const envFile = props('job_queue_size=11');
    const flagFile = props('job_queue_size=22');
    assert.equal(loadConfig({ configFile: flagFile, env: { MMS_CONFIG_FILE: envFile } }).jobQueueSize, 11);
    assert.equal(loadConfig({ configFile: flagFile, env: {} }).jobQueueSize, 22);
    const local = path.join(dir, 'config.properties');
    writeFileSync(local, 'job_queue_size=33\n');
    try {
      const c = loadConfig({ env: {} });
      assert.equal(c.jobQueueSize, 33);
      assert.equal(c.configFile, 'config.properties');
      assert.equal(loadConfig({ configFile: flagFile, env: {} }).jobQueueSize, 22);
    } finally {
      rmSync(local);
    }
  });

  it('rejects an explicitly named config file that does not exist', () => {
    // The CLI also refuses a missing --mms-config before the server starts (docs/configuration.md, CLI).
    assert.throws(() => loadConfig({ configFile: path.join(dir, 'missing.properties'), env: {} }), ConfigError);
  });
});

describe('loadConfig $$VAR$$ substitution', () => {
  it('replaces $$NAME$$ with the environment variable, in any key kind', () => {
    const c = fromFile(
      ['model_store=$$STORE_ROOT$$/models', 'default_workers_per_model=$$WORKERS$$', 'inference_address=http://$$HOST$$:$$PORT$$'],
      { STORE_ROOT: '/data', WORKERS: '4', HOST: '0.0.0.0', PORT: '9090' },
    );
    assert.equal(c.modelStore, '/data/models');
    assert.equal(c.defaultWorkersPerModel, 4);
    assert.deepEqual(c.inferenceAddress, { kind: 'tcp', scheme: 'http', host: '0.0.0.0', port: 9090 });
  });

  it('uses the env passed in, not process.env', () => {
    process.env.MMS_TEST_ONLY_IN_PROCESS_ENV = '/from-process-env';
    try {
      assert.throws(() => fromFile(['model_store=$$MMS_TEST_ONLY_IN_PROCESS_ENV$$'], {}), ConfigError);
    } finally {
      delete process.env.MMS_TEST_ONLY_IN_PROCESS_ENV;
    }
  });

  it('fails with "Invalid Environment Variable NAME" when the variable is unset', () => {
    assert.throws(
      () => fromFile(['model_store=$$NOT_SET_ANYWHERE$$'], { OTHER: 'x' }),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.match(err.message, /Invalid Environment Variable NOT_SET_ANYWHERE/);
        return true;
      },
    );
  });

  it('validates the substituted value', () => {
    assertRejects(['job_queue_size=$$Q$$'], 'job_queue_size', { Q: 'many' });
  });
});

describe('loadConfig precedence', () => {
  const fileLines = ['model_store=/file/store', 'load_models=fromfile', 'default_workers_per_model=2', 'inference_address=http://127.0.0.1:7000'];
  const mmsEnv = {
    MMS_MODEL_STORE: '/env/store',
    MMS_LOAD_MODELS: 'fromenv',
    MMS_DEFAULT_WORKERS_PER_MODEL: '5',
    MMS_INFERENCE_ADDRESS: 'http://0.0.0.0:7001',
    MMS_JOB_QUEUE_SIZE: '42',
  };

  it('file beats defaults', () => {
    const c = fromFile(fileLines);
    assert.equal(c.modelStore, '/file/store');
    assert.equal(c.loadModels, 'fromfile');
    assert.equal(c.defaultWorkersPerModel, 2);
    assert.equal(c.inferenceAddress.kind === 'tcp' && c.inferenceAddress.port, 7000);
  });

  it('CLI --model-store / --models beat the file', () => {
    const c = loadConfig({ configFile: props(...fileLines), modelStore: '/cli/store', models: 'a=a.mar,b=b.mar', env: {} });
    assert.equal(c.modelStore, '/cli/store');
    assert.equal(c.loadModels, 'a=a.mar,b=b.mar');
    assert.equal(c.defaultWorkersPerModel, 2);
  });

  it('MMS_* env beats file and CLI when the file has enable_envvars_config=true', () => {
    const c = loadConfig({
      configFile: props(...fileLines, 'enable_envvars_config=true'),
      modelStore: '/cli/store',
      models: 'cli',
      env: mmsEnv,
    });
    assert.equal(c.modelStore, '/env/store');
    assert.equal(c.loadModels, 'fromenv');
    assert.equal(c.defaultWorkersPerModel, 5);
    assert.deepEqual(c.inferenceAddress, { kind: 'tcp', scheme: 'http', host: '0.0.0.0', port: 7001 });
    assert.equal(c.jobQueueSize, 42);
  });

  it('ignores MMS_* env when enable_envvars_config=false or absent', () => {
    for (const extra of [['enable_envvars_config=false'], []]) {
      const c = loadConfig({ configFile: props(...fileLines, ...extra), modelStore: '/cli/store', models: 'cli', env: mmsEnv });
      assert.equal(c.modelStore, '/cli/store');
      assert.equal(c.loadModels, 'cli');
      assert.equal(c.defaultWorkersPerModel, 2);
      assert.equal(c.jobQueueSize, 100);
      assert.equal(c.inferenceAddress.kind === 'tcp' && c.inferenceAddress.port, 7000);
    }
    // No file at all: env is ignored too.
    assert.equal(loadConfig({ env: mmsEnv }).modelStore, undefined);
  });

  it('reads enable_envvars_config only from the file, not from MMS_ENABLE_ENVVARS_CONFIG', () => {
    const c = fromFile(fileLines, { ...mmsEnv, MMS_ENABLE_ENVVARS_CONFIG: 'true' });
    assert.equal(c.modelStore, '/file/store');
    assert.equal(c.defaultWorkersPerModel, 2);
  });

  it('covers MMS_DEBUG but not MMS_METRIC_TIME_INTERVAL', () => {
    const c = fromFile(['enable_envvars_config=true', 'metric_time_interval=10'], { MMS_DEBUG: 'true', MMS_METRIC_TIME_INTERVAL: '99' });
    assert.equal(c.debug, true);
    assert.equal(c.metricTimeInterval, 10);
  });

  it('an empty MMS_* value still overrides', () => {
    const c = fromFile(['enable_envvars_config=true', 'load_models=ALL', 'model_store=/s'], { MMS_LOAD_MODELS: '' });
    assert.equal(c.loadModels, undefined);
    assert.equal(c.modelStore, '/s');
  });

  it('validates env override values, naming the key', () => {
    assertRejects(['enable_envvars_config=true'], 'job_queue_size', { MMS_JOB_QUEUE_SIZE: 'abc' });
  });
});

describe('loadConfig validation', () => {
  it('rejects a non-integer job_queue_size', () => {
    assertRejects(['job_queue_size=abc'], 'job_queue_size');
    assertRejects(['job_queue_size=1.5'], 'job_queue_size');
    assertRejects(['job_queue_size=10k'], 'job_queue_size');
    assertRejects(['job_queue_size=0'], 'job_queue_size');
  });

  it('rejects a negative default_workers_per_model', () => {
    assertRejects(['default_workers_per_model=-1'], 'default_workers_per_model');
  });

  it('rejects other out-of-range integers', () => {
    assertRejects(['default_response_timeout_seconds=-2'], 'default_response_timeout_seconds');
    assertRejects(['max_request_size=0'], 'max_request_size');
    assertRejects(['number_of_gpu=-3'], 'number_of_gpu');
    assertRejects(['model_load_timeout=0'], 'model_load_timeout');
    assertRejects(['response_cache_size=0'], 'response_cache_size');
    assertRejects(['response_cache_ttl=abc'], 'response_cache_ttl');
  });

  it('rejects a bad boolean', () => {
    assertRejects(['preload_model=yes'], 'preload_model');
    assertRejects(['decode_input_request=1'], 'decode_input_request');
    assertRejects(['enable_envvars_config=on'], 'enable_envvars_config');
  });

  it('rejects an invalid address', () => {
    assertRejects(['inference_address=localhost'], 'inference_address');
    assertRejects(['management_address=ftp://127.0.0.1:21'], 'management_address');
    assertRejects(['inference_address=http://127.0.0.1:99999'], 'inference_address');
  });

  it('rejects a bad regex', () => {
    assertRejects(['blacklist_env_vars=SECRET_(.*'], 'blacklist_env_vars');
    assertRejects(['allowed_urls=https://ok/.*,[unclosed'], 'allowed_urls');
  });

  it('also validates overrides', () => {
    assert.throws(
      () => loadConfig({ env: {}, overrides: { job_queue_size: 'x' } }),
      (err: unknown) => err instanceof ConfigError && /job_queue_size/.test(err.message),
    );
  });
});

describe('loadConfig warnings', () => {
  it('warns (does not fail) on unknown keys and MMS/JVM-only keys', () => {
    const c = fromFile([
      'vmargs=-Xmx128m -XX:+UseG1GC',
      'netty_client_threads=4',
      'async_logging=true',
      'plugins_path=/plugins',
      'totally_unknown_key=1',
      'job_queue_size=12',
    ]);
    assert.equal(c.jobQueueSize, 12);
    assert.equal(c.warnings.length, 5);
    assert.equal(c.numberOfFronts, 0, 'number_of_netty_threads (fronts) unset: automatic');
    for (const key of ['vmargs', 'netty_client_threads', 'async_logging', 'plugins_path', 'totally_unknown_key']) {
      assert.ok(c.warnings.some((w) => w.includes(key)), `no warning names ${key}: ${JSON.stringify(c.warnings)}`);
    }
    assert.ok(c.warnings.find((w) => w.includes('totally_unknown_key'))!.includes('unknown'));
  });

  it('does not validate the value of an ignored or unknown key', () => {
    const c = fromFile(['io_ratio=not-a-number', 'mystery=$$UNSET_VAR$$']);
    assert.equal(c.warnings.length, 2);
  });
});
describe('defaultWorkerCount', () => {
  const base = (): ServerConfig => loadConfig({ env: {} });

  it('is 1 in debug mode, whatever else is set', () => {
    assert.equal(defaultWorkerCount({ ...base(), debug: true, defaultWorkersPerModel: 4 }, 2), 1);
    assert.equal(defaultWorkerCount(fromFile(['debug=true', 'default_workers_per_model=4'])), 1);
  });

  it('uses default_workers_per_model when > 0, before GPUs', () => {
    assert.equal(defaultWorkerCount({ ...base(), defaultWorkersPerModel: 3 }, 2), 3);
    assert.equal(defaultWorkerCount(fromFile(['default_workers_per_model=2'])), 2);
  });

  it('then one worker per GPU found', () => {
    assert.equal(defaultWorkerCount({ ...base(), defaultWorkersPerModel: 0 }, 2), 2);
  });

  it('else the number of CPUs', () => {
    assert.equal(defaultWorkerCount(base()), os.availableParallelism());
  });
});
