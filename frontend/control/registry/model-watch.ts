// Hot reload's watch (docs/configuration.md, Hot reload): every model_watch_interval seconds, each
// model registered from the model store has its file or directory looked at. The file system's
// signature says whether to look closer; a changed signature must hold for one more look (a copy in
// progress is not loaded half-written), then the content hash decides. A new hash is loaded beside
// the old version (model-reload.ts), one reload at a time per model; one that fails is logged with
// its reason, the old version keeps serving, and that hash is not tried again.
import type { Logger } from '../../logging/logger.js';
import type { Model, ModelRegistry } from './model-registry.js';
import { hashOf, signatureOf, type ModelContent } from './model-content.js';
import { closePools, reloadModel } from './model-reload.js';

export interface WatchOptions {
  intervalMs: number;
  registry: ModelRegistry;
  log: Logger;
  /** How long starting a new version's workers may take (ms). */
  startMs: number;
}

/** What the watch knows of one registered version's files. */
interface Seen {
  /** The signature at the last look. */
  signature: string;
  /** The last signature that was hashed (not hashed again while it holds). */
  hashed: string;
  /** A hash whose load failed: not tried again. */
  failed?: string;
  /** The file is gone (logged once). */
  gone?: boolean;
}

export class ModelWatch {
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private looking?: Promise<void>;
  private readonly seen = new WeakMap<Model, Seen>();
  /** Reloads under way, by model key, with the new version while it loads. */
  private readonly reloads = new Map<string, { done: Promise<void>; next?: Model }>();

  constructor(private readonly o: WatchOptions) {}

  start(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.looking = this.look().finally(() => {
        this.looking = undefined;
        this.start();
      });
    }, this.o.intervalMs);
    this.timer.unref();
  }

  /**
   * No more looks. A reload still loading is abandoned (its new workers stop); one that switched
   * already is awaited (its new workers serve until the server's close drains them).
   */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.looking;
    await Promise.all([...this.reloads.values()].map(async (r) => {
      if (r.next && this.o.registry.byKey(r.next.key) !== r.next) await closePools(r.next);
      await r.done;
    }));
  }

  private async look(): Promise<void> {
    for (const model of this.o.registry.list()) {
      if (this.stopped) return;
      if (!model.content || this.reloads.has(model.key)) continue;
      try {
        await this.check(model, model.content);
      } catch (err) {
        this.o.log.warn({ model: model.name, version: model.version, err: (err as Error).message }, 'cannot read the model in the model store');
      }
    }
  }

  private async check(model: Model, loaded: ModelContent): Promise<void> {
    let seen = this.seen.get(model);
    if (!seen) this.seen.set(model, (seen = { signature: loaded.signature, hashed: loaded.signature }));
    const signature = await signatureOf(loaded.path);
    if (signature === undefined) {
      if (!seen.gone) this.o.log.warn({ model: model.name, version: model.version, url: model.url }, 'model is gone from the model store; the loaded version keeps serving');
      seen.gone = true;
      return;
    }
    seen.gone = false;
    if (signature !== seen.signature) {
      seen.signature = signature; // changing now: looked at again once it holds
      return;
    }
    if (signature === seen.hashed) return;
    seen.hashed = signature;
    const hash = await hashOf(loaded.path);
    if (hash === loaded.hash || hash === seen.failed || this.stopped) return;
    this.reload(model, { path: loaded.path, hash, signature, loadedAt: new Date() }, seen);
  }

  private reload(old: Model, content: ModelContent, seen: Seen): void {
    const log = this.o.log.child({ model: old.name, version: old.version });
    const entry: { done: Promise<void>; next?: Model } = { done: Promise.resolve() };
    log.info({ url: old.url, from: old.content?.hash, to: content.hash }, 'model changed in the model store; loading the new content');
    entry.done = reloadModel(this.o.registry, old, content, { startMs: this.o.startMs, loading: (next) => (entry.next = next) })
      .then((next) => {
        if (next) log.info({ hash: content.hash, workers: (next.stages ?? [next]).reduce((n, m) => n + m.pool.target, 0) }, 'model reloaded: the new content serves, the old workers stopped');
        else log.info({ hash: content.hash }, 'model unregistered while its new content loaded; the new content is dropped');
      })
      .catch((err: Error) => {
        seen.failed = content.hash;
        if (this.stopped) return;
        log.warn({ hash: content.hash, err: err.message }, 'the new content of the model failed to load; the old version keeps serving');
      })
      .finally(() => this.reloads.delete(old.key));
    this.reloads.set(old.key, entry);
  }
}
