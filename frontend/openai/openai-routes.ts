// OpenAI-compatible routes on the inference listener (docs/api.md, "OpenAI-compatible embeddings"):
// `POST /v1/embeddings` for models whose handler is sentence_embedding or text_embedding, and
// `GET /v1/models[/{model}]` listing them. Each input of a request is its own request item, submitted
// together, so the worker's batch former joins them with each other and with other requests; the
// request's deadline and cancellation cover every one. Errors are OpenAI's shape (openai-errors.ts).
import Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import { routeKey, type ModelRoute } from '../../protocol/routes.js';
import type { OutgoingItem } from '../../protocol/messages.js';
import { methodNotAllowed, modelNotFound, notEmbeddingModel } from '../errors.js';
import { readBody } from '../http/read-body.js';
import { requestOptions } from '../inference/deadline.js';
import type { InferenceLimits } from '../inference/inference-routes.js';
import { sharedCancel } from '../inference/shared-cancel.js';
import type { WorkerRouter } from '../inference/worker-router.js';
import { slotsOf } from '../inference/router-state.js';
import { parseEmbeddingsRequest } from './embeddings-request.js';
import { embeddingOf, encode, shorten } from './embedding-vector.js';
import { aboutParam } from './openai-errors.js';

export const EMBEDDING_HANDLERS: ReadonlySet<string> = new Set(['sentence_embedding', 'text_embedding']);
const isEmbeddingModel = (m: ModelRoute): boolean => m.handler !== undefined && EMBEDDING_HANDLERS.has(m.handler);

/** OpenAI's model object; the server keeps no creation time, so `created` is 0. */
const modelObject = (m: ModelRoute) => ({ id: m.name, object: 'model', created: 0, owned_by: 'multi-model-server' });

export function openAiRoutes(workers: WorkerRouter, config: InferenceLimits, guards: Middleware[] = []): Router {
  const router = new Router();
  // Every /v1 route needs the inference key (a router runs its use() layers only for its own routes).
  if (guards.length) router.use(...guards);

  router.post('/v1/embeddings', (ctx) => embeddings(ctx, workers, config));
  router.get('/v1/models', (ctx) => {
    const models = workers.routes().filter((m) => m.isDefault !== false && isEmbeddingModel(m));
    models.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    sendCompact(ctx, { object: 'list', data: models.map(modelObject) });
  });
  router.get('/v1/models/:model', (ctx) => {
    const m = workers.route(ctx.params.model);
    if (!isEmbeddingModel(m)) throw modelNotFound(`Model ${m.name} is not served by this API: its handler is ${m.handler ?? 'unknown'}, not an embedding handler.`);
    sendCompact(ctx, modelObject(m));
  });
  router.all(['/v1/embeddings', '/v1/models', '/v1/models/:model'], () => {
    throw methodNotAllowed();
  });
  return router;
}

async function embeddings(ctx: Context, workers: WorkerRouter, config: InferenceLimits): Promise<void> {
  const options = requestOptions(ctx, performance.now());
  const type = (ctx.get('content-type').split(';')[0] ?? '').trim().toLowerCase();
  const req = parseEmbeddingsRequest(await readBody(ctx, config.maxRequestSize), type);
  let model: ModelRoute;
  try {
    model = workers.route(req.model);
  } catch (err) {
    throw aboutParam(err, 'model');
  }
  ctx.state.model = model.name;
  if (!isEmbeddingModel(model)) throw aboutParam(notEmbeddingModel(model.name, model.handler), 'model');
  const shared = sharedCancel(options);
  try {
    // In flight at once: what the model's workers run and hold next (two batches each), as the
    // admission limit counts them; more would only wait in the queue, and a request of more texts than
    // the limit could never be admitted whole. The rest follow as answers come.
    const window = Math.max(1, slotsOf(model)) * 2 * model.batchSize;
    const replies = await windowed(req.inputs, window, (text, i) => workers.submit(routeKey(model), itemFor(ctx, i, text), shared.options));
    let tokens = 0;
    const data = replies.map((reply, index) => {
      const e = embeddingOf(reply, model.name);
      tokens += e.tokens;
      return { object: 'embedding', index, embedding: encode(shorten(e.vector, req.dimensions, model.name), req.encodingFormat) };
    });
    sendCompact(ctx, { object: 'list', data, model: model.name, usage: { prompt_tokens: tokens, total_tokens: tokens } });
  } catch (err) {
    shared.cancelAll(); // one input failed the request: the others need not run
    throw err;
  } finally {
    shared.forget();
  }
}

/** `fn` over every item, at most `limit` at a time, results in order; after a failure none is started. */
async function windowed<T, R>(items: T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  const lane = async () => {
    while (!failed && next < items.length) {
      const i = next++;
      try {
        out[i] = await fn(items[i], i);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return out;
}

/** One input as the NLP handlers take it: `{"text": ...}`; ids `<request id>.<index>`. */
function itemFor(ctx: Context, index: number, text: string): OutgoingItem {
  return {
    requestId: `${ctx.state.requestId}.${index}`,
    headers: [['content-type', 'application/json']],
    parameters: [{ name: 'body', contentType: 'application/json', value: Buffer.from(JSON.stringify({ text })) }],
  };
}

/** Compact JSON: an embedding is hundreds of numbers, one per line when indented. */
function sendCompact(ctx: Context, body: unknown): void {
  ctx.status = 200;
  ctx.type = 'application/json';
  ctx.body = `${JSON.stringify(body)}\n`;
}
