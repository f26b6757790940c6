// model-settings.ts: registration parameters, manifest and configuration → a model's settings, and
// the rules each may break (no server, no files, no processes).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Manifest, ManifestModel } from '../../protocol/manifest.js';
import { MAX_RESPONSE_TIMEOUT_S, MAX_TIMER_MS } from '../../frontend/config/keys.js';
import { ServerError } from '../../frontend/errors.js';
import {
  MAX_NAME_LENGTH, MAX_WORKERS, checkRegisterParams, checkWorkerCount, modelName, modelSettings,
  type RegisterParams, type SettingsConfig,
} from '../../frontend/control/registry/model-settings.js';

const config: SettingsConfig = {
  defaultWorkersPerModel: 1, responseTimeout: 120, defaultServiceHandler: undefined, executionProvider: 'auto', preloadModel: false, preloadSessions: 1,
  loadOnFirstRequest: false, modelIdleTimeoutMs: 0, cpuAffinity: false,
  responseCache: { sizeBytes: 1000, ttlSeconds: 60 },
};
const params = (p: Partial<RegisterParams> = {}): RegisterParams => ({ url: 'm.mar', synchronous: true, ...p });
const manifest = (model: ManifestModel = {}, runtime: Manifest['runtime'] = 'onnx'): Manifest => ({ runtime, model });

function rejects(fn: () => unknown, status: number, type: string, message: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ServerError, `not a ServerError: ${String(err)}`);
    assert.equal(err.status, status);
    assert.equal(err.type, type);
    assert.match(err.message, message);
    return true;
  });
}

describe('modelSettings', () => {
  it('takes the defaults when neither parameters nor manifest say more', () => {
    assert.deepEqual(modelSettings(params({ modelName: 'm' }), manifest(), config), {
      name: 'm', version: undefined, runtime: 'onnx', handler: 'onnx', batchSize: 1, maxBatchDelay: 100,
      responseTimeout: 120, loadedAtStartup: false, retryOnWorkerDeath: true, executionProvider: 'auto', preload: false, sessions: 1,
      lazy: false, idleTimeoutMs: 0, cpuAffinity: false,
    });
  });

  it('cpu_affinity: the parameter, else the config key', () => {
    assert.equal(modelSettings(params({ modelName: 'm' }), manifest(), { ...config, cpuAffinity: true }).cpuAffinity, true);
    assert.equal(modelSettings(params({ modelName: 'm', cpuAffinity: false }), manifest(), { ...config, cpuAffinity: true }).cpuAffinity, false);
    assert.equal(modelSettings(params({ modelName: 'm', cpuAffinity: true }), manifest(), config).cpuAffinity, true);
  });

  it('the manifest overrides the defaults', () => {
    const s = modelSettings(params(), manifest({
      modelName: 'from-manifest', modelVersion: '2.0', handler: 'image_classifier', batchSize: 8, maxBatchDelay: 5, retryOnWorkerDeath: false,
    }), config);
    assert.deepEqual(
      [s.name, s.version, s.handler, s.batchSize, s.maxBatchDelay, s.retryOnWorkerDeath],
      ['from-manifest', '2.0', 'image_classifier', 8, 5, false],
    );
  });

  it('the parameters override the manifest', () => {
    const s = modelSettings(
      params({ modelName: 'p', handler: 'tensor', batchSize: 4, maxBatchDelay: 0, responseTimeout: 7, loadedAtStartup: true }),
      manifest({ modelName: 'from-manifest', handler: 'image_classifier', batchSize: 8, maxBatchDelay: 5 }),
      config,
    );
    assert.deepEqual(
      [s.name, s.handler, s.batchSize, s.maxBatchDelay, s.responseTimeout, s.loadedAtStartup],
      ['p', 'tensor', 4, 0, 7, true],
    );
  });

  it('the runtime parameter overrides the manifest runtime', () => {
    const s = modelSettings(params({ modelName: 'm', runtime: 'node' }), manifest({ handler: 'handler.js' }), config);
    assert.equal(s.runtime, 'node');
    assert.equal(s.handler, 'handler.js');
  });

  it('default_service_handler comes before the built-in onnx handler', () => {
    const s = modelSettings(params({ modelName: 'm' }), manifest(), { ...config, defaultServiceHandler: 'tensor' });
    assert.equal(s.handler, 'tensor');
    assert.equal(modelSettings(params({ modelName: 'm' }), manifest({ handler: 'ocr' }), { ...config, defaultServiceHandler: 'tensor' }).handler, 'ocr');
  });

  it('a manifest batch size below 1 counts as 1', () => {
    assert.equal(modelSettings(params({ modelName: 'm' }), manifest({ batchSize: 0 }), config).batchSize, 1);
  });

  it('runtime node needs a handler: there is no built-in default', () => {
    rejects(() => modelSettings(params({ modelName: 'm' }), manifest({}, 'node'), config), 400, 'InvalidModelException', /Model handler is not defined/);
  });

  it('runtime onnx takes only built-in handlers', () => {
    rejects(() => modelSettings(params({ modelName: 'm' }), manifest({ handler: 'my.js' }), config), 400, 'InvalidModelException', /Unknown handler "my.js" for runtime onnx/);
  });

  it('a manifest maxBatchDelay past what a timer holds is refused', () => {
    rejects(() => modelSettings(params({ modelName: 'm' }), manifest({ maxBatchDelay: MAX_TIMER_MS + 1 }), config), 400, 'InvalidModelException', /maxBatchDelay/);
  });
});

