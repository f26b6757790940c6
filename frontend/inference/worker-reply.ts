// What a worker's reply says of one request: its item, or the error it stands for. A worker's failure
// keeps its code from worker to client (errors.ts fromWorker).
import { StatusCode, readErrorItem, type ReplyItem, type WorkerReply } from '../../protocol/messages.js';
import { fromWorker, workerBadReply, type ServerError } from '../errors.js';

/** `served`: the worker answered the request itself (an item, even an error item), not a failed batch. */
export type ReplyOutcome = { served: boolean } & ({ item: ReplyItem } | { error: ServerError });

export function replyOutcome(reply: WorkerReply, requestId: string): ReplyOutcome {
  const item = reply.items.find((i) => i.requestId === requestId);
  if (reply.code !== StatusCode.ok) {
    // The batch failed: its error item says status and type (a bare failure reply, only the code).
    const f = (item && readErrorItem(item)) ?? { status: reply.code, type: '', message: reply.message };
    return { served: false, error: fromWorker(f.status, f.type, f.message, f.code) };
  }
  if (!item) return { served: false, error: workerBadReply() };
  const failed = readErrorItem(item);
  return failed ? { served: true, error: fromWorker(failed.status, failed.type, failed.message, failed.code) } : { served: true, item };
}
