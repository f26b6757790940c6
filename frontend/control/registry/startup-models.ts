// Models named by load_models / --models, registered before the ports open (docs/configuration.md,
// Start-up models). A model that fails is logged and skipped; the server still starts and reports it.
import { readdir } from 'node:fs/promises';
import type { ServerConfig } from '../../config/server-config.js';
import { defaultWorkerCount } from '../../config/server-config.js';
import type { Logger } from '../../logging/logger.js';
import type { ModelRegistry } from './model-registry.js';

export interface StartupEntry {
  name?: string;
  location: string;
}

export async function startupEntries(config: ServerConfig, log: Logger): Promise<StartupEntry[]> {
  const spec = config.loadModels?.trim();
  if (!spec) return [];
  if (spec.toUpperCase() === 'ALL') {
    if (!config.modelStore) {
      log.warn('load_models=ALL but no model_store is configured; no models loaded');
      return [];
    }
    const entries = await readdir(config.modelStore, { withFileTypes: true }).catch(() => []);
    return entries
      .filter((e) => !e.name.startsWith('.') && (e.isDirectory() || /\.(mar|model|tar\.gz|tgz|zip)$/i.test(e.name)))
      .map((e) => ({ location: e.name }));
  }
  return spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => {
      const eq = s.indexOf('=');
      return eq > 0 ? { name: s.slice(0, eq), location: s.slice(eq + 1) } : { location: s };
    })
    .filter((e) => e.location);
}

export interface StartupFailure {
  model: string;
  error: string;
}

/** Registers every start-up model; returns the names that loaded and those that failed. */
export async function loadStartupModels(
  registry: ModelRegistry,
  config: ServerConfig,
  log: Logger,
): Promise<{ loaded: string[]; failed: StartupFailure[] }> {
  const entries = await startupEntries(config, log);
  const workers = defaultWorkerCount(config, registry.gpus.list.length);
  const loaded: string[] = [];
  const failed: StartupFailure[] = [];
  await Promise.all(
    entries.map(async (e) => {
      const name = e.name ?? defaultModelName(e.location);
      log.info({ model: name, url: e.location, workers }, 'loading start-up model');
      try {
        const { model } = await registry.register({
          url: e.location, modelName: e.name, defaultName: name, initialWorkers: workers, synchronous: true, loadedAtStartup: true,
          ifAbsent: true, // restored from the snapshot already: served as the snapshot has it
        });
        loaded.push(model);
      } catch (err) {
        log.error({ model: name, err: (err as Error).message }, 'start-up model failed to load; skipped');
        failed.push({ model: name, error: (err as Error).message });
      }
    }),
  );
  return { loaded, failed };
}

/** Name for a start-up model with none given: last path segment, extension cut, non-word chars → '_'. */
export function defaultModelName(location: string): string {
  let base = location.replace(/[\\/]+$/, '').split(/[\\/]/).pop() ?? location;
  if (/\.(mar|model|tar\.gz|tgz|zip)$/i.test(base)) base = base.replace(/\.(tar\.gz|[^.]+)$/i, '');
  return base.replace(/\W/g, '_');
}
