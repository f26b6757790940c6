// OpenAPI 3.0.1 descriptions served by `OPTIONS /`, `/api-description` and `OPTIONS /predictions/{name}`
// (docs/api.md, API description). Every path comes from the one ROUTES table below;
// test/http/served-routes.test.ts holds it equal to the routes the Koa routers serve. Unlike MMS we emit typed defaults and the parameter names/values the server reads
// (`url`, lowercase runtimes, `synchronous` default true, `response_timeout` in seconds); the register and
// scale parameters come from the list the routes parse (control/registry/model-params.ts).
import { PACKAGE_VERSION } from '../package-info.js';
import { MAX_TIMER_MS } from '../config/keys.js';
import { REGISTER_PARAMS, SAVED_PARAMS, SCALE_PARAMS, type ParamSpec } from '../control/registry/model-params.js';
import { CONSOLE_ROUTES } from './openapi-console.js';

import { arr, bool, int, jsonBody, modelNameParam, obj, param, ref, str, type Apis, type Json, type Listener, type Route } from './openapi-kit.js';
import { V2_ROUTES, V2_SCHEMAS } from './openapi-v2.js';
import { OPENAI_ROUTES, OPENAI_SCHEMAS } from './openapi-openai.js';

const ERROR_TEXT: Record<number, string> = {
  400: 'Bad request (invalid parameters, archive or input).',
  404: 'Resource or model not found.',
  405: 'Method not allowed on this path.',
  408: 'Timed out while cleaning resources.',
  409: 'Model already registered.',
  413: 'Request larger than max_request_size.',
  500: 'Internal server error (e.g. worker died, failed to start workers).',
  503: 'No worker available, queue full, or the handler failed.',
  504: 'The request deadline (X-Request-Deadline-Ms) passed before the answer.',
  507: 'Out of resources.',
};
const ERROR_RESPONSE_NAME: Record<number, string> = {
  400: 'BadRequest', 404: 'NotFound', 405: 'MethodNotAllowed', 408: 'RequestTimeout', 409: 'Conflict',
  413: 'PayloadTooLarge', 500: 'InternalServerError', 503: 'ServiceUnavailable', 504: 'GatewayTimeout', 507: 'InsufficientStorage',
};

/** Success responses given as `code: [description, schema]`; error codes reference components.responses. */
function responses(ok: Record<number, [string, Json]>, errors: number[] = []): Json {
  const out: Json = {};
  for (const [code, [description, schema]] of Object.entries(ok)) {
    out[code] = { description, content: { 'application/json': { schema } } };
  }
  for (const code of errors) out[String(code)] = { $ref: `#/components/responses/${ERROR_RESPONSE_NAME[code]}` };
  return out;
}

// ---- component schemas ----------------------------------------------------------------------------

const DATATYPES = ['BOOL', 'UINT8', 'UINT16', 'UINT32', 'UINT64', 'INT8', 'INT16', 'INT32', 'INT64', 'FP16', 'FP32', 'FP64', 'BYTES'];
const shape = () => arr(int({ format: 'int64', minimum: -1 }));
const tensorData = (): Json => ({
  description: 'Tensor contents, row-major, flattened or nested. Omitted when sent as binary data.',
  oneOf: [arr({}), { type: 'number' }, str(), bool()],
});
/** A model parameter's schema, from model-params.ts (the one list the routes parse). */
function paramSchema(spec: ParamSpec): Json {
  const range = { ...(spec.min !== undefined ? { minimum: spec.min } : {}), ...(spec.max !== undefined ? { maximum: spec.max } : {}) };
  const type = spec.kind === 'int' ? int(range) : spec.kind === 'bool' ? bool() : str(spec.values ? { enum: [...spec.values] } : {});
  const from = spec.defaultFrom ? ` Default: ${spec.defaultFrom}${spec.default !== undefined ? `, else ${spec.default}` : ''}.` : '';
  return { ...type, ...(spec.default !== undefined ? { default: spec.default } : {}), description: `${spec.description}${from}` };
}
const queryParams = (specs: readonly ParamSpec[]): Json[] =>
  specs.map((spec) => {
    const { description, ...schema } = paramSchema(spec);
    return param(spec.name, 'query', schema, String(description), spec.required === true);
  });
