// A front's response cache (docs/api.md, "Response cache"): for a model registered with
// response_cache=true, a successful answer is kept under a hash of the exact input that reached the
// handler (every parameter's name, content type and bytes: query values, form fields, parts or the raw
// body; and the headers a handler reads the input by) and the model's version. A repeated input is
// answered from here without a worker. Bounded per model in bytes (least recently used out first) and
// by age (ttl). Kept per routing entry (the route key: `name` or `name/version`), so each version of a
// name has its own; an entry that leaves the table, or changes version, content (hot reload) or cache
// settings, starts empty, and every other table change leaves it alone.
import { createHash } from 'node:crypto';
import type { OutgoingItem, ReplyItem } from '../../protocol/messages.js';
import { V2_HEADER_LENGTH, readErrorItem } from '../../protocol/messages.js';
import { routeKey, type ModelRoute, type ResponseCacheRoute } from '../../protocol/routes.js';

/** Headers that change how a handler reads the same bytes (the v2 binary extension splits the body by one). */
const KEYED_HEADERS = ['content-type', V2_HEADER_LENGTH, 'accept'];
/** Bookkeeping counted per entry beside its body and headers. */
const ENTRY_OVERHEAD = 128;

interface Entry {
  reply: ReplyItem;
  bytes: number;
  expires: number;
}

class ModelCache {
  /** Insertion order is recency order: a hit moves its entry to the end. */
  readonly entries = new Map<string, Entry>();
  bytes = 0;
  constructor(
    readonly version: string,
    readonly settings: ResponseCacheRoute,
  ) {}

  delete(key: string, e: Entry): void {
    this.entries.delete(key);
    this.bytes -= e.bytes;
  }
}

export class ResponseCache {
  private readonly models = new Map<string, ModelCache>();

  constructor(private readonly onLookup?: (model: string, hit: boolean) => void) {}

  /** Follows a new routing table: caches of entries gone, re-versioned or re-configured are dropped. */
  apply(routes: ModelRoute[]): void {
    const live = new Map(routes.map((r) => [routeKey(r), r]));
    for (const [key, c] of this.models) {
      const r = live.get(key);
      if (!r?.cache || generation(r) !== c.version || !sameSettings(r.cache, c.settings)) this.models.delete(key);
    }
    for (const [key, r] of live) {
      if (r.cache && !this.models.has(key)) this.models.set(key, new ModelCache(generation(r), r.cache));
    }
  }

  /** The item's key, or undefined when the model caches nothing. */
  key(route: ModelRoute, item: OutgoingItem): string | undefined {
    if (!route.cache) return undefined;
    const h = createHash('sha256');
    // Every field length-prefixed, so no two different inputs hash the same byte stream.
    const field = (b: Buffer | string) => {
      const buf = typeof b === 'string' ? Buffer.from(b) : b;
      const len = Buffer.allocUnsafe(8);
      len.writeBigUInt64BE(BigInt(buf.length));
      h.update(len).update(buf);
    };
    field(route.name);
    field(route.version ?? '');
    const headers = new Map(item.headers);
    for (const name of KEYED_HEADERS) field(headers.get(name) ?? '');
    for (const p of item.parameters) {
      field(p.name);
      field(p.contentType);
      const pieces = Buffer.isBuffer(p.value) ? [p.value] : p.value;
      const len = Buffer.allocUnsafe(8);
      len.writeBigUInt64BE(BigInt(pieces.reduce((n, b) => n + b.length, 0)));
      h.update(len);
      for (const piece of pieces) h.update(piece);
    }
    return h.digest('base64');
  }

  /** The cached answer under `key`, as the reply to request `requestId`; counts a hit or a miss. */
  get(route: ModelRoute, key: string, requestId: string): ReplyItem | undefined {
    const c = this.models.get(routeKey(route));
    const e = c?.entries.get(key);
    let hit: ReplyItem | undefined;
    if (c && e) {
      c.entries.delete(key);
      if (e.expires > performance.now()) {
        c.entries.set(key, e); // most recently used now
        hit = { ...e.reply, requestId };
      } else c.bytes -= e.bytes;
    }
    this.onLookup?.(route.name, hit !== undefined);
    return hit;
  }

  /** Keeps a successful answer (2xx, not an error item) if it fits the model's budget. */
  set(route: ModelRoute, key: string, reply: ReplyItem): void {
    const c = this.models.get(routeKey(route));
    // A reply of the version the request was keyed with, kept only while that version is the model's.
    if (!c || c.version !== generation(route) || reply.status < 200 || reply.status > 299 || readErrorItem(reply)) return;
    let bytes = ENTRY_OVERHEAD + key.length + reply.body.length + reply.contentType.length + reply.reason.length;
    for (const [k, v] of reply.headers) bytes += k.length + v.length;
    if (bytes > c.settings.maxBytes) return;
    const old = c.entries.get(key);
    if (old) c.delete(key, old);
    const now = performance.now();
    // The least recently used out until the new one fits (expired ones are found out on lookup).
    for (const [k, e] of c.entries) {
      if (c.bytes + bytes <= c.settings.maxBytes) break;
      c.delete(k, e);
    }
    // The body may be a view of a larger socket chunk: a copy holds only its own bytes.
    c.entries.set(key, { reply: { ...reply, body: Buffer.from(reply.body) }, bytes, expires: now + c.settings.ttlMs });
    c.bytes += bytes;
  }
}

/** The version and, when the model is watched, the content it serves: answers of another are not kept. */
const generation = (r: ModelRoute) => (r.content === undefined ? r.version ?? '' : `${r.version ?? ''}#${r.content}`);

const sameSettings = (a: ResponseCacheRoute, b: ResponseCacheRoute) => a.maxBytes === b.maxBytes && a.ttlMs === b.ttlMs;
