// Model snapshots (docs/configuration.md, Model snapshot): the registered models and the settings
// their re-registration needs, written on every change and restored at the next start, so a
// restarted server serves what it served before. The file is replaced atomically (temp file +
// rename): a crash mid-write leaves the previous snapshot, never half of one.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../../logging/logger.js';
import type { SnapshotOwner } from '../../config/server-config.js';
import type { Model, ModelRegistry, RegisterParams } from './model-registry.js';
import { savedParams, savedSettings } from './model-params.js';

export const SNAPSHOT_FILE = 'model-snapshot.json';
/** 2: with its owner. A format 1 file (no owner) is still restored. */
const FORMAT = 2;

/**
 * One registered model (one version of it) as the snapshot keeps it: who it is and its workers, then
 * each saved setting of model-params.ts under its register field (`batchSize`, `executionProvider`, ...).
 */
export interface SnapshotEntry {
  url: string;
  name: string;
  version?: string;
  /** The version unversioned requests reach. */
  isDefault: boolean;
  minWorkers: number;
  maxWorkers: number;
  loadedAtStartup: boolean;
  [setting: string]: unknown;
}

export function snapshotEntries(models: Model[], isDefault: (m: Model) => boolean): SnapshotEntry[] {
  return models.map((m) => {
    const pool = m.pool.snapshot();
    return {
      url: m.url,
      name: m.name,
      ...(m.version !== undefined ? { version: m.version } : {}),
      isDefault: isDefault(m),
      minWorkers: pool.minWorkers,
      maxWorkers: pool.maxWorkers,
      loadedAtStartup: m.loadedAtStartup,
      ...savedSettings(m),
      // A pipeline's workers are its stages' (docs/pipelines.md): each stage's [min, max].
      ...(m.stages ? { stages: Object.fromEntries(m.stages.map((st) => [st.stage!.name, [st.pool.minWorkers, st.pool.maxWorkers]])) } : {}),
    };
  });
}

/** The registration that brings an entry's model back, with its saved settings and `minWorkers` workers. */
export function entryParams(e: SnapshotEntry): RegisterParams {
  return {
    ...savedParams(e),
    ...legacyCache(e),
    url: e.url,
    modelName: e.name,
    modelVersion: typeof e.version === 'string' ? e.version : undefined,
    loadedAtStartup: typeof e.loadedAtStartup === 'boolean' ? e.loadedAtStartup : undefined,
    initialWorkers: typeof e.minWorkers === 'number' ? e.minWorkers : 0,
    synchronous: true,
  };
}

/** Snapshots written before the cache's settings were saved one by one kept `responseCache` as an object. */
function legacyCache(e: SnapshotEntry): Partial<RegisterParams> {
  const c = e.responseCache as { sizeBytes?: unknown; ttlSeconds?: unknown } | null;
  if (typeof c !== 'object' || c === null) return {};
  const num = (v: unknown) => (typeof v === 'number' ? v : undefined);
  return { responseCache: true, responseCacheSize: num(c.sizeBytes), responseCacheTtl: num(c.ttlSeconds) };
}

/** The snapshot file: writes coalesced (only the newest state is written once the previous write ends). */
export class SnapshotFile {
  readonly file: string;
  /** The text last handed to a write (the file's content once it ends). */
  private last?: string;
  private next?: string;
  private writing?: Promise<void>;

  constructor(dir: string, private readonly owner: SnapshotOwner, private readonly log: Logger) {
    this.file = path.join(dir, SNAPSHOT_FILE);
  }