const REGISTER_FIELDS: Json = Object.fromEntries(REGISTER_PARAMS.map((spec) => [spec.name, paramSchema(spec)]));
/** Describe's settings, by the names describe gives them (the response cache's is one object, below). */
const SHOWN_FIELDS: Json = Object.fromEntries(
  SAVED_PARAMS.filter((spec) => !spec.shown).map((spec) => {
    const { default: _, ...schema } = paramSchema(spec);
    return [spec.field, { ...schema, description: spec.description }];
  }),
);

const SCHEMAS: Json = {
  ErrorResponse: obj(
    { code: int({ description: 'HTTP status code.' }), type: str({ description: 'Error type.' }), message: str() },
    ['code', 'type', 'message'],
  ),
  StatusResponse: obj({ status: str() }, ['status']),
  PingResponse: obj({ status: str({ enum: ['Healthy', 'Partial Healthy', 'Unhealthy'] }) }, ['status']),
  ApiDescription: obj({ openapi: str(), info: obj({}), paths: obj({}), components: obj({}) }, ['openapi', 'info', 'paths']),
  RequestInput: obj(
    { name: str(), shape: shape(), datatype: str({ enum: DATATYPES }), data: tensorData(), parameters: ref('Parameters') },
    ['name', 'shape', 'datatype'],
  ),
  RequestOutput: obj({ name: str(), parameters: ref('Parameters') }, ['name']),
  Parameters: obj(
    {
      binary_data: bool({ default: false, description: 'Tensor sent as binary data after the JSON header.' }),
      binary_data_size: int({ description: 'Byte size of the binary tensor data.' }),
    },
    [],
    { additionalProperties: true },
  ),
  InferenceRequest: obj(
    { id: str(), parameters: ref('Parameters'), inputs: arr(ref('RequestInput')), outputs: arr(ref('RequestOutput')) },
    ['inputs'],
    { description: 'Open Inference Protocol (KServe v2) JSON tensor request.' },
  ),
  ResponseOutput: obj(
    { name: str(), datatype: str({ enum: DATATYPES }), shape: shape(), data: tensorData(), parameters: ref('Parameters') },
    ['name', 'datatype', 'shape'],
  ),
  InferenceResponse: obj(
    { model_name: str(), model_version: str(), id: str(), parameters: ref('Parameters'), outputs: arr(ref('ResponseOutput')) },
    ['model_name', 'outputs'],
  ),
  RegisterModelRequest: obj(REGISTER_FIELDS, REGISTER_PARAMS.filter((spec) => spec.required).map((spec) => spec.name)),
  Worker: obj({
    id: str(),
    startTime: str({ description: "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'" }),
    status: str({ enum: ['READY', 'UNLOADING'] }),
    gpu: bool(),
    memoryUsage: int({ format: 'int64', description: 'Worker RSS in bytes.' }),
    pid: int(),
    cpus: str({ description: 'cpu_affinity: the CPUs its process is pinned to, e.g. "2-3".' }),
    cpusShared: bool({ description: 'cpu_affinity: another pinned worker holds one of these CPUs (more pinned workers than CPUs).' }),
  }),
  DescribeModelResponse: obj(
    {
      modelName: str(), modelVersion: str(), modelUrl: str(), minWorkers: int(), maxWorkers: int(), targetWorkers: int(),
      loadedAtStartup: bool(), workers: arr(ref('Worker')),
      isDefault: bool({ description: 'A versioned model: whether unversioned requests reach this version.' }),
      ...SHOWN_FIELDS,
      responseCache: obj({ sizeBytes: int(), ttlSeconds: int() }, ['sizeBytes', 'ttlSeconds'], { description: 'Present when the response cache is on.' }),
      contentHash: str({ description: 'Hot reload (model_watch_interval), a model from the store: SHA-256 (hex) of the content serving.' }),
      loadedAt: str({ description: 'Hot reload: when that content started serving (ISO time).' }),
    },
    ['modelName', 'modelUrl', 'minWorkers', 'maxWorkers', 'batchSize', 'maxBatchDelay', 'loadedAtStartup', 'workers'],
  ),
  ListModelsResponse: obj(
    {
      nextPageToken: str({ description: 'Offset of the next page; present while more models may follow.' }),
      models: arr(obj({ modelName: str(), modelUrl: str(), modelVersion: str(), isDefault: bool() }, ['modelName', 'modelUrl'])),
    },
    ['models'],
  ),
};

