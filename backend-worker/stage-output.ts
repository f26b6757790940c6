// A pipeline stage in the worker (docs/pipelines.md): the manifest as the stage sees it, a non-last
// stage's answer for one input as the items it hands on, and the gather request of the last stage.
import { ITEMS_CONTENT_TYPE, type PipelineStage } from '../protocol/pipeline.js';
import { encodeItems, type Item, type ItemPart } from '../protocol/pipeline-items.js';
import type { Manifest } from '../protocol/manifest.js';
import type { ReplyItem } from '../protocol/messages.js';
import { badOutput } from './handler-api.js';

export interface StageRole {
  stage: PipelineStage;
  /** Not the last stage: its answers are items for the next one. */
  handsOn: boolean;
}

/** The stage named by `name` and the manifest its handler sees (the stage's modelFile and extensions over the model's). */
export function stageManifest(manifest: Manifest, name: string): { manifest: Manifest; role: StageRole } {
  const stages = manifest.model.stages ?? [];
  const i = stages.findIndex((s) => s.name === name);
  if (i < 0) throw new Error(`The manifest has no pipeline stage "${name}".`);
  const stage = stages[i];
  const model = {
    ...manifest.model,
    ...(stage.handler ? { handler: stage.handler } : {}),
    ...(stage.modelFile ? { modelFile: stage.modelFile } : {}),
    extensions: { ...(manifest.model.extensions ?? {}), ...(stage.extensions ?? {}) },
  };
  return { manifest: { ...manifest, model }, role: { stage, handsOn: i < stages.length - 1 } };
}

/** `{ items: [...] }`: a non-last stage's fan-out (zero, one or many items for the next stage); `items` that is no list fails in itemsReply. */
export const isItemsOutput = (out: unknown): out is { items: unknown } =>
  typeof out === 'object' && out !== null && !Buffer.isBuffer(out) && Object.hasOwn(out, 'items') && !('body' in out);

/** One answer of a non-last stage with `{ items }` as one reply item carrying them all. */
export function itemsReply(requestId: string, out: { items: unknown }): ReplyItem {
  if (!Array.isArray(out.items)) throw badOutput('A pipeline stage\'s `items` must be a list of items.');
  const items = out.items.map((item, i) => toItem(item, i));
  return { requestId, status: 200, reason: '', contentType: ITEMS_CONTENT_TYPE, headers: [], body: encodeItems(items) };
}

/** An item is an object of named parts: a Buffer, a string, `{contentType, value}`, or any JSON value. */
function toItem(item: unknown, i: number): Item {
  if (typeof item !== 'object' || item === null || Array.isArray(item) || Buffer.isBuffer(item)) {
    throw badOutput(`Pipeline item ${i} must be an object of named parts.`);
  }
  // A part left undefined is left out, as JSON leaves out an undefined property.
  return Object.entries(item).filter(([, v]) => v !== undefined).map(([name, v]): ItemPart => {
    if (Buffer.isBuffer(v)) return { name, contentType: 'application/octet-stream', value: v };
    if (v instanceof Uint8Array) return { name, contentType: 'application/octet-stream', value: Buffer.from(v.buffer, v.byteOffset, v.byteLength) };
    if (typeof v === 'string') return { name, contentType: 'text/plain', value: Buffer.from(v) };
    const part = v as { contentType?: unknown; value?: unknown };
    if (part && typeof part.contentType === 'string' && (Buffer.isBuffer(part.value) || typeof part.value === 'string')) {
      return { name, contentType: part.contentType, value: Buffer.isBuffer(part.value) ? part.value : Buffer.from(part.value) };
    }
    return { name, contentType: 'application/json', value: Buffer.from(JSON.stringify(v)) };
  });
}
