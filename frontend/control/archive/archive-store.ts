// Registration `url` → a model directory with a validated manifest (docs/archives.md, "Where models
// may come from" and "Safety checks on archives"). Directories in the model store are used in place; archive files,
// local or downloaded, are unpacked into their own directory under work_dir, removed again on
// unregister. Where a model may come from is decided before anything is read or fetched.
import { mkdir, mkdtemp, readFile, readdir, realpath, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MANIFEST_PATH, ManifestError, validateManifest, type Manifest } from '../../../protocol/manifest.js';
import type { ServerConfig } from '../../config/server-config.js';
import { ServerError, badRequest, forbidden, invalidModel, modelNotFound } from '../../errors.js';
import type { Logger } from '../../logging/logger.js';
import { ArchiveError, ArchiveGuard } from './archive-guard.js';
import { detectFormat } from './archive-format.js';
import { download, notAllowed } from './download.js';
import { checkModelLinks, realPathInside } from './model-links.js';
import { workDirPrefix } from './work-dirs.js';
import { inspectModelDir } from './model-dir.js';

export interface ResolvedModel {
  modelDir: string;
  manifest: Manifest;
  /** Removes what resolving created; the model store's own files are never touched. */
  cleanup: () => Promise<void>;
  /** Downloaded from an http(s) URL (code in it is a trust decision: allow_code_from_urls). */
  remote: boolean;
}

const REMOTE = /^https?:\/\//i;
const SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i;

export const isRemoteUrl = (url: string): boolean => REMOTE.test(url);

export class ArchiveStore {
  constructor(
    private readonly config: ServerConfig,
    private readonly log: Logger,
  ) {}

  async resolve(url: string): Promise<ResolvedModel> {
    if (REMOTE.test(url)) {
      if (!URL.canParse(url)) throw badRequest(`Malformed model url: ${url}`);
      return this.fromRemote(url);
    }
    const local = SCHEME.test(url) ? localFromUrl(url) : url;
    if (local.split(/[\\/]/).includes('..')) throw modelNotFound(`Relative path is not allowed in url: ${url}`);
    const full = this.localPath(url, local);
    const info = await stat(full).catch(() => undefined);
    if (!info) throw modelNotFound(`Model not found in model store: ${url}`);
    await this.checkRealPath(full, url);
    if (info.isDirectory()) return this.fromDirectory(full);
    if (!info.isFile()) throw invalidModel(`Model url is neither a file nor a directory: ${url}`);
    return this.unpack(full, path.basename(full));
  }

  /**
   * The file or directory in model_store that a url names (hot reload watches it); undefined for a
   * URL (http(s)://, file://) or a path outside the store.
   */
  storePath(url: string): string | undefined {
    const store = this.config.modelStore && path.resolve(this.config.modelStore);
    if (!store || SCHEME.test(url) || url.split(/[\\/]/).includes('..')) return undefined;
    let full: string;
    try {
      full = path.resolve(this.localPath(url, url));
    } catch {
      return undefined;
    }
    const prefix = store.endsWith(path.sep) ? store : store + path.sep; // model_store=/ (SageMaker) too
    return full !== store && full.startsWith(prefix) ? full : undefined;
  }

  /** A directory: used in place, or the one archive in it unpacked (model-dir.ts). */
  private async fromDirectory(dir: string): Promise<ResolvedModel> {
    const content = await inspectModelDir(dir);
    if (content.kind === 'archive') return this.unpack(content.file, path.basename(content.file));
    await checkModelLinks(content.dir, { extracted: false });
    const manifest = await readManifest(content.dir, false);
    if (content.kind === 'onnx') manifest.model.modelFile = content.modelFile;
    return { modelDir: content.dir, manifest, cleanup: async () => {}, remote: false };
  }

  /**
   * A path under the model store must stay there once links are followed (a linked folder in the
   * store could lead anywhere); one allowed as file:// by allowed_urls is used as given.
   */
  private async checkRealPath(full: string, url: string): Promise<void> {
    if (!this.config.modelStore || this.allowed(`file://${full}`)) return;
    const [store, real] = await Promise.all([realpath(this.config.modelStore), realpath(full)]);
    if (store !== path.parse(store).root && real !== store && !real.startsWith(store + path.sep)) {
      throw forbidden(`Model url ${url} resolves outside the model store.`);
    }
  }

  private localPath(url: string, local: string): string {
    const store = this.config.modelStore && path.resolve(this.config.modelStore);
    if (path.isAbsolute(local)) {
      if (store && (local === store || local.startsWith(store + path.sep))) return local;
      if (this.allowed(`file://${local}`)) return local;
      // MMS joins absolute paths under the store (SageMaker: model_store=/ and /opt/ml/models/...).
      if (!store) throw notAllowed(url);
    }
    if (!store) throw modelNotFound('Model store has not been configured.');
    return path.join(store, local);
  }