function components(): Json {
  const errorResponses: Json = {};
  for (const [code, name] of Object.entries(ERROR_RESPONSE_NAME)) {
    errorResponses[name] = { description: ERROR_TEXT[Number(code)], content: { 'application/json': { schema: ref('ErrorResponse') } } };
  }
  return { schemas: structuredClone({ ...SCHEMAS, ...V2_SCHEMAS, ...OPENAI_SCHEMAS }), responses: errorResponses };
}

// ---- operations -----------------------------------------------------------------------------------

function apiDescriptionOp(deprecated = false): Json {
  return {
    operationId: 'apiDescription',
    summary: 'OpenAPI description of the APIs served on this listener.',
    ...(deprecated ? { deprecated: true } : {}),
    responses: responses({ 200: ['OpenAPI 3.0.1 document.', ref('ApiDescription')] }, [500]),
  };
}

function inferenceBody(): Json {
  const binary = { type: 'string', format: 'binary' };
  return {
    description: 'Model input. Open Inference Protocol JSON, its binary-data extension, form fields, or raw bytes.',
    required: true,
    content: {
      'application/json': { schema: ref('InferenceRequest') },
      'application/octet-stream': {
        schema: { ...binary, description: 'JSON InferenceRequest header of Inference-Header-Content-Length bytes, then the binary tensor data.' },
      },
      'multipart/form-data': {
        schema: { type: 'object', additionalProperties: binary, description: 'Every form field becomes a named input.' },
      },
      '*/*': { schema: { ...binary, description: 'Raw body handed to the handler as the input named "body".' } },
    },
  };
}

function inferenceOp(operationId: string, params: Json[], summary: string): Json {
  const ok = {
    description: 'Inference result: v2 JSON for tensor requests, otherwise whatever the handler returns.',
    content: {
      'application/json': { schema: ref('InferenceResponse') },
      'application/octet-stream': { schema: { type: 'string', format: 'binary' } },
      '*/*': { schema: { type: 'string', format: 'binary' } },
    },
  };
  const headerLength = param('Inference-Header-Content-Length', 'header', int({ minimum: 0 }),
    'Binary-data extension: byte length of the JSON header at the start of an application/octet-stream body.');
  const deadline = param('X-Request-Deadline-Ms', 'header', int({ minimum: 1, maximum: MAX_TIMER_MS }),
    'Milliseconds from arrival after which the request is answered 504 and, if not started, never run.');
  return {
    operationId,
    summary,
    parameters: [...params, headerLength, deadline],
    requestBody: inferenceBody(),
    responses: { 200: ok, ...responses({}, [400, 404, 413, 500, 503, 504]) },
  };
}

const versionParam = () => param('model_version', 'path', str(), 'Version of the model.');
const workerUpdate = (): Record<number, [string, Json]> => ({
  200: ['Workers scaled, or model registered without workers.', ref('StatusResponse')],
  202: ['Accepted; worker updates are processing.', ref('StatusResponse')],
  210: ['Partial success; workers are still starting.', ref('StatusResponse')],
});

