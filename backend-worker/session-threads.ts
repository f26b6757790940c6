// The sessions of a shared worker process, each on a thread of its own (session-thread.ts): loaded one
// after another (the first settles the execution provider the others use), then handed one batch at a
// time; the process's BatchFormer runs at most as many batches as there are sessions. A thread that
// dies takes the process with it, so the controller restarts it and the fronts retry its requests.
import { Worker } from 'node:worker_threads';
import type { Runtime } from '../protocol/manifest.js';
import type { LoadRequest, ReplyItem, RequestItem } from '../protocol/messages.js';
import type { ModelMetadata } from '../protocol/model-metadata.js';
import { HandlerError, type WorkerOptions } from './handler-api.js';
import type { RunBatch } from './batch-former.js';
import { ownsMemory } from '../protocol/frame-reader.js';
import { asBuffer, type ThreadReply, type ThreadRequest } from './thread-messages.js';

const THREAD_MAIN = new URL('./session-thread.js', import.meta.url);

interface Session {
  thread: Worker;
  pending: Map<number, { resolve: (r: ReplyItem[]) => void; reject: (e: Error) => void }>;
}

export async function loadSessionThreads(
  req: LoadRequest,
  runtime: Runtime,
  options: WorkerOptions,
  count: number,
): Promise<{ run: RunBatch; provider?: string; metadata?: ModelMetadata }> {
  const sessions: Session[] = [];
  let provider: string | undefined;
  let metadata: ModelMetadata | undefined;
  let opts = options;
  for (let i = 0; i < count; i++) {
    const session = await startThread(req, runtime, opts, (p, m) => {
      provider ??= p;
      metadata ??= m;
    });
    sessions.push(session);
    // Later sessions go straight to the provider the first one got (no second failed CUDA attempt).
    if (provider) opts = { ...options, executionProviders: [provider.split(':')[0]] };
  }
  const idle = [...sessions];
  let nextId = 0;
  const run: RunBatch = async (items: RequestItem[]) => {
    const session = idle.pop()!; // the former runs at most `count` batches at once
    try {
      const id = ++nextId;
      const { message, transfer } = request(id, items);
      const replies = new Promise<ReplyItem[]>((resolve, reject) => session.pending.set(id, { resolve, reject }));
      session.thread.postMessage(message, transfer);
      return await replies;
    } finally {
      idle.push(session);
    }
  };
  return { run, provider, metadata };
}

function startThread(req: LoadRequest, runtime: Runtime, options: WorkerOptions, onLoaded: (provider?: string, metadata?: ModelMetadata) => void): Promise<Session> {
  const thread = new Worker(THREAD_MAIN, { workerData: { req, runtime, options } });
  const session: Session = { thread, pending: new Map() };
  return new Promise((resolve, reject) => {
    let loaded = false;
    thread.on('message', (m: ThreadReply) => {
      if (m.type === 'ready') {
        loaded = true;
        onLoaded(m.provider, m.metadata);
        resolve(session);
      } else if (m.type === 'failed') {
        reject(new Error(m.message));
      } else {
        const p = session.pending.get(m.id);
        session.pending.delete(m.id);
        if (m.type === 'replies') p?.resolve(m.replies.map((r) => ({ ...r, body: asBuffer(r.body) })));
        else p?.reject(new HandlerError(m.failure.status, m.failure.message, m.failure.type, m.failure.code));
      }
    });
    thread.on('error', (err) => {
      if (!loaded) return reject(err);
      process.stderr.write(`session thread failed: ${err.stack ?? err.message}\n`);
      process.exit(1);
    });
    thread.on('exit', (code) => {
      if (!loaded) return reject(new Error(`session thread exited (${code}) while loading`));
      process.stderr.write(`session thread exited (${code})\n`);
      process.exit(1);
    });
  });
}

/**
 * The batch as a message, each parameter value moved, not cloned: a value the frame reader copied out of
 * the socket's chunks owns its memory and is transferred as it is; any other (a view of a chunk shared
 * with other frames) is copied once into a buffer of its own first.
 */
function request(id: number, items: RequestItem[]): { message: ThreadRequest; transfer: ArrayBuffer[] } {
  const transfer: ArrayBuffer[] = [];
  const moved = items.map((item) => ({
    ...item,
    parameters: item.parameters.map((p) => {
      let value: Uint8Array = p.value;
      if (!ownsMemory(value) || transfer.includes(value.buffer as ArrayBuffer)) {
        value = new Uint8Array(p.value.byteLength);
        value.set(p.value);
      }
      transfer.push(value.buffer as ArrayBuffer);
      return { ...p, value: value as Buffer };
    }),
  }));
  return { message: { id, items: moved }, transfer };
}
