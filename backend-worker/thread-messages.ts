// What a shared worker process and its session threads (session-thread.ts) say to each other.
import type { ReplyItem, RequestItem, WorkerFailure } from '../protocol/messages.js';
import type { ModelMetadata } from '../protocol/model-metadata.js';

export interface ThreadRequest {
  id: number;
  /** Parameter values arrive as Uint8Array (structured clone turns Buffers into them). */
  items: RequestItem[];
}

export type ThreadReply =
  | { type: 'ready'; provider?: string; metadata?: ModelMetadata }
  | { type: 'failed'; message: string }
  | { type: 'replies'; id: number; replies: ReplyItem[] }
  | { type: 'failure'; id: number; failure: WorkerFailure };

/** A Buffer over the same bytes (a cloned Buffer arrives as a plain Uint8Array). */
export const asBuffer = (u: Uint8Array): Buffer => (Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength));