const OPS = {
  ping: (): Json => ({
    operationId: 'ping',
    summary: 'Health of the model workers.',
    responses: responses({ 200: ['Health status.', ref('PingResponse')] }, [500]),
  }),
  predictions: () => inferenceOp('predictions', [modelNameParam()], 'Run inference on a model.'),
  versionPredictions: () =>
    inferenceOp('versionPredictions', [modelNameParam(), versionParam()], 'Run inference on a model version.'),
  predictionsApi: (): Json => ({
    operationId: 'predictionsApi',
    summary: 'OpenAPI description of one model.',
    parameters: [modelNameParam()],
    responses: responses({ 200: ['OpenAPI 3.0.1 document for the model.', ref('ApiDescription')] }, [404, 500]),
  }),
  invocations: () =>
    inferenceOp('invocations', [param('model_name', 'query', str(),
      'Model to use; may be omitted when exactly one model was loaded at startup.')], 'SageMaker-style inference.'),
  invoke: () => inferenceOp('invocations', [modelNameParam()], 'SageMaker-style inference on a named model.'),
  listModels: (): Json => ({
    operationId: 'listModels',
    summary: 'List registered models, sorted by name.',
    parameters: [
      param('limit', 'query', int({ default: 100, minimum: 0, maximum: 100 }), 'Page size; out-of-range values become 100.'),
      param('next_page_token', 'query', str(), 'Offset returned as nextPageToken by the previous page.'),
    ],
    responses: responses({ 200: ['Page of models.', ref('ListModelsResponse')] }, [400, 500]),
  }),
  registerModel: (): Json => ({
    operationId: 'registerModel',
    summary: 'Register a model; fields come from the query string or an application/json body.',
    parameters: queryParams(REGISTER_PARAMS),
    requestBody: jsonBody(ref('RegisterModelRequest'), 'Same fields as the query parameters (the query is then ignored).', false),
    responses: responses(workerUpdate(), [400, 404, 409, 500, 507]),
  }),
  describeModel: (): Json => ({
    operationId: 'describeModel',
    summary: 'Describe a model and its workers: an object for one version, an array of them for several.',
    parameters: [modelNameParam()],
    responses: responses({ 200: ['Model description.', { oneOf: [ref('DescribeModelResponse'), arr(ref('DescribeModelResponse'))] }] }, [404, 500]),
  }),
  describeModelVersion: (): Json => ({
    operationId: 'describeModelVersion',
    summary: 'Describe one version of a model and its workers.',
    parameters: [modelNameParam(), versionParam()],
    responses: responses({ 200: ['Model version description.', ref('DescribeModelResponse')] }, [404, 500]),
  }),
  setDefaultVersion: (): Json => ({
    operationId: 'setDefaultVersion',
    summary: 'Make this version the one unversioned requests reach.',
    parameters: [modelNameParam(), versionParam()],
    responses: responses({ 200: ['Default version set.', ref('StatusResponse')] }, [404, 500]),
  }),
  setAutoScale: (version = false): Json => ({
    operationId: version ? 'setAutoScaleVersion' : 'setAutoScale',
    summary: version ? "Scale a model version's workers." : "Scale a model's (default version's) workers.",
    parameters: [
      modelNameParam(),
      ...(version ? [versionParam()] : []),
      ...queryParams(SCALE_PARAMS),
    ],
    responses: responses(workerUpdate(), [400, 404, 500, 507]),
  }),
  unregisterModel: (version = false): Json => ({
    operationId: version ? 'unregisterModelVersion' : 'unregisterModel',
    summary: 'Unregister a model (version) and stop its workers; the default version only when it is the last (409).',
    parameters: [modelNameParam(), ...(version ? [versionParam()] : [])],
    responses: responses({ 200: ['Model unregistered.', ref('StatusResponse')] }, [404, 408, 409, 500]),
  }),
};

