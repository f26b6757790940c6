// SageMaker's environment → config keys (frontend/sagemaker/sagemaker-env.ts; docs/deploy.md, The
// `serve` entrypoint), and the result through loadConfig as the entrypoint runs it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../../frontend/config/server-config.js';
import { sageMakerStart } from '../../frontend/sagemaker/sagemaker-env.js';

describe('SageMaker environment', () => {
  it('multi-model: one address for both APIs on SAGEMAKER_BIND_TO_PORT, models under /opt/ml/models', () => {
    const { multiModel, overrides } = sageMakerStart({ SAGEMAKER_MULTI_MODEL: 'TRUE', SAGEMAKER_BIND_TO_PORT: '9000', SAGEMAKER_SAFE_PORT_RANGE: '9000-9010' });
    assert.equal(multiModel, true);
    assert.equal(overrides.inference_address, 'http://0.0.0.0:9000');
    assert.equal(overrides.grpc_inference_address, 'off', 'no port outside SageMaker\'s');
    assert.equal(overrides.management_address, 'http://0.0.0.0:9000');
    assert.equal(overrides.metrics_address, 'http://0.0.0.0:9001', 'the second port comes from the safe range');
    assert.equal(overrides.model_store, '/opt/ml/models');
    assert.equal(overrides.load_models, undefined);
    assert.equal(overrides.default_workers_per_model, '1');
  });

  it('single-model: /opt/ml/model loaded at start; defaults as the toolkit sets them', () => {
    const { multiModel, overrides } = sageMakerStart({});
    assert.equal(multiModel, false);
    assert.equal(overrides.inference_address, 'http://0.0.0.0:8080');
    assert.equal(overrides.metrics_address, undefined, 'no safe range: the configured metrics address');
    assert.equal(overrides.load_models, 'model=/opt/ml/model');
    assert.equal(overrides.default_response_timeout, '60');
  });

  it('timeouts, workers and payload size; MMS_* still win over them', () => {
    const env = {
      SAGEMAKER_MULTI_MODEL: 'true', SAGEMAKER_MODEL_SERVER_TIMEOUT: '5', SAGEMAKER_MODEL_SERVER_TIMEOUT_SECONDS: '90',
      SAGEMAKER_MODEL_SERVER_WORKERS: '3', SAGEMAKER_MAX_PAYLOAD_IN_MB: '2', MMS_BIND_HOST: '127.0.0.1', MMS_JOB_QUEUE_SIZE: '7',
    };
    const config = loadConfig({ env, configFile: undefined, overrides: sageMakerStart(env).overrides });
    assert.equal(config.responseTimeout, 90, 'the seconds key wins');
    assert.equal(config.defaultWorkersPerModel, 3);
    assert.equal(config.maxRequestSize, 2 * 2 ** 20);
    assert.equal(config.jobQueueSize, 7, 'env overrides are on');
    assert.deepEqual([config.inferenceAddress, config.managementAddress].map((a) => a.kind === 'tcp' && `${a.host}:${a.port}`), ['127.0.0.1:8080', '127.0.0.1:8080']);
    assert.equal(loadConfig({ env: { SAGEMAKER_MODEL_SERVER_TIMEOUT: '5' }, overrides: sageMakerStart({ SAGEMAKER_MODEL_SERVER_TIMEOUT: '5' }).overrides }).responseTimeout, 300, 'minutes, as MMS reads it');
  });

  it('refuses bad values with a message naming the variable', () => {
    assert.throws(() => sageMakerStart({ SAGEMAKER_BIND_TO_PORT: 'http' }), /SAGEMAKER_BIND_TO_PORT must be an integer between 1 and 65535, got "http"/);
    assert.throws(() => sageMakerStart({ SAGEMAKER_SAFE_PORT_RANGE: '9000' }), /SAGEMAKER_SAFE_PORT_RANGE must be "low-high"/);
    assert.throws(() => sageMakerStart({ SAGEMAKER_BIND_TO_PORT: '9000', SAGEMAKER_SAFE_PORT_RANGE: '9000-9000' }), /has no port besides 9000/);
    assert.throws(() => sageMakerStart({ SAGEMAKER_MAX_PAYLOAD_IN_MB: '-1' }), /SAGEMAKER_MAX_PAYLOAD_IN_MB must be an integer/);
  });
});