describe('modelName', () => {
  it('model_name, else the manifest, else the start-up default', () => {
    assert.equal(modelName(params({ modelName: 'a', defaultName: 'c' }), manifest({ modelName: 'b' })), 'a');
    assert.equal(modelName(params({ defaultName: 'c' }), manifest({ modelName: 'b' })), 'b');
    assert.equal(modelName(params({ defaultName: 'c' }), manifest()), 'c');
  });

  it('no name anywhere is an invalid model', () => {
    rejects(() => modelName(params(), manifest()), 400, 'InvalidModelException', /Model name is not defined/);
  });

  it('a manifest name is held to the same rule as model_name', () => {
    rejects(() => modelName(params(), manifest({ modelName: '../x' })), 400, 'BadRequestException', /Invalid model name/);
    rejects(() => modelName(params(), manifest({ modelName: 'x'.repeat(MAX_NAME_LENGTH + 1) })), 400, 'BadRequestException', /at most 64 characters/);
    assert.equal(modelName(params(), manifest({ modelName: 'x'.repeat(MAX_NAME_LENGTH) })), 'x'.repeat(MAX_NAME_LENGTH));
  });
});

describe('checkRegisterParams', () => {
  it('answers the workers to start: initial_workers, else default_workers_per_model', () => {
    assert.equal(checkRegisterParams(params(), config), 1);
    assert.equal(checkRegisterParams(params({ initialWorkers: 0 }), config), 0);
    assert.equal(checkRegisterParams(params({ initialWorkers: 3 }), { ...config, defaultWorkersPerModel: 0 }), 3);
  });

  it('refuses an unknown runtime', () => {
    rejects(() => checkRegisterParams(params({ runtime: 'python' }), config), 400, 'BadRequestException', /Invalid RuntimeType value: python/);
  });

  it('refuses a bad model_name before anything is fetched', () => {
    rejects(() => checkRegisterParams(params({ modelName: 'a b' }), config), 400, 'BadRequestException', /Invalid model name "a b"/);
    rejects(() => checkRegisterParams(params({ modelName: '-a' }), config), 400, 'BadRequestException', /starting with a letter or digit/);
  });

  it('bounds every number at what a timer or the batch holds', () => {
    const bad: Array<[Partial<RegisterParams>, RegExp]> = [
      [{ initialWorkers: -1 }, /initial_workers must be an integer between 0 and 256, got -1/],
      [{ initialWorkers: MAX_WORKERS + 1 }, /initial_workers/],
      [{ initialWorkers: 1.5 }, /initial_workers/],
      [{ responseTimeout: 0 }, /response_timeout must be between 1/],
      [{ responseTimeout: MAX_RESPONSE_TIMEOUT_S + 1 }, /response_timeout/],
      [{ batchSize: 0 }, /batch_size must be between 1 and 1024/],
      [{ batchSize: 1025 }, /batch_size/],
      [{ maxBatchDelay: -1 }, /max_batch_delay must be between 0/],
      [{ maxBatchDelay: MAX_TIMER_MS + 1 }, /max_batch_delay/],
      [{ executionProvider: 'tpu' }, /execution_provider must be one of auto, cpu, cuda, webgpu, got "tpu"/],
      [{ preloadSessions: 0 }, /preload_sessions must be between 1 and 16/],
      [{ preloadSessions: 17 }, /preload_sessions/],
    ];
    for (const [p, message] of bad) rejects(() => checkRegisterParams(params(p), config), 400, 'BadRequestException', message);
    const edges = { initialWorkers: MAX_WORKERS, responseTimeout: MAX_RESPONSE_TIMEOUT_S, batchSize: 1024, maxBatchDelay: MAX_TIMER_MS };
    assert.equal(checkRegisterParams(params(edges), config), MAX_WORKERS);
  });

  it('a default_workers_per_model out of range is caught too', () => {
    rejects(() => checkRegisterParams(params(), { ...config, defaultWorkersPerModel: MAX_WORKERS + 1 }), 400, 'BadRequestException', /initial_workers/);
  });
});

describe('execution provider and sharing settings', () => {
  it('take the registration, then the manifest, then the configuration', () => {
    assert.equal(modelSettings(params({ modelName: 'm' }), manifest(), config).executionProvider, 'auto');
    assert.equal(modelSettings(params({ modelName: 'm' }), manifest(), { ...config, executionProvider: 'cpu' }).executionProvider, 'cpu');
    assert.equal(modelSettings(params({ modelName: 'm' }), manifest({ executionProvider: 'cuda' }), { ...config, executionProvider: 'cpu' }).executionProvider, 'cuda');
    assert.equal(modelSettings(params({ modelName: 'm', executionProvider: 'cpu' }), manifest({ executionProvider: 'cuda' }), config).executionProvider, 'cpu');
    const shared = modelSettings(params({ modelName: 'm', preloadModel: true, preloadSessions: 3 }), manifest(), config);
    assert.deepEqual([shared.preload, shared.sessions], [true, 3]);
    const byConfig = modelSettings(params({ modelName: 'm' }), manifest(), { ...config, preloadModel: true, preloadSessions: 2 });
    assert.deepEqual([byConfig.preload, byConfig.sessions], [true, 2]);
    assert.equal(modelSettings(params({ modelName: 'm', preloadModel: false }), manifest(), { ...config, preloadModel: true }).preload, false);
  });

  it('refuse a manifest provider the server does not know', () => {
    rejects(() => modelSettings(params({ modelName: 'm' }), manifest({ executionProvider: 'tpu' }), config), 400, 'InvalidModelException', /model\.executionProvider must be one of/);
  });
});

describe('checkWorkerCount', () => {
  it('names the parameter it checks', () => {
    rejects(() => checkWorkerCount('min_worker', -2), 400, 'BadRequestException', /^min_worker must be an integer/);
    checkWorkerCount('max_worker', 0);
  });
});
