// What a loaded model says about its tensors (Open Inference Protocol model metadata): names, v2
// datatypes, shapes with -1 for dynamic dimensions. The worker reports it once, in its Load reply, as
// one item of its own content type; the controller puts it in the routing table (docs/protocol.md,
// "Reply frame"), so fronts answer metadata requests without asking a worker.
import type { ReplyItem, WorkerReply } from './messages.js';

export interface TensorMetadata {
  name: string;
  /** v2 datatype (`FP32`, `INT64`, `BYTES`, ...). */
  datatype: string;
  /** Fixed sizes; -1 for a dynamic dimension. */
  shape: number[];
}

export interface ModelMetadata {
  inputs: TensorMetadata[];
  outputs: TensorMetadata[];
}

/** Marks the Load reply's metadata item; its body is the metadata as JSON. */
export const METADATA_CONTENT_TYPE = 'application/x-mms-model-metadata';

export function metadataItem(m: ModelMetadata): ReplyItem {
  return { requestId: '', contentType: METADATA_CONTENT_TYPE, status: 200, reason: '', headers: [], body: Buffer.from(JSON.stringify(m)) };
}

/** The metadata a Load reply carries; undefined when its handler reports none (or the item is malformed). */
export function readMetadata(reply: WorkerReply): ModelMetadata | undefined {
  const item = reply.items.find((i) => i.contentType === METADATA_CONTENT_TYPE);
  if (!item) return undefined;
  try {
    const m = JSON.parse(item.body.toString('utf8')) as ModelMetadata;
    return Array.isArray(m.inputs) && Array.isArray(m.outputs) ? m : undefined;
  } catch {
    return undefined;
  }
}
