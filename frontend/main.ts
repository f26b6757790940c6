// The server process: config → logger → server → pid file, until SIGTERM/SIGINT. The CLI (cli.ts)
// launches it as a child, in the foreground or detached, passing its options as one JSON argument,
// so the long-running process carries none of the launcher's code.
import { readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { loadConfig, type ConfigSources } from './config/server-config.js';
import { createLogger, type LogOptions } from './logging/logger.js';
import { removePid, writePid } from './pid-file.js';
import { startServer } from './control/controller.js';
import { collectWhenIdle } from './idle-gc.js';

/** The bundled default model store (built by scripts/build-default-model.js). */
export const DEFAULT_STORE = fileURLToPath(new URL('../default-store', import.meta.url));

export interface RunOptions extends ConfigSources {
  logConfig?: string;
  /** Human-readable logs (a foreground run in a terminal). */
  pretty?: boolean;
  /** The launcher stays our parent (foreground): when it goes away, so do we. */
  attached?: boolean;
}

export type StartMessage =
  /** failedModels: one line per start-up model that did not load, for the launcher's terminal. */
  | { type: 'ready'; inference: string; management: string; metrics: string; grpc: string; failedModels: string[] }
  | { type: 'failed'; message: string };

export async function runServer(o: RunOptions): Promise<void> {
  let logOptions: LogOptions = { pretty: o.pretty };
  try {
    if (o.logConfig) logOptions = JSON.parse(readFileSync(o.logConfig, 'utf8')) as LogOptions;
  } catch (err) {
    process.stderr.write(`Invalid configuration: --log-config ${o.logConfig}: ${(err as Error).message}\n`);
    send({ type: 'failed', message: `Invalid configuration: --log-config: ${(err as Error).message}` });
    process.exit(1);
  }
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
    server = await startServer(config, log, { pretty: logOptions.pretty });
  } catch (err) {
    return fail(`Failed to start the model server: ${(err as Error).message}`);
  }
  collectWhenIdle();
  // Handlers first: until a SIGTERM listener exists the signal kills the process outright, and the
  // launcher or a user may send it as soon as the lines below appear.
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
  // A foreground launcher that dies (even by SIGKILL) closes the IPC channel: stop with it.
  if (o.attached) process.once('disconnect', () => void stop('launcher gone'));

  writePid();
  const grpcLine = server.grpcUrl ? `gRPC inference API: ${server.grpcUrl}\n` : '';
  process.stdout.write(`Model server started.\nInference API: ${server.inferenceUrl}\n${grpcLine}Management API: ${server.managementUrl}\nMetrics: ${server.metricsUrl}/metrics\n`);
  // Not only in the log: a foreground run shows them on the terminal, a background launcher prints them.
  const failedModels = server.startupFailures.map((f) => `Start-up model ${f.model} failed to load: ${f.error}`);
  if (o.attached) for (const line of failedModels) process.stderr.write(`${line}\n`);
  const ready = { inference: server.inferenceUrl, management: server.managementUrl, metrics: `${server.metricsUrl}/metrics`, grpc: server.grpcUrl };
  send({ type: 'ready', ...ready, failedModels }, o.attached);

  function fail(message: string): never {
    log.error(message);
    log.flush();
    process.stderr.write(`${message}\n`);
    send({ type: 'failed', message });
    process.exit(1);
  }
}

function send(message: StartMessage, keepChannel = false): void {
  if (process.send) {
    process.send(message);
    if (!keepChannel) process.disconnect();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await runServer(JSON.parse(process.argv[2] ?? '{}') as RunOptions);
}
