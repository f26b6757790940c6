// The NLP pipelines (text_embedding, sentence_embedding, sequence_classification,
// token_classification, question_answering) on tiny BERT models, through the real server and worker
// processes, against golden outputs of HF transformers on the same models (test/fixtures/nlp).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createNlpHandler, type NlpTask } from '../../backend-worker/handlers/nlp/index.js';
import { NlpTokenizer } from '../../backend-worker/handlers/nlp/encoding.js';
import type { HandlerContext, InferenceInput, InferenceResult } from '../../backend-worker/handler-api.js';
import { FIXTURES } from '../helpers/fixtures.js';
import { postJson, request, startTestServer, type JsonResponse, type TestServer } from '../helpers/server.js';

const NLP = path.join(FIXTURES, 'nlp');
const golden = JSON.parse(readFileSync(path.join(NLP, 'golden.json'), 'utf8'));
const TOL = 1e-4;

const MODELS: Array<{ name: string; dir: string; task: NlpTask; batch?: boolean }> = [
  { name: 'embed', dir: 'tiny-bert-embeddings', task: 'text_embedding' },
  { name: 'sentence', dir: 'tiny-bert-embeddings', task: 'sentence_embedding' },
  { name: 'classify', dir: 'tiny-bert-sequence-classification', task: 'sequence_classification' },
  { name: 'ner', dir: 'tiny-bert-token-classification', task: 'token_classification' },
  { name: 'qa', dir: 'tiny-bert-question-answering', task: 'question_answering' },
  { name: 'classify4', dir: 'tiny-bert-sequence-classification', task: 'sequence_classification', batch: true },
];

function maxAbsDiff(got: unknown, want: unknown): number {
  const a = [got].flat(Infinity) as number[];
  const b = [want].flat(Infinity) as number[];
  assert.equal(a.length, b.length, 'value counts differ');
  return a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
}

function close(got: unknown, want: unknown, what: string): void {
  const d = maxAbsDiff(got, want);
  assert.ok(d < TOL, `${what}: max abs diff ${d}`);
}

/** Entities equal in everything but score; scores within the tolerance. */
function sameEntities(got: Array<Record<string, unknown>>, want: Array<Record<string, unknown>>, what: string): void {
  const strip = (l: Array<Record<string, unknown>>) => l.map(({ score: _score, ...rest }) => rest);
  assert.deepEqual(strip(got), strip(want), what);
  close(got.map((e) => e.score), want.map((e) => e.score), what);
}

const LONG = Array.from({ length: 40 }, () => 'John Smith made the model in Paris on Monday.').join(' ');