  private allowed(url: string): boolean {
    return this.config.allowedUrls.some((re) => re.test(url));
  }

  private async fromRemote(url: string): Promise<ResolvedModel> {
    if (!this.allowed(url)) throw notAllowed(url);
    await mkdir(this.config.workDir, { recursive: true });
    const tmp = await mkdtemp(path.join(this.config.workDir, workDirPrefix('download')));
    const file = path.join(tmp, 'archive');
    try {
      this.log.info({ url }, 'downloading model');
      await download(url, file, {
        maxBytes: this.config.archive.maxDownloadSize,
        timeoutMs: this.config.archive.downloadTimeout * 1000,
        isAllowed: (u) => this.allowed(u),
        log: this.log,
      });
      return { ...(await this.unpack(file, new URL(url).pathname.split('/').pop() || 'model')), remote: true };
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }

  private async unpack(file: string, label: string): Promise<ResolvedModel> {
    const format = await detectFormat(file);
    if (!format) throw invalidModel(`Unsupported model archive ${label}: expected a zip (.mar) or tar.gz file.`);
    await mkdir(this.config.workDir, { recursive: true });
    const dir = await mkdtemp(path.join(this.config.workDir, workDirPrefix(label)));
    const cleanup = () => rm(dir, { recursive: true, force: true });
    try {
      const { size } = await stat(file);
      const guard = new ArchiveGuard(dir, { maxEntries: this.config.archive.maxEntries, maxBytes: this.config.archive.maxExtractedSize }, size);
      const started = Date.now();
      let lastReport = started;
      // `total` is known for a zip (its central directory), not for a tar, which is read only once.
      const progress = (done: number, total?: number) => {
        if (Date.now() - lastReport < 1000 && done !== total) return;
        lastReport = Date.now();
        this.log.info({ archive: label, done, total, bytes: guard.totalBytes }, 'extracting model');
      };
      // Loaded on first use: the extraction libraries are large and most servers never need them.
      if (format === 'zip') await (await import('./extract-zip.js')).extractZip(file, guard, progress);
      else await (await import('./extract-tgz.js')).extractTgz(file, format === 'tgz', guard, progress);
      const modelDir = await findModelRoot(dir);
      await checkModelLinks(modelDir, { extracted: true });
      return { modelDir, manifest: await readManifest(modelDir, true), cleanup, remote: false };
    } catch (err) {
      await cleanup();
      if (err instanceof ArchiveError) throw invalidModel(`${err.message} (${label})`);
      if (err instanceof ServerError) throw err;
      throw invalidModel(`Cannot unpack ${label}: ${(err as Error).message}`);
    }
  }
}

/** The manifest may sit at the top or inside one top-level folder (tgz archives prefix the name). */
async function findModelRoot(dir: string): Promise<string> {
  if (await exists(path.join(dir, MANIFEST_PATH))) return dir;
  const entries = await readdir(dir, { withFileTypes: true });
  if (entries.length === 1 && entries[0].isDirectory()) {
    const inner = path.join(dir, entries[0].name);
    if (await exists(path.join(inner, MANIFEST_PATH))) return inner;
  }
  return dir;
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(() => true, () => false);
}

/** Archives must carry a manifest; a plain directory may go without (MMS serves it with defaults). */
export async function readManifest(modelDir: string, required: boolean): Promise<Manifest> {
  const real = await realPathInside(modelDir, MANIFEST_PATH, 'Manifest');
  let text: string | undefined;
  if (real) text = await readFile(real, 'utf8').catch(() => undefined);
  if (text === undefined) {
    if (required) throw invalidModel(`Model archive has no ${MANIFEST_PATH}.`);
    return { runtime: 'onnx', model: {} };
  }
  try {
    return validateManifest(JSON.parse(text));
  } catch (err) {
    if (err instanceof ManifestError) throw invalidModel(`Invalid ${MANIFEST_PATH}: ${err.message}`);
    // V8's message quotes the file's first bytes: never echo them (the file may not be the model's).
    throw invalidModel(`Invalid ${MANIFEST_PATH}: malformed JSON.`);
  }
}

/** A `file://` URL as a local path; any other scheme, a host, or a malformed URL is a 400. */
function localFromUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw badRequest(`Malformed model url: ${url}`);
  }
  if (parsed.protocol !== 'file:') {
    throw badRequest(`Unsupported scheme "${parsed.protocol.slice(0, -1)}" in model url: ${url} (use a model store path, file:/// or http(s)://).`);
  }
  if (parsed.hostname !== '' && parsed.hostname !== 'localhost') throw badRequest(`A file url must not name a host: ${url}`);
  try {
    return fileURLToPath(parsed);
  } catch {
    throw badRequest(`Malformed file url: ${url}`);
  }
}
