// The OpenAI-compatible embeddings API (/v1/embeddings, /v1/models) through the official `openai`
// npm client against a real server with token authorization on: embeddings equal /predictions', the
// base64 encoding equal to float, several inputs in one call (batched in the worker), `dimensions`,
// usage from the tokenizer, and OpenAI's error shape and statuses.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import OpenAI from 'openai';
import { FIXTURES } from '../helpers/fixtures.js';
import { metricValue } from '../helpers/metrics.js';
import { request, startTestServer, type JsonResponse, type TestServer } from '../helpers/server.js';

const NLP = path.join(FIXTURES, 'nlp');
const golden = JSON.parse(readFileSync(path.join(NLP, 'golden.json'), 'utf8'));
const TEXTS: string[] = golden.embeddings.map((g: { text: string }) => g.text);
const TOL = 1e-5;

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length, 'lengths differ');
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}
const near = (a: ArrayLike<number>, b: ArrayLike<number>, what: string) => {
  const d = maxAbsDiff(a, b);
  assert.ok(d < TOL, `${what}: max abs diff ${d}`);
};
const norm = (v: ArrayLike<number>) => Math.sqrt(Array.from(v).reduce((s, x) => s + x * x, 0));

/** The status and OpenAI error body a call fails with. */
async function failure(call: Promise<unknown>): Promise<InstanceType<typeof OpenAI.APIError>> {
  try {
    await call;
  } catch (err) {
    assert.ok(err instanceof OpenAI.APIError, `not an API error: ${String(err)}`);
    return err;
  }
  assert.fail('the call succeeded');
}