describe('NLP pipelines through the server', () => {
  let server: TestServer;
  const predict = (model: string, body: unknown, query = ''): Promise<JsonResponse> =>
    postJson(`${server.inferenceUrl}/predictions/${model}${query}`, body);

  before(async () => {
    server = await startTestServer();
    await Promise.all(
      MODELS.map(async (m) => {
        const dir = path.join(server.store, m.name);
        cpSync(path.join(NLP, m.dir), dir, { recursive: true });
        mkdirSync(path.join(dir, 'MAR-INF'));
        writeFileSync(path.join(dir, 'MAR-INF', 'MANIFEST.json'), JSON.stringify({ runtime: 'onnx', model: { modelName: m.name, handler: m.task } }));
        const batching = m.batch ? '&batch_size=4&max_batch_delay=50' : '';
        const r = await request(`${server.managementUrl}/models?url=${m.name}&model_name=${m.name}&initial_workers=1${batching}`, { method: 'POST' });
        assert.equal(r.status, 200, JSON.stringify(r.body));
      }),
    );
  });
  after(() => server.close());

  it('text_embedding: token embeddings match transformers', async () => {
    for (const g of golden.embeddings) {
      const r = await predict('embed', { text: g.text });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.deepEqual(r.body.shape, g.shape);
      assert.equal(r.body.text, g.text);
      close(r.body.outputs, g.token_embeddings, `embeddings of ${g.text}`);
    }
  });

  it('sentence_embedding: mean pooled, L2-normalized', async () => {
    for (const g of golden.embeddings) {
      const r = await predict('sentence', { text: g.text });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.deepEqual(r.body.shape, [g.shape[1]]);
      close(r.body.outputs, g.mean_pooled_normalized, `sentence embedding of ${g.text}`);
    }
  });

  it('sequence_classification: logits, softmax scores, sorted labels', async () => {
    for (const g of golden.sequence_classification) {
      const r = await predict('classify', { text: g.text });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      close(r.body.logits, g.logits, `logits of ${g.text}`);
      close(r.body.scores, g.softmax, `scores of ${g.text}`);
      assert.deepEqual(r.body.labels.map((l: { label: string }) => l.label), g.pipeline_top_k_all.map((l: { label: string }) => l.label));
      close(r.body.labels.map((l: { score: number }) => l.score), g.pipeline_top_k_all.map((l: { score: number }) => l.score), `label scores of ${g.text}`);
    }
  });

  it('token_classification: entities for every aggregation strategy', async () => {
    for (const g of golden.token_classification) {
      const r = await predict('ner', { text: g.text, aggregation_strategy: g.aggregation_strategy });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.aggregation_strategy, g.aggregation_strategy);
      sameEntities(r.body.entities, g.entities, `${g.aggregation_strategy}: ${g.text}`);
    }
  });

  it('question_answering: best span, score, character offsets', async () => {
    for (const g of golden.question_answering) {
      const r = await predict('qa', { question: g.question, context: g.context });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.deepEqual({ answer: r.body.answer, start: r.body.start, end: r.body.end }, { answer: g.pipeline.answer, start: g.pipeline.start, end: g.pipeline.end });
      close(r.body.score, g.pipeline.score, `score for ${g.question}`);
    }
  });

  it('takes query parameters, urlencoded and multipart forms, text/plain bodies', async () => {
    const [seq] = golden.sequence_classification;
    // GET with the text in the query string, as Mighty is called.
    const byQuery = await request(`${server.inferenceUrl}/predictions/classify?text=${encodeURIComponent(seq.text)}`);
    assert.equal(byQuery.status, 200, JSON.stringify(byQuery.body));
    close(byQuery.body.logits, seq.logits, 'logits by query');

    const [qa] = golden.question_answering;
    const form = await request(`${server.inferenceUrl}/predictions/qa`, { method: 'POST', body: new URLSearchParams({ question: qa.question, context: qa.context }) });
    assert.equal(form.status, 200, JSON.stringify(form.body));
    assert.equal(form.body.answer, qa.pipeline.answer);
    close(form.body.score, qa.pipeline.score, 'QA score by form');

    const ner = golden.token_classification.find((g: { aggregation_strategy: string }) => g.aggregation_strategy === 'average');
    const multipart = new FormData();
    multipart.set('text', ner.text);
    multipart.set('aggregation_strategy', 'average');
    const mp = await request(`${server.inferenceUrl}/predictions/ner`, { method: 'POST', body: multipart });
    assert.equal(mp.status, 200, JSON.stringify(mp.body));
    sameEntities(mp.body.entities, ner.entities, 'multipart');

    const [emb] = golden.embeddings;
    const plain = await request(`${server.inferenceUrl}/predictions/sentence`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: emb.text });
    assert.equal(plain.status, 200, JSON.stringify(plain.body));
    close(plain.body.outputs, emb.mean_pooled_normalized, 'text/plain body');
  });

  it('answers a concurrent batch (batch_size 4) like single requests', async () => {
    const cases = golden.sequence_classification.slice(0, 4);
    const replies = await Promise.all(cases.map((g: { text: string }) => predict('classify4', { text: g.text })));
    replies.forEach((r, i) => {
      assert.equal(r.status, 200, JSON.stringify(r.body));
      close(r.body.logits, cases[i].logits, `batched logits of ${cases[i].text}`);
    });
    // One bad request in a batch fails alone.
    const mixed = await Promise.all([predict('classify4', { text: cases[0].text }), predict('classify4', { text: 7 }), predict('classify4', { text: cases[3].text })]);
    assert.deepEqual(mixed.map((r) => r.status), [200, 400, 200]);
    close(mixed[2].body.logits, cases[3].logits, 'logits next to a bad request');
  });

  it('bad input: 400 with a clear message', async () => {
    const expect400 = (r: JsonResponse, message: RegExp) => {
      assert.equal(r.status, 400, JSON.stringify(r.body));
      assert.match(r.body.message, message);
    };
    expect400(await predict('classify', { text: 42 }), /"text" must be a string/);
    expect400(await predict('embed', { text: ['a', 'b'] }), /"text" must be a string/);
    expect400(await predict('ner', { text: { nested: true } }), /"text" must be a string/);
    expect400(await predict('qa', { question: 'Who?' }), /Missing "context"/);
    expect400(await predict('qa', { question: 'Who?', context: 5 }), /"context" must be a string/);
    expect400(await predict('classify', { text: '' }), /must not be empty/);
    expect400(await predict('ner', { text: 'Hello', aggregation_strategy: 'loudest' }), /aggregation_strategy/);
    expect400(await predict('classify', { text: 'Hello', truncation: 'maybe' }), /"truncation" must be true or false/);
    expect400(await request(`${server.inferenceUrl}/predictions/classify`, { method: 'POST', headers: { 'content-type': 'application/json' } }), /no input/);
    expect400(await request(`${server.inferenceUrl}/predictions/sentence`, { method: 'POST' }), /no input/);
    expect400(await request(`${server.inferenceUrl}/predictions/classify`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"text": ' }), /not valid JSON/);
    expect400(await predict('classify', [1, 2]), /must be an object/);
  });

  it('too long: 413 unless truncation is asked for', async () => {
    const r = await predict('embed', { text: LONG });
    assert.equal(r.status, 413, JSON.stringify(r.body));
    assert.match(r.body.message, /maximum of 128/);
    // docs/api.md "Common behaviour": a 413 is a RequestEntityTooLargeException, whichever layer refuses.
    assert.deepEqual([r.body.code, r.body.type], [413, 'RequestEntityTooLargeException']);
    const cut = await predict('embed', { text: LONG, truncation: true });
    assert.equal(cut.status, 200, JSON.stringify(cut.body));
    assert.deepEqual(cut.body.shape, [128, 32]);
    const cutByQuery = await predict('classify', { text: LONG }, '?truncation=true');
    assert.equal(cutByQuery.status, 200, JSON.stringify(cutByQuery.body));

    const question = 'Who made the model?';
    const qaLong = await predict('qa', { question, context: LONG });
    assert.deepEqual([qaLong.status, qaLong.body.code, qaLong.body.type], [413, 413, 'RequestEntityTooLargeException']);
    const windows = await predict('qa', { question, context: LONG, truncation: true });
    assert.equal(windows.status, 200, JSON.stringify(windows.body));
    assert.equal(windows.body.answer, [...LONG].slice(windows.body.start, windows.body.end).join(''));
    assert.ok(windows.body.score > 0 && windows.body.score <= 1);
  });
});

