// SageMaker's environment → our configuration, as the SageMaker inference toolkit maps it for MMS
// (docs/deploy.md, SageMaker; spec: the toolkit's generated config.properties). Pure: the result is
// handed to the same loadConfig as every other start, with MMS_* overrides still on top.
import type { Key } from '../config/keys.js';

/** Where SageMaker puts models: one per directory under MODELS (multi-model), or MODEL (single). */
export const SAGEMAKER_ML = '/opt/ml';
export const SAGEMAKER_MODELS = '/opt/ml/models';
export const SAGEMAKER_MODEL = '/opt/ml/model';

export class SageMakerEnvError extends Error {
  override name = 'SageMakerEnvError';
}

export interface SageMakerStart {
  multiModel: boolean;
  overrides: Partial<Record<Key, string>>;
}

export function sageMakerStart(env: NodeJS.ProcessEnv): SageMakerStart {
  const port = portOf('SAGEMAKER_BIND_TO_PORT', env.SAGEMAKER_BIND_TO_PORT || '8080');
  // A container must listen on all interfaces to be reached; MMS_BIND_HOST narrows it (tests: loopback).
  const host = env.MMS_BIND_HOST || '0.0.0.0';
  const url = (p: number) => `http://${host.includes(':') ? `[${host}]` : host}:${p}`;
  const multiModel = (env.SAGEMAKER_MULTI_MODEL ?? '').toLowerCase() === 'true';
  const o: Partial<Record<Key, string>> = {
    enable_envvars_config: 'true',
    decode_input_request: 'false',
    // One listener for both APIs: SageMaker sends /ping, /invocations and /models/... to one port.
    inference_address: url(port),
    management_address: url(port),
    // SageMaker allows no port outside SAGEMAKER_BIND_TO_PORT and its safe range: no gRPC listener.
    grpc_inference_address: 'off',
    // The toolkit's default: 60, which MMS reads as minutes.
    default_response_timeout: env.SAGEMAKER_MODEL_SERVER_TIMEOUT || '60',
  };
  if (env.SAGEMAKER_SAFE_PORT_RANGE) o.metrics_address = url(secondPort(env.SAGEMAKER_SAFE_PORT_RANGE, port));
  if (env.SAGEMAKER_MODEL_SERVER_TIMEOUT_SECONDS) o.default_response_timeout_seconds = env.SAGEMAKER_MODEL_SERVER_TIMEOUT_SECONDS;
  if (multiModel) {
    o.model_store = SAGEMAKER_MODELS;
    o.default_workers_per_model = '1';
  } else {
    o.model_store = SAGEMAKER_ML;
    o.load_models = `model=${SAGEMAKER_MODEL}`;
  }
  if (env.SAGEMAKER_MODEL_SERVER_WORKERS) o.default_workers_per_model = env.SAGEMAKER_MODEL_SERVER_WORKERS;
  if (env.SAGEMAKER_MAX_PAYLOAD_IN_MB) {
    o.max_request_size = String(integer('SAGEMAKER_MAX_PAYLOAD_IN_MB', env.SAGEMAKER_MAX_PAYLOAD_IN_MB, 1, 2 ** 20) * 2 ** 20);
  }
  return { multiModel, overrides: o };
}

function integer(name: string, value: string, min: number, max: number): number {
  const n = /^\s*\d+\s*$/.test(value) ? Number(value) : NaN;
  if (!(n >= min && n <= max)) throw new SageMakerEnvError(`${name} must be an integer between ${min} and ${max}, got "${value}"`);
  return n;
}

function portOf(name: string, value: string): number {
  return integer(name, value, 1, 65535);
}

/** The metrics listener's port: the first of SAGEMAKER_SAFE_PORT_RANGE ("lo-hi") that is not the main one. */
function secondPort(range: string, main: number): number {
  const m = /^\s*(\d+)\s*-\s*(\d+)\s*$/.exec(range);
  if (!m) throw new SageMakerEnvError(`SAGEMAKER_SAFE_PORT_RANGE must be "low-high", got "${range}"`);
  const lo = portOf('SAGEMAKER_SAFE_PORT_RANGE', m[1]);
  const hi = portOf('SAGEMAKER_SAFE_PORT_RANGE', m[2]);
  const port = lo === main ? lo + 1 : lo;
  if (port > hi) throw new SageMakerEnvError(`SAGEMAKER_SAFE_PORT_RANGE ${range} has no port besides ${main}`);
  return port;
}