const BOTH: readonly Listener[] = ['inference', 'management'];
const INF: readonly Listener[] = ['inference'];
const MGMT: readonly Listener[] = ['management'];

/** The single source of truth for what each listener serves (and describes). */
const ROUTES: readonly Route[] = [
  { method: 'options', path: '/', on: BOTH, op: () => apiDescriptionOp() },
  { method: 'get', path: '/api-description', on: BOTH, op: () => apiDescriptionOp(true) },
  ...CONSOLE_ROUTES,
  { method: 'get', path: '/ping', on: INF, op: OPS.ping },
  { method: 'post', path: '/predictions/{model_name}', on: INF, op: OPS.predictions },
  { method: 'put', path: '/predictions/{model_name}', on: INF, op: OPS.predictions },
  { method: 'options', path: '/predictions/{model_name}', on: INF, op: OPS.predictionsApi },
  { method: 'post', path: '/predictions/{model_name}/{model_version}', on: INF, op: OPS.versionPredictions },
  { method: 'put', path: '/predictions/{model_name}/{model_version}', on: INF, op: OPS.versionPredictions },
  { method: 'post', path: '/invocations', on: INF, op: OPS.invocations },
  { method: 'post', path: '/models/{model_name}/invoke', on: INF, op: OPS.invoke },
  { method: 'get', path: '/models', on: MGMT, op: OPS.listModels },
  { method: 'post', path: '/models', on: MGMT, op: OPS.registerModel },
  { method: 'get', path: '/models/{model_name}', on: MGMT, op: OPS.describeModel },
  { method: 'put', path: '/models/{model_name}', on: MGMT, op: () => OPS.setAutoScale() },
  { method: 'delete', path: '/models/{model_name}', on: MGMT, op: () => OPS.unregisterModel() },
  { method: 'get', path: '/models/{model_name}/{model_version}', on: MGMT, op: OPS.describeModelVersion },
  { method: 'put', path: '/models/{model_name}/{model_version}', on: MGMT, op: () => OPS.setAutoScale(true) },
  { method: 'delete', path: '/models/{model_name}/{model_version}', on: MGMT, op: () => OPS.unregisterModel(true) },
  { method: 'put', path: '/models/{model_name}/{model_version}/set-default', on: MGMT, op: OPS.setDefaultVersion },
  ...V2_ROUTES,
  ...OPENAI_ROUTES,
];

function document(title: string, description: string, paths: Json): Json {
  return { openapi: '3.0.1', info: { title, description, version: PACKAGE_VERSION }, paths, components: components() };
}

/** The listener's OpenAPI document (`OPTIONS /`, `/api-description`); both flags set gives the union. */
export function apiDescription(apis: Apis): Record<string, unknown> {
  const paths: Record<string, Json> = {};
  for (const r of ROUTES) {
    if (!r.on.some((l) => apis[l])) continue;
    (paths[r.path] ??= {})[r.method] = r.op();
  }
  const which = [apis.inference ? 'inference' : '', apis.management ? 'management' : ''].filter(Boolean).join(' and ');
  return document(
    'Model Server APIs',
    `Model server ${which || 'no'} APIs: MMS-compatible, the Open Inference Protocol (KServe v2) under /v2, and OpenAI-compatible embeddings under /v1 (inference). Errors use the ErrorResponse schema, on /v2 routes V2Error, on /v1 routes OpenAiError.`,
    paths,
  );
}

/** Per-model document for `OPTIONS /predictions/{name}`: a single concrete post operation. */
export function modelApiDescription(model: { name: string; version?: string }): Record<string, unknown> {
  const op = inferenceOp(model.name, [], `Run inference on model ${model.name}.`);
  const version = model.version !== undefined ? ` version ${model.version}` : '';
  return document(
    `RESTful API for: ${model.name}`,
    `Inference API for model ${model.name}${version}.`,
    { [`/predictions/${encodeURIComponent(model.name)}`]: { post: op } },
  );
}
