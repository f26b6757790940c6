// One request through a pipeline's stages (docs/pipelines.md): admitted by the pipeline as a whole
// (503 past its queue), submitted to the first stage through the worker router, each reply split into
// the next stage's items, each item submitted on its own so every stage's workers batch items of all
// requests in flight, and the last stage's replies gathered, in order, into one answer. The request's
// deadline goes to every submit; a client that leaves, or any item that fails, cancels every item
// still queued in any stage. A pipeline with a response cache answers a repeated request from it.
import type { OutgoingItem, ReplyItem } from '../../protocol/messages.js';
import { GATHER_HEADER } from '../../protocol/pipeline.js';
import { routeKey, type ModelRoute, type PipelineRoute } from '../../protocol/routes.js';
import { ClientClosedError } from '../errors.js';
import type { SubmitOptions } from './router-options.js';
import type { WorkerRouter } from './worker-router.js';
import { isItems, nextItems } from './stage-items.js';
import { MAX_REQUEST_ITEMS } from '../../protocol/pipeline-items.js';
import { liftOutputs } from './chain-outputs.js';
import { sharedCancel } from './shared-cancel.js';

const GONE = 'Client closed the connection before the answer.';

/** A request's answer: a pipeline's through its stages, any other model's from its workers. */
export function answer(workers: WorkerRouter, route: ModelRoute, item: OutgoingItem, o: SubmitOptions): Promise<ReplyItem> {
  return route.pipeline ? runPipeline(workers, route, item, o) : workers.submit(routeKey(route), item, o);
}

export async function runPipeline(workers: WorkerRouter, route: ModelRoute, item: OutgoingItem, o: SubmitOptions): Promise<ReplyItem> {
  // A pipeline with a response cache answers a repeated request from it, no stage involved.
  const cacheKey = workers.cache.key(route, item);
  const hit = cacheKey === undefined ? undefined : workers.cache.get(route, cacheKey, item.requestId);
  if (hit) return hit;
  const end = workers.admitPipeline(route); // 503 past the pipeline's queue, as a model
  let reply: ReplyItem;
  try {
    reply = await run(workers, route, item, o);
  } finally {
    end();
  }
  if (cacheKey !== undefined) workers.cache.set(route, cacheKey, reply);
  return reply;
}

async function run(workers: WorkerRouter, route: ModelRoute, item: OutgoingItem, o: SubmitOptions): Promise<ReplyItem> {
  const p = route.pipeline!;
  // Only the runner asks a stage to gather: a client's header of that name goes no further.
  if (item.headers.some(([h]) => h === GATHER_HEADER)) item = { ...item, headers: item.headers.filter(([h]) => h !== GATHER_HEADER) };
  // The client's departure or the first failure cancels every item not yet answered in any stage.
  const shared = sharedCancel(o, { admitted: true });
  const options = shared.options;
  // A chain's client names the last stage's outputs: the first stage gets the request without them
  // (a chain of one stage takes them itself).
  const lifted = route.openInference && p.stages.length > 1 ? liftOutputs(item) : { item };
  let fanned = false;
  let room = MAX_REQUEST_ITEMS; // items the request's stages may still hand on
  const step = async (i: number, it: OutgoingItem): Promise<ReplyItem[]> => {
    if (shared.stopped) throw new ClientClosedError(GONE);
    const reply = await workers.submit(p.stages[i].key, it, options);
    // A stage's answer with an error status (a handler's result, not a thrown error) is the request's answer.
    if (reply.status >= 400) throw new StageAnswer(reply);
    if (i === p.stages.length - 1) return [reply];
    if (isItems(reply)) fanned = true;
    const next = nextItems(reply, it, p.stages[i + 1].map, stageName(p, i + 1), i + 1 === p.stages.length - 1 ? lifted.outputs : undefined, room);
    room -= next.length;
    return (await Promise.all(next.map((n) => step(i + 1, n)))).flat();
  };
  try {
    const leaves = await step(0, lifted.item);
    if (p.gather) return await workers.submit(p.stages[p.stages.length - 1].key, gatherItem(item, leaves), options);
    return fanned ? jsonArray(item.requestId, leaves) : leaves[0];
  } catch (err) {
    shared.cancelAll();
    if (err instanceof StageAnswer) return err.reply;
    throw err;
  } finally {
    shared.forget();
  }
}

/** A stage's error answer on its way out of the request's other items. */
class StageAnswer {
  constructor(readonly reply: ReplyItem) {}
}

const stageName = (p: PipelineRoute, i: number) => p.stages[i].key.slice(p.stages[i].key.lastIndexOf('#') + 1);

/** The request's final items, in order, as the parts `0`, `1`, … of one item for the last stage's gather. */
function gatherItem(parent: OutgoingItem, leaves: ReplyItem[]): OutgoingItem {
  return {
    requestId: `${parent.requestId}.gather`,
    headers: [...parent.headers.filter(([h]) => h !== 'content-type' && h !== 'content-length'), [GATHER_HEADER, '1']],
    parameters: leaves.map((l, k) => ({ name: String(k), contentType: l.contentType, value: l.body })),
  };
}

/** The default fan-in: the final items' bodies as one JSON array (JSON parsed, text as strings, other bytes base64). */
function jsonArray(requestId: string, leaves: ReplyItem[]): ReplyItem {
  const values = leaves.map((l) => {
    const type = l.contentType.split(';')[0].trim().toLowerCase();
    if (type === 'application/json' || type.endsWith('+json')) {
      try {
        return JSON.parse(l.body.toString('utf8')) as unknown;
      } catch {
        return l.body.toString('utf8'); // not JSON after all: as text
      }
    }
    if (type === '' || type.startsWith('text/')) return l.body.toString('utf8');
    return l.body.toString('base64');
  });
  return { requestId, status: 200, reason: '', contentType: 'application/json', headers: [], body: Buffer.from(JSON.stringify(values)) };
}
