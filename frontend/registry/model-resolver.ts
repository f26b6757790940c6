// Turns a registration `url` into a model directory and its manifest (archive.md §5–6): a directory
// or file in the model store, or an absolute path under it. Archives are unpacked by archive-store.
import { stat, readFile } from 'node:fs/promises';
import path from 'node:path';
import { MANIFEST_PATH, ManifestError, validateManifest, type Manifest } from '../../protocol/manifest.js';
import { invalidModel, modelNotFound } from '../http/errors.js';

export interface ResolvedModel {
  modelDir: string;
  manifest: Manifest;
  /** Removes what resolving created (extracted copies); the store's own files are never touched. */
  cleanup: () => Promise<void>;
}

export async function resolveModelUrl(url: string, modelStore: string | undefined): Promise<ResolvedModel> {
  if (url.split(/[\\/]/).includes('..')) throw modelNotFound(`Relative path is not allowed in url: ${url}`);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) throw modelNotFound(`Invalid model url: ${url} (remote URLs are not allowed by this server's configuration)`);
  if (!modelStore) throw modelNotFound('Model store has not been configured.');
  const store = path.resolve(modelStore);
  const full = path.isAbsolute(url) && (url === store || url.startsWith(store + path.sep)) ? url : path.join(store, url);
  const info = await stat(full).catch(() => undefined);
  if (!info) throw modelNotFound(`Model not found in model store: ${url}`);
  if (!info.isDirectory()) throw invalidModel(`Model archives are not supported yet: ${url}`);
  return { modelDir: full, manifest: await readManifest(full), cleanup: async () => {} };
}

export async function readManifest(modelDir: string): Promise<Manifest> {
  let text: string;
  try {
    text = await readFile(path.join(modelDir, MANIFEST_PATH), 'utf8');
  } catch {
    return { runtime: 'onnx', model: {} };
  }
  try {
    return validateManifest(JSON.parse(text));
  } catch (err) {
    if (err instanceof ManifestError) throw invalidModel(err.message);
    throw invalidModel(`Invalid ${MANIFEST_PATH}: ${(err as Error).message}`);
  }
}

/** Name for a start-up model with none given: last path segment, extension cut, non-word chars → '_'. */
export function defaultModelName(location: string): string {
  let base = location.replace(/[\\/]+$/, '').split(/[\\/]/).pop() ?? location;
  if (/\.(mar|model|tar\.gz|tgz|zip)$/i.test(base)) base = base.replace(/\.(tar\.gz|[^.]+)$/i, '');
  return base.replace(/\W/g, '_');
}