describe('NLP handler in process', () => {
  const context = (dir: string): HandlerContext => ({
    modelName: 'm',
    modelDir: path.join(NLP, dir),
    manifest: { runtime: 'onnx', model: {} },
    batchSize: 8,
    gpuId: null,
    system_properties: { model_dir: path.join(NLP, dir), gpu_id: null, batch_size: 8, server_name: 'MMS', server_version: 'test' },
    options: { intraOpThreads: 1, interOpThreads: 1, executionProviders: ['cpu'], deviceId: 0 },
  });
  const input = (value: unknown): InferenceInput => ({
    requestId: 'r',
    headers: {},
    params: { body: { contentType: 'application/json', value: Buffer.from(JSON.stringify(value)) } },
  });
  const body = (out: unknown) => JSON.parse(String((out as InferenceResult).body));

  it('gives the offsets and word ids of the Rust tokenizer (astral, unknown and special tokens in the text)', () => {
    const dir = path.join(NLP, 'tiny-bert-embeddings');
    const json = (f: string) => JSON.parse(readFileSync(path.join(dir, f), 'utf8'));
    const tokenizer = NlpTokenizer.fromJson(json('tokenizer.json'), json('tokenizer_config.json'), 128);
    // Expected values: tokenizers (Rust) 0.23, Tokenizer.from_file(...).encode(text).
    const cases = [
      {
        text: '😀 unknown§§ Mighty ☃ [MASK] café',
        ids: [2, 1, 31, 44, 59, 44, 43, 62, 44, 1, 1, 140, 1, 4, 13, 48, 50, 38, 3],
        offsets: [[0, 0], [0, 1], [2, 3], [3, 4], [4, 5], [5, 6], [6, 7], [7, 8], [8, 9], [9, 10], [10, 11], [12, 18], [19, 20], [21, 27], [28, 29], [29, 30], [30, 31], [31, 32], [0, 0]],
        words: [null, 0, 1, 1, 1, 1, 1, 1, 1, 2, 3, 4, 5, 6, 7, 7, 7, 7, null],
      },
      { text: '[CLS][SEP]x[MASK]', ids: [2, 2, 3, 34, 4, 3], offsets: [[0, 0], [0, 5], [5, 10], [10, 11], [11, 17], [0, 0]], words: [null, 0, 1, 2, 3, null] },
    ];
    for (const c of cases) {
      const enc = tokenizer.encode(c.text, false);
      assert.deepEqual({ ids: enc.ids, offsets: enc.offsets, words: enc.wordIds }, { ids: c.ids, offsets: c.offsets, words: c.words }, c.text);
    }
  });

  it('runs a whole batch as one padded ORT batch with the same results', async () => {
    const handler = createNlpHandler('token_classification');
    await handler.initialize!(context('tiny-bert-token-classification'));
    const cases = golden.token_classification.filter((g: { aggregation_strategy: string }) => g.aggregation_strategy === 'simple');
    const outs = await handler.handle(cases.map((g: { text: string }) => input({ text: g.text, aggregation_strategy: 'simple' })), context(''));
    outs.forEach((o, i) => sameEntities(body(o).entities, cases[i].entities, `padded batch: ${cases[i].text}`));
    await handler.close!();
  });
});
