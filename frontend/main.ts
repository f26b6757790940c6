// Runs the server in this process until SIGTERM/SIGINT: config → logger → server → pid file.
// Used by `multi-model-server --start --foreground` and by the background child the CLI launches.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadConfig, type ConfigSources } from './config/server-config.js';
import { createLogger, type LogOptions } from './logging/logger.js';
import { removePid, writePid } from './pid-file.js';
import { startServer } from './server.js';

/** The bundled default model store (built by scripts/build-default-model.js). */
export const DEFAULT_STORE = fileURLToPath(new URL('../default-store', import.meta.url));

export interface RunOptions extends ConfigSources {
  logConfig?: string;
}

export type StartMessage = { type: 'ready'; inference: string; management: string } | { type: 'failed'; message: string };

export async function runServer(o: RunOptions): Promise<void> {
  const logOptions: LogOptions = o.logConfig ? JSON.parse(readFileSync(o.logConfig, 'utf8')) : { pretty: process.stdout.isTTY && !process.send };
  const log = createLogger(logOptions);
  let config;
  try {
    config = loadConfig(o);
    if (!config.modelStore && !config.loadModels) {
      config = loadConfig({ ...o, modelStore: DEFAULT_STORE, models: 'ALL' });
      log.info({ store: DEFAULT_STORE }, 'no models configured: serving the bundled default model');
    }
  } catch (err) {
    return fail(`Invalid configuration: ${(err as Error).message}`);
  }
  for (const w of config.warnings) log.warn(w);
  let server;
  try {
    server = await startServer(config, log);
  } catch (err) {
    return fail(`Failed to start the model server: ${(err as Error).message}`);
  }
  writePid();
  process.stdout.write(`Model server started.\nInference API: ${server.inferenceUrl}\nManagement API: ${server.managementUrl}\nMetrics: ${server.metricsUrl}/metrics\n`);
  send({ type: 'ready', inference: server.inferenceUrl, management: server.managementUrl });

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping');
    await server.close();
    removePid();
    log.info('model server stopped');
    log.flush();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));

  function fail(message: string): never {
    log.error(message);
    log.flush();
    process.stderr.write(`${message}\n`);
    send({ type: 'failed', message });
    process.exit(1);
  }
}

function send(message: StartMessage): void {
  if (process.send) {
    process.send(message);
    process.disconnect();
  }
}
