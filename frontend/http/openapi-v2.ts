// The OpenAPI description of the Open Inference Protocol's REST routes (inference listener), Triton's
// repository extension (management listener) and the interactive API page (both); merged into the
// route table and components of openapi.ts. The tensor request/response schemas are openapi.ts's.
import { arr, bool, int, modelNameParam, obj, param, ref, str, type Json, type Route } from './openapi-kit.js';

const v2Error = (description: string): Json => ({ description, content: { 'application/json': { schema: ref('V2Error') } } });
const ok = (description: string, schema: Json): Json => ({ description, content: { 'application/json': { schema } } });
const versionParam = (): Json => param('model_version', 'path', str(), 'Version of the model (must equal its modelVersion).');

export const V2_SCHEMAS: Json = {
  V2Error: obj({ error: str() }, ['error'], { description: 'Open Inference Protocol error body.' }),
  V2ServerMetadata: obj({ name: str(), version: str(), extensions: arr(str()) }, ['name', 'version', 'extensions']),
  V2TensorMetadata: obj({ name: str(), datatype: str(), shape: arr(int({ format: 'int64', minimum: -1 })) }, ['name', 'datatype', 'shape']),
  V2ModelMetadata: obj(
    { name: str(), versions: arr(str()), platform: str(), inputs: arr(ref('V2TensorMetadata')), outputs: arr(ref('V2TensorMetadata')) },
    ['name', 'platform', 'inputs', 'outputs'],
  ),
  V2RepositoryIndexEntry: obj(
    { name: str(), version: str(), state: str({ enum: ['READY', 'LOADING', 'UNAVAILABLE'] }), reason: str() },
    ['name', 'state', 'reason'],
  ),
};

type Variant = 'plain' | 'version';
const modelParams = (v: Variant): Json[] => (v === 'version' ? [modelNameParam(), versionParam()] : [modelNameParam()]);
const suffix = (v: Variant) => (v === 'version' ? 'Version' : '');

