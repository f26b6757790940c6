// The /v1/embeddings body checks (each mistake a 400 naming its field) and the embedding arithmetic:
// pooling token rows, `dimensions` shortening, base64 as little-endian float32.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_INPUTS, parseEmbeddingsRequest } from '../../frontend/openai/embeddings-request.js';
import { embeddingOf, encode, shorten } from '../../frontend/openai/embedding-vector.js';
import { ParamError, openAiErrorBody } from '../../frontend/openai/openai-errors.js';
import { ServerError } from '../../frontend/errors.js';
import type { ReplyItem } from '../../protocol/messages.js';

const parse = (body: unknown, type = 'application/json') => parseEmbeddingsRequest(Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)), type);

/** The field a body is refused for (null: none named); fails if it is accepted. */
function refusedFor(body: unknown, type?: string): string | null {
  try {
    parse(body, type);
  } catch (err) {
    assert.ok(err instanceof ServerError);
    assert.equal(err.status, 400);
    return err instanceof ParamError ? err.param : null;
  }
  assert.fail(`accepted: ${JSON.stringify(body)}`);
}

const reply = (body: unknown, tokens?: string): ReplyItem => ({
  requestId: 'r', contentType: 'application/json', status: 200, reason: '', headers: tokens === undefined ? [] : [['x-token-count', tokens]], body: Buffer.from(JSON.stringify(body)),
});

describe('/v1/embeddings request', { timeout: 10_000 }, () => {
  it('takes one text or a list, the encoding and dimensions', () => {
    assert.deepEqual(parse({ model: 'm', input: 'a' }), { model: 'm', inputs: ['a'], encodingFormat: 'float', dimensions: undefined });
    assert.deepEqual(parse({ model: 'm', input: ['a', 'b'], encoding_format: 'base64', dimensions: 8, user: 'u' }), { model: 'm', inputs: ['a', 'b'], encodingFormat: 'base64', dimensions: 8 });
    assert.deepEqual(parse({ model: 'm', input: 'a' }, '').inputs, ['a']); // no content type: read as JSON
  });

  it('refuses every malformed field with 400, naming it', () => {
    assert.equal(refusedFor('{'), null);
    assert.equal(refusedFor('[]'), null);
    assert.equal(refusedFor({ model: 'm', input: 'a' }, 'text/plain'), null);
    for (const model of [undefined, '', 1, ['m']]) assert.equal(refusedFor({ model, input: 'a' }), 'model');
    for (const input of [undefined, '', [], ['a', ''], [1, 2], [[1, 2]], { a: 1 }, ['a', null], Array(MAX_INPUTS + 1).fill('a')]) {
      assert.equal(refusedFor({ model: 'm', input }), 'input', JSON.stringify(input)?.slice(0, 40));
    }
    for (const f of ['int8', '', 1, true]) assert.equal(refusedFor({ model: 'm', input: 'a', encoding_format: f }), 'encoding_format');
    for (const d of [0, -1, 1.5, '8', 2 ** 53, true]) assert.equal(refusedFor({ model: 'm', input: 'a', dimensions: d }), 'dimensions');
  });

  it('token arrays are refused with a message saying to send text', () => {
    assert.throws(() => parse({ model: 'm', input: [[101, 102]] }), /Token arrays are not supported/);
  });

  it('renders OpenAI\'s error body from the catalogue', () => {
    assert.deepEqual(openAiErrorBody(new ParamError('BAD_REQUEST', 'no', 'input')), { error: { message: 'no', type: 'invalid_request_error', param: 'input', code: 'bad_request' } });
    assert.deepEqual(openAiErrorBody(new ServerError('INTERNAL', 'secret path')), { error: { message: 'Internal server error', type: 'server_error', param: null, code: 'internal' } });
  });
});

describe('embedding vectors', { timeout: 10_000 }, () => {
  it('a pooled answer is taken as it is; token rows are mean-pooled and normalised', () => {
    assert.deepEqual(embeddingOf(reply({ outputs: [0.6, 0.8] }, '5'), 'm'), { vector: [0.6, 0.8], tokens: 5 });
    const rows = embeddingOf(reply({ shape: [2, 2], outputs: [[1, 2], [3, 2]] }), 'm');
    assert.deepEqual(rows, { vector: [2 / Math.sqrt(8), 2 / Math.sqrt(8)], tokens: 0 });
    assert.throws(() => embeddingOf(reply({ outputs: [[1, 2], [3]] }), 'm'), (e: ServerError) => e.code === 'HANDLER_BAD_OUTPUT');
    assert.throws(() => embeddingOf(reply({ label: 'x' }), 'm'), (e: ServerError) => e.code === 'HANDLER_BAD_OUTPUT');
  });

  it('dimensions keeps the first values and normalises again; more than the size is a 400', () => {
    assert.deepEqual(shorten([0.6, 0.8, 0], 1, 'm'), [1]);
    assert.deepEqual(shorten([0.6, 0.8], 2, 'm'), [0.6, 0.8]);
    assert.throws(() => shorten([0.6, 0.8], 3, 'm'), (e: ParamError) => e.param === 'dimensions' && e.status === 400);
  });

  it('base64 is the little-endian float32 values', () => {
    const b = Buffer.from(encode([1, -0.5], 'base64') as string, 'base64');
    assert.deepEqual([b.readFloatLE(0), b.readFloatLE(4)], [1, -0.5]);
    assert.deepEqual(encode([1, -0.5], 'float'), [1, -0.5]);
  });
});