describe('OpenAI-compatible embeddings', { timeout: 180_000 }, () => {
  let server: TestServer;
  let dir: string;
  let keys: { inference: { key: string }; management: { key: string } };
  let client: OpenAI;
  const bearer = () => ({ authorization: `Bearer ${keys.inference.key}` });
  const predict = async (model: string, text: string): Promise<{ shape: number[]; outputs: number[] }> => {
    const r = await request(`${server.inferenceUrl}/predictions/${model}`, { method: 'POST', body: JSON.stringify({ text }), headers: { 'content-type': 'application/json', ...bearer() } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.body;
  };

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'mms-openai-'));
    const keyFile = path.join(dir, 'key_file.json');
    // A small queue: a request of more texts than a model admits at once must still be answered.
    server = await startTestServer({ enable_token_auth: 'true', key_file: keyFile, job_queue_size: '4' });
    keys = JSON.parse(readFileSync(keyFile, 'utf8'));
    const models: Array<[string, string, string, string]> = [
      ['sentence', 'tiny-bert-embeddings', 'sentence_embedding', '&batch_size=8&max_batch_delay=20'],
      ['embed', 'tiny-bert-embeddings', 'text_embedding', ''],
      ['classify', 'tiny-bert-sequence-classification', 'sequence_classification', ''],
    ];
    await Promise.all(
      models.map(async ([name, fixture, handler, batching]) => {
        const modelDir = path.join(server.store, name);
        cpSync(path.join(NLP, fixture), modelDir, { recursive: true });
        mkdirSync(path.join(modelDir, 'MAR-INF'));
        writeFileSync(path.join(modelDir, 'MAR-INF', 'MANIFEST.json'), JSON.stringify({ runtime: 'onnx', model: { modelName: name, handler } }));
        const r = await request(`${server.managementUrl}/models?url=${name}&model_name=${name}&initial_workers=1${batching}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${keys.management.key}` },
        });
        assert.equal(r.status, 200, JSON.stringify(r.body));
      }),
    );
    client = new OpenAI({ apiKey: keys.inference.key, baseURL: `${server.inferenceUrl}/v1`, maxRetries: 0 });
  });
  after(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('embeddings equal /predictions for the same text; usage counts the tokenizer\'s tokens', async () => {
    for (const [i, text] of TEXTS.entries()) {
      const r = await client.embeddings.create({ model: 'sentence', input: text, encoding_format: 'float' });
      assert.equal(r.object, 'list');
      assert.equal(r.model, 'sentence');
      assert.equal(r.data.length, 1);
      assert.deepEqual({ object: r.data[0].object, index: r.data[0].index }, { object: 'embedding', index: 0 });
      near(r.data[0].embedding, (await predict('sentence', text)).outputs, text);
      near(r.data[0].embedding, golden.embeddings[i].mean_pooled_normalized, `${text} (transformers)`);
      assert.deepEqual(r.usage, { prompt_tokens: golden.embeddings[i].shape[0], total_tokens: golden.embeddings[i].shape[0] });
    }
  });

  it('base64 equals float (the client\'s default decodes it; explicit base64 is little-endian float32)', async () => {
    const float = await client.embeddings.create({ model: 'sentence', input: TEXTS[1], encoding_format: 'float' });
    const byDefault = await client.embeddings.create({ model: 'sentence', input: TEXTS[1] });
    near(Array.from(byDefault.data[0].embedding), float.data[0].embedding, 'default (base64, decoded by the client)');
    const b64 = await client.embeddings.create({ model: 'sentence', input: TEXTS[1], encoding_format: 'base64' });
    const encoded = b64.data[0].embedding as unknown as string;
    assert.equal(typeof encoded, 'string');
    const bytes = Buffer.from(encoded, 'base64');
    const decoded = Array.from({ length: bytes.length / 4 }, (_, k) => bytes.readFloatLE(k * 4));
    near(decoded, float.data[0].embedding, 'explicit base64');
  });

  it('several inputs in one call: one embedding each, in order, batched together in the worker', async () => {
    const r = await client.embeddings.create({ model: 'sentence', input: TEXTS, encoding_format: 'float' });
    assert.deepEqual(r.data.map((d) => d.index), TEXTS.map((_, i) => i));
    for (const [i, text] of TEXTS.entries()) near(r.data[i].embedding, (await predict('sentence', text)).outputs, `input ${i}`);
    const tokens = golden.embeddings.reduce((n: number, g: { shape: number[] }) => n + g.shape[0], 0);
    assert.deepEqual(r.usage, { prompt_tokens: tokens, total_tokens: tokens });

    // 16 inputs at once reach the worker together: it runs them in fewer batches than inputs.
    const batches = () => metricValue(server.metricsUrl, 'mms_batch_size_count', { model: 'sentence' });
    const items = () => metricValue(server.metricsUrl, 'mms_batch_size_sum', { model: 'sentence' });
    const [b0, i0] = [await batches(), await items()];
    const many = Array.from({ length: 16 }, (_, i) => `${TEXTS[i % TEXTS.length]} ${i}`);
    const r16 = await client.embeddings.create({ model: 'sentence', input: many, encoding_format: 'float' });
    assert.equal(r16.data.length, 16);
    assert.equal((await items()) - i0, 16);
    assert.ok((await batches()) - b0 < 16, `16 inputs ran in ${(await batches()) - b0} batches`);
    near(r16.data[15].embedding, (await predict('sentence', many[15])).outputs, 'input 15 of 16');
  });

  it('more texts than the model admits at once (job_queue_size 4, batch_size 1): all answered, in order', async () => {
    const many = Array.from({ length: 40 }, (_, i) => `${TEXTS[i % TEXTS.length]} ${i}`);
    const r = await client.embeddings.create({ model: 'embed', input: many, encoding_format: 'float' });
    assert.deepEqual(r.data.map((d) => d.index), many.map((_, i) => i));
    near(r.data[39].embedding, (await client.embeddings.create({ model: 'embed', input: many[39], encoding_format: 'float' })).data[0].embedding, 'input 39 of 40');
  });

  it('a text_embedding model answers its token embeddings mean-pooled and normalised', async () => {
    const r = await client.embeddings.create({ model: 'embed', input: [TEXTS[0], TEXTS[2]], encoding_format: 'float' });
    near(r.data[0].embedding, (await predict('sentence', TEXTS[0])).outputs, TEXTS[0]);
    near(r.data[1].embedding, golden.embeddings[2].mean_pooled_normalized, TEXTS[2]);
    assert.equal(r.usage.prompt_tokens, golden.embeddings[0].shape[0] + golden.embeddings[2].shape[0]);
  });

  it('dimensions: the first n values, normalised again; more than the model has is a 400', async () => {
    const full = (await predict('sentence', TEXTS[0])).outputs;
    const r = await client.embeddings.create({ model: 'sentence', input: TEXTS[0], dimensions: 8, encoding_format: 'float' });
    assert.equal(r.data[0].embedding.length, 8);
    assert.ok(Math.abs(norm(r.data[0].embedding) - 1) < 1e-9);
    near(r.data[0].embedding, full.slice(0, 8).map((v) => v / norm(full.slice(0, 8))), 'shortened');
    const e = await failure(client.embeddings.create({ model: 'sentence', input: TEXTS[0], dimensions: 33 }));
    assert.equal(e.status, 400);
    assert.deepEqual(e.error, { message: 'Model sentence gives embeddings of 32 dimensions: "dimensions" must be at most 32.', type: 'invalid_request_error', param: 'dimensions', code: 'bad_request' });
  });

  it('errors: unknown model 404, another kind 400, empty input 400, token arrays 400 (OpenAI\'s shape)', async () => {
    const unknown = await failure(client.embeddings.create({ model: 'nope', input: 'x' }));
    assert.ok(unknown instanceof OpenAI.NotFoundError);
    assert.deepEqual(unknown.error, { message: 'Model not found: nope', type: 'invalid_request_error', param: 'model', code: 'model_not_found' });

    const kind = await failure(client.embeddings.create({ model: 'classify', input: 'x' }));
    assert.ok(kind instanceof OpenAI.BadRequestError);
    assert.equal(kind.code, 'not_embedding_model');
    assert.equal(kind.param, 'model');
    assert.match(kind.message, /not an embedding model \(handler sequence_classification\)/);

    for (const input of ['', [] as string[], ['a', '']]) {
      const empty = await failure(client.embeddings.create({ model: 'sentence', input }));
      assert.ok(empty instanceof OpenAI.BadRequestError, JSON.stringify(input));
      assert.equal(empty.param, 'input');
      assert.match(empty.message, /must not be empty/);
    }
    for (const input of [[1, 2, 3], [[1, 2], [3]]]) {
      const ids = await failure(client.embeddings.create({ model: 'sentence', input }));
      assert.equal(ids.status, 400);
      assert.match(ids.message, /Token arrays are not supported/);
    }
    const format = await failure(client.embeddings.create({ model: 'sentence', input: 'x', encoding_format: 'int8' as 'float' }));
    assert.equal(format.param, 'encoding_format');
  });

  it('token authorization: 401 without the inference key, in OpenAI\'s shape', async () => {
    const wrong = new OpenAI({ apiKey: keys.management.key, baseURL: `${server.inferenceUrl}/v1`, maxRetries: 0 });
    const e = await failure(wrong.embeddings.create({ model: 'sentence', input: 'x' }));
    assert.ok(e instanceof OpenAI.AuthenticationError);
    assert.equal(e.code, 'unauthorized');
    assert.ok(await failure(wrong.models.list()) instanceof OpenAI.AuthenticationError);
    const none = await request(`${server.inferenceUrl}/v1/embeddings`, { method: 'POST', body: JSON.stringify({ model: 'sentence', input: 'x' }), headers: { 'content-type': 'application/json' } });
    assert.equal(none.status, 401);
    assert.equal(none.headers.get('www-authenticate'), 'Bearer');
    assert.deepEqual(Object.keys(none.body.error), ['message', 'type', 'param', 'code']);
  });

  it('/v1/models lists the embedding models; retrieve gives one, 404 for others', async () => {
    const list = await client.models.list();
    assert.deepEqual(list.data.map((m) => [m.id, m.object, m.owned_by]), [['embed', 'model', 'multi-model-server'], ['sentence', 'model', 'multi-model-server']]);
    assert.equal((await client.models.retrieve('sentence')).id, 'sentence');
    assert.ok((await failure(client.models.retrieve('classify'))) instanceof OpenAI.NotFoundError);
    assert.ok((await failure(client.models.retrieve('nope'))) instanceof OpenAI.NotFoundError);
  });

  it('malformed bodies, wrong methods and unknown /v1 paths: OpenAI\'s error shape', async () => {
    const post = (body: string, type = 'application/json') =>
      request(`${server.inferenceUrl}/v1/embeddings`, { method: 'POST', body, headers: { 'content-type': type, ...bearer() } });
    const cases: Array<[Promise<JsonResponse>, number, string]> = [
      [post('{'), 400, 'bad_request'],
      [post('[]'), 400, 'bad_request'],
      [post('{"input": "x"}'), 400, 'bad_request'],
      [post('{"model": "sentence", "input": "x"}', 'text/plain'), 400, 'bad_request'],
      [post('{"model": "sentence", "input": {"a": 1}}'), 400, 'bad_request'],
      [post('{"model": "sentence", "input": "x", "dimensions": 0}'), 400, 'bad_request'],
      [request(`${server.inferenceUrl}/v1/embeddings`, { headers: bearer() }), 405, 'method_not_allowed'],
      [request(`${server.inferenceUrl}/v1/nothing`, { headers: bearer() }), 404, 'resource_not_found'],
    ];
    for (const [reply, status, code] of cases) {
      const r = await reply;
      assert.equal(r.status, status, JSON.stringify(r.body));
      assert.deepEqual(Object.keys(r.body), ['error']);
      assert.equal(r.body.error.code, code, JSON.stringify(r.body));
      assert.equal(r.body.error.type, 'invalid_request_error');
      assert.equal(typeof r.body.error.message, 'string');
    }
  });
});