const OPS = {
  live: (): Json => ({
    operationId: 'v2ServerLive',
    summary: 'Open Inference Protocol: the server is live.',
    responses: { 200: ok('Live.', obj({ live: bool() })) },
  }),
  ready: (): Json => ({
    operationId: 'v2ServerReady',
    summary: 'Open Inference Protocol: every model that should run workers has a live one, and the server is not stopping.',
    responses: { 200: ok('Ready.', obj({ ready: bool() })), 400: v2Error('Not ready.') },
  }),
  metadata: (): Json => ({
    operationId: 'v2ServerMetadata',
    summary: 'Open Inference Protocol: server name, version and extensions.',
    responses: { 200: ok('Server metadata.', ref('V2ServerMetadata')) },
  }),
  modelMetadata: (v: Variant) => (): Json => ({
    operationId: `v2ModelMetadata${suffix(v)}`,
    summary: 'Open Inference Protocol: the model\'s inputs and outputs (names, datatypes, shapes; -1 for dynamic dimensions).',
    parameters: modelParams(v),
    responses: { 200: ok('Model metadata.', ref('V2ModelMetadata')), 400: v2Error('Not loaded yet.'), 401: v2Error('Token authorization failed.'), 404: v2Error('Unknown model or version.') },
  }),
  modelReady: (v: Variant) => (): Json => ({
    operationId: `v2ModelReady${suffix(v)}`,
    summary: 'Open Inference Protocol: the model has a live worker.',
    parameters: modelParams(v),
    responses: { 200: ok('Ready.', obj({ name: str(), ready: bool() })), 400: v2Error('Loading, failed to load, or no worker.'), 404: v2Error('Unknown model or version.') },
  }),
  infer: (v: Variant) => (): Json => ({
    operationId: `v2ModelInfer${suffix(v)}`,
    summary: 'Open Inference Protocol: inference (JSON, or the binary-data extension with Inference-Header-Content-Length).',
    parameters: [
      ...modelParams(v),
      param('Inference-Header-Content-Length', 'header', int({ minimum: 0 }), 'Binary-data extension: byte length of the JSON header at the start of the body.'),
    ],
    requestBody: {
      required: true,
      content: {
        'application/json': { schema: ref('InferenceRequest') },
        'application/octet-stream': { schema: { type: 'string', format: 'binary', description: 'JSON InferenceRequest header, then the binary tensor data.' } },
      },
    },
    responses: {
      200: { description: 'Inference response.', content: { 'application/json': { schema: ref('InferenceResponse') }, 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } } },
      400: v2Error('Bad tensor request (names the problem), or not a tensor model.'),
      401: v2Error('Token authorization failed.'),
      404: v2Error('Unknown model or version.'),
      413: v2Error('Request larger than max_request_size.'),
      500: v2Error('Worker failure or timeout.'),
      503: v2Error('Queue full or no worker (Retry-After: 1).'),
    },
  }),
  repositoryIndex: (): Json => ({
    operationId: 'v2RepositoryIndex',
    summary: 'Model repository extension: registered models and model_store entries, with their state.',
    requestBody: { required: false, content: { 'application/json': { schema: obj({ ready: bool({ description: 'Only READY models.' }) }) } } },
    responses: { 200: ok('Index.', arr(ref('V2RepositoryIndexEntry'))), 400: v2Error('Malformed body.') },
  }),
  repositoryLoad: (): Json => ({
    operationId: 'v2RepositoryModelLoad',
    summary: 'Model repository extension: register the model_store entry of this name (or make a registered model run a worker), waiting for its workers.',
    parameters: [modelNameParam()],
    requestBody: {
      required: false,
      content: { 'application/json': { schema: obj({ parameters: obj({
        url: str(), handler: str(), runtime: str(), batch_size: int(), max_batch_delay: int(), initial_workers: int(), response_timeout: int(),
      }) }) } },
    },
    responses: { 200: ok('Loaded.', obj({ name: str(), load: bool() })), 400: v2Error('Bad parameter or archive.'), 404: v2Error('No such model_store entry.'), 409: v2Error('Name taken.'), 500: v2Error('Workers failed to start.') },
  }),
  repositoryUnload: (): Json => ({
    operationId: 'v2RepositoryModelUnload',
    summary: 'Model repository extension: unregister the model.',
    parameters: [modelNameParam()],
    responses: { 200: ok('Unloaded.', obj({ name: str(), unload: bool() })), 404: v2Error('Unknown model.'), 408: v2Error('Timed out while cleaning resources.') },
  }),
  apiPage: (): Json => ({
    operationId: 'apiPage',
    summary: 'Interactive API page (Swagger UI, served locally) for this listener\'s OpenAPI document.',
    responses: { 200: { description: 'HTML page.', content: { 'text/html': { schema: str() } } } },
  }),
  apiPageAsset: (): Json => ({
    operationId: 'apiPageAsset',
    summary: 'A script, style sheet or icon of the API page.',
    parameters: [param('file', 'path', str(), 'Asset name, e.g. swagger-ui-bundle.js.')],
    responses: { 200: { description: 'The asset.', content: { '*/*': { schema: { type: 'string', format: 'binary' } } } }, 404: { $ref: '#/components/responses/NotFound' } },
  }),
};

const MODEL = '/v2/models/{model_name}';
const VERSION = '/v2/models/{model_name}/versions/{model_version}';

export const V2_ROUTES: readonly Route[] = [
  { method: 'get', path: '/docs', on: ['inference', 'management'], op: OPS.apiPage },
  { method: 'get', path: '/docs/{file}', on: ['inference', 'management'], op: OPS.apiPageAsset },
  { method: 'get', path: '/v2/health/live', on: ['inference'], op: OPS.live },
  { method: 'get', path: '/v2/health/ready', on: ['inference'], op: OPS.ready },
  { method: 'get', path: '/v2', on: ['inference'], op: OPS.metadata },
  { method: 'get', path: MODEL, on: ['inference'], op: OPS.modelMetadata('plain') },
  { method: 'get', path: VERSION, on: ['inference'], op: OPS.modelMetadata('version') },
  { method: 'get', path: `${MODEL}/ready`, on: ['inference'], op: OPS.modelReady('plain') },
  { method: 'get', path: `${VERSION}/ready`, on: ['inference'], op: OPS.modelReady('version') },
  { method: 'post', path: `${MODEL}/infer`, on: ['inference'], op: OPS.infer('plain') },
  { method: 'post', path: `${VERSION}/infer`, on: ['inference'], op: OPS.infer('version') },
  { method: 'post', path: '/v2/repository/index', on: ['management'], op: OPS.repositoryIndex },
  { method: 'post', path: '/v2/repository/models/{model_name}/load', on: ['management'], op: OPS.repositoryLoad },
  { method: 'post', path: '/v2/repository/models/{model_name}/unload', on: ['management'], op: OPS.repositoryUnload },
];
