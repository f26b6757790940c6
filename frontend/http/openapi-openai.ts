// The OpenAPI description of the OpenAI-compatible routes of the inference listener (/v1/embeddings,
// /v1/models; frontend/openai/openai-routes.ts); merged into the route table and components of openapi.ts.
import { arr, int, jsonBody, modelNameParam, obj, ref, str, type Json, type Route } from './openapi-kit.js';

const ok = (description: string, schema: Json): Json => ({ description, content: { 'application/json': { schema } } });
const error = (description: string): Json => ({ description, content: { 'application/json': { schema: ref('OpenAiError') } } });

export const OPENAI_SCHEMAS: Json = {
  OpenAiError: obj(
    { error: obj({ message: str(), type: str({ enum: ['invalid_request_error', 'server_error'] }), param: str({ nullable: true }), code: str({ description: 'The catalogue errorCode in lower case.' }) }, ['message', 'type', 'param', 'code']) },
    ['error'],
    { description: 'OpenAI\'s error body, on /v1 routes.' },
  ),
  OpenAiModel: obj({ id: str(), object: str({ enum: ['model'] }), created: int(), owned_by: str() }, ['id', 'object', 'created', 'owned_by']),
  EmbeddingsRequest: obj(
    {
      model: str({ description: 'A registered model whose handler is sentence_embedding or text_embedding (its default version).' }),
      input: { oneOf: [str({ minLength: 1 }), arr(str({ minLength: 1 }))], description: 'One text or up to 2048; token arrays are refused (400).' },
      encoding_format: str({ enum: ['float', 'base64'], default: 'float' }),
      dimensions: int({ minimum: 1, description: 'Keep the first n values and L2-normalise again; 400 if the model\'s embeddings are shorter.' }),
      user: str({ description: 'Accepted and ignored.' }),
    },
    ['model', 'input'],
  ),
  EmbeddingsResponse: obj(
    {
      object: str({ enum: ['list'] }),
      data: arr(obj({ object: str({ enum: ['embedding'] }), index: int(), embedding: { oneOf: [arr({ type: 'number' }), str({ format: 'byte' })] } }, ['object', 'index', 'embedding'])),
      model: str(),
      usage: obj({ prompt_tokens: int(), total_tokens: int() }, ['prompt_tokens', 'total_tokens']),
    },
    ['object', 'data', 'model', 'usage'],
  ),
};

const OPS = {
  embeddings: (): Json => ({
    operationId: 'openAiEmbeddings',
    summary: 'OpenAI-compatible embeddings of one or more texts (models of the sentence_embedding and text_embedding handlers).',
    requestBody: jsonBody(ref('EmbeddingsRequest'), 'OpenAI\'s embeddings request.'),
    responses: {
      200: ok('One embedding per input, in input order.', ref('EmbeddingsResponse')),
      400: error('Malformed request, empty input, token arrays, dimensions too large, or not an embedding model.'),
      401: error('Token authorization failed.'),
      404: error('Unknown model.'),
      413: error('Request larger than max_request_size, or a text too long for the model.'),
      503: error('Queue full or no worker (Retry-After: 1).'),
    },
  }),
  listModels: (): Json => ({
    operationId: 'openAiListModels',
    summary: 'OpenAI-compatible list of the models /v1/embeddings serves.',
    responses: { 200: ok('The models.', obj({ object: str({ enum: ['list'] }), data: arr(ref('OpenAiModel')) }, ['object', 'data'])), 401: error('Token authorization failed.') },
  }),
  getModel: (): Json => ({
    operationId: 'openAiRetrieveModel',
    summary: 'OpenAI-compatible model object of a model /v1/embeddings serves.',
    parameters: [modelNameParam()],
    responses: { 200: ok('The model.', ref('OpenAiModel')), 401: error('Token authorization failed.'), 404: error('Unknown model, or not an embedding model.') },
  }),
};

export const OPENAI_ROUTES: readonly Route[] = [
  { method: 'post', path: '/v1/embeddings', on: ['inference'], op: OPS.embeddings },
  { method: 'get', path: '/v1/models', on: ['inference'], op: OPS.listModels },
  { method: 'get', path: '/v1/models/{model_name}', on: ['inference'], op: OPS.getModel },
];