  /** The entries of the last snapshot; none when there is none or it cannot be read (logged). */
  async read(): Promise<SnapshotEntry[]> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.log.error({ file: this.file, err: (err as Error).message }, 'cannot read the model snapshot; starting without it');
      return [];
    }
    this.last = text;
    try {
      const parsed = JSON.parse(text) as { format?: unknown; owner?: Partial<SnapshotOwner>; models?: unknown };
      if ((parsed.format !== FORMAT && parsed.format !== 1) || !Array.isArray(parsed.models)) throw new Error(`not a format ${FORMAT} snapshot`);
      const owner = parsed.owner;
      if (parsed.format === FORMAT && (owner?.modelStore !== this.owner.modelStore || owner?.configFile !== this.owner.configFile)) {
        // Another server's (shared snapshot_dir): its models are not ours to load.
        this.log.warn({ file: this.file, owner, ours: this.owner }, 'the model snapshot belongs to a server with another model_store or config file; not restored');
        return [];
      }
      return parsed.models.filter((e): e is SnapshotEntry => {
        const ok = typeof e === 'object' && e !== null && typeof e.url === 'string' && typeof e.name === 'string';
        if (!ok) this.log.error({ file: this.file }, 'model snapshot entry without url and name skipped');
        return ok;
      });
    } catch (err) {
      this.log.error({ file: this.file, err: (err as Error).message }, 'model snapshot is not valid; starting without it');
      return [];
    }
  }

  save(entries: SnapshotEntry[]): Promise<void> {
    const text = `${JSON.stringify({ format: FORMAT, owner: this.owner, models: entries }, null, 2)}\n`;
    if (text === (this.next ?? this.last)) return this.writing ?? Promise.resolve();
    this.next = text;
    this.writing ??= this.drain();
    return this.writing;
  }

  /** Resolves once what was saved so far is on disk. */
  flush(): Promise<void> {
    return this.writing ?? Promise.resolve();
  }

  private async drain(): Promise<void> {
    while (this.next !== undefined) {
      const text = this.next;
      this.next = undefined;
      const tmp = `${this.file}.${process.pid}.tmp`;
      this.last = text; // what the file holds once this write ends: a save of other text must write again
      try {
        await mkdir(path.dirname(this.file), { recursive: true });
        await writeFile(tmp, text, { mode: 0o600 });
        await rename(tmp, this.file);
      } catch (err) {
        this.last = undefined;
        // A server that cannot write its snapshot still serves: the next change tries again.
        this.log.warn({ file: this.file, err: (err as Error).message }, 'cannot write the model snapshot');
      }
    }
    this.writing = undefined;
  }
}

/**
 * Registers the snapshot's models again; one that fails is logged and skipped. Returns the names
 * restored (the start-up models among them count as loaded at start-up).
 */
export async function restoreSnapshot(registry: ModelRegistry, entries: SnapshotEntry[], log: Logger): Promise<string[]> {
  const restored: string[] = [];
  await Promise.all(
    entries.map(async (e) => {
      const params = entryParams(e);
      const min = params.initialWorkers!;
      try {
        await registry.register(params);
        const max = typeof e.maxWorkers === 'number' ? e.maxWorkers : min;
        if (max !== min) await registry.scale(e.name, min, max, true, params.modelVersion);
        for (const [stage, counts] of Object.entries(isCounts(e.stages) ? e.stages : {})) {
          await registry.scale(e.name, counts[0], counts[1], true, params.modelVersion, stage);
        }
        restored.push(e.name);
        log.info({ model: e.name, version: e.version, url: e.url }, 'model restored from the snapshot');
      } catch (err) {
        log.error({ model: e.name, version: e.version, err: (err as Error).message }, 'model in the snapshot failed to load; skipped');
      }
    }),
  );
  // Defaults last: a version registered later must not take the default from the one the snapshot names.
  for (const e of entries) {
    if (e.isDefault === true && e.version !== undefined && restored.includes(e.name)) {
      try {
        registry.setDefault(e.name, e.version);
      } catch (err) {
        log.warn({ model: e.name, version: e.version, err: (err as Error).message }, 'snapshot default version not restored');
      }
    }
  }
  return restored;
}

/** A saved pipeline's stage counts: `{stage: [min, max]}` (a hand-edited file may hold anything). */
function isCounts(v: unknown): v is Record<string, [number, number]> {
  return typeof v === 'object' && v !== null && Object.values(v).every((c) => Array.isArray(c) && c.length === 2 && c.every(Number.isInteger));
}
