#!/usr/bin/env node
// `multi-model-server`: --start (in the background unless --foreground) and --stop, as MMS's launcher.
import { spawn, type StdioOptions } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, openSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { CONTROLLER_NODE_ARGS } from './controller-node-args.js';
import { isAlive, isModelServer, pidFilePath, readPid, removePid } from './pid-file.js';
import type { RunOptions, StartMessage } from './main.js';

const argv = await yargs(hideBin(process.argv))
  .scriptName('multi-model-server')
  .usage('$0 [--start | --stop] [options]')
  .option('start', { type: 'boolean', describe: 'Start the model server (the default action)' })
  .option('stop', { type: 'boolean', describe: 'Stop the running model server' })
  .conflicts('start', 'stop')
  .option('models', { type: 'array', string: true, describe: 'Models to load at start-up: [name=]location ..., or ALL' })
  .option('model-store', { type: 'string', describe: 'Directory that model locations are relative to' })
  .option('mms-config', { type: 'string', describe: 'config.properties file' })
  .option('snapshot', {
    type: 'boolean',
    describe: 'Restore the models of the last run at start and keep their snapshot up to date (model_snapshot); --no-snapshot: neither',
  })
  .option('log-config', { type: 'string', describe: 'JSON logging options: {"level","pretty","file"} (a log4j file is ignored with a warning)' })
  .option('foreground', {
    type: 'boolean',
    default: false,
    describe: 'Keep the server attached to this terminal (logs here, Ctrl+C stops it); without it the server runs in the background, logging to $LOG_LOCATION/mms_log.log',
  })
  .help()
  .alias('h', 'help')
  .strict()
  .parse();

const SERVER_MAIN = fileURLToPath(new URL('./main.js', import.meta.url));

function die(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

if (argv.stop) await stop();
else await start();

async function start(): Promise<void> {
  const pid = readPid();
  if (pid !== undefined && pid !== process.pid) {
    if (isModelServer(pid)) die('Model server is already running, please use multi-model-server --stop to stop MMS.');
    removePid(); // stale: its server is gone (the pid may name another process by now)
  }
  if (argv['log-config'] && !existsSync(argv['log-config'])) die(`--log-config file not found: ${argv['log-config']}`);
  const logConfig = jsonLogConfig(argv['log-config']);
  if (argv['mms-config'] && !existsSync(argv['mms-config'])) die(`--mms-config file not found: ${argv['mms-config']}`);
  const store = argv['model-store'];
  if (store && !(existsSync(store) && statSync(store).isDirectory())) die(`--model-store directory not found: ${store}`);
  // yargs gives [] for a bare --models; left alone that would serve the bundled default model.
  if (argv.models && argv.models.every((m) => m.trim() === '')) die('--models needs a value: [name=]location ..., or ALL');
  const models = argv.models?.join(',');
  if (models && !store && !process.env.MMS_CONFIG_FILE && !argv['mms-config']) {
    const local = argv.models!.some((m) => m.toUpperCase() !== 'ALL' && !/^([^=]+=)?https?:\/\//i.test(m));
    if (local) die('--model-store is required to load model locally.');
  }
  const options: RunOptions = {
    configFile: argv['mms-config'],
    modelStore: store && path.resolve(store),
    models,
    // --no-snapshot beats the config file (an MMS_MODEL_SNAPSHOT override still wins, as for every key).
    ...(argv.snapshot === false ? { overrides: { model_snapshot: 'false' } } : {}),
    logConfig,
    pretty: argv.foreground && process.stdout.isTTY ? true : undefined,
    attached: argv.foreground,
  };
  await launch(options, argv.foreground);
}

/**
 * Starts the server process and waits for it to report. In the foreground this process stays as its
 * parent, passing signals on; otherwise the server is detached, logging to a file, and we exit.
 */
async function launch(options: RunOptions, foreground: boolean): Promise<void> {
  let logFile = '';
  let stdio: StdioOptions = ['inherit', 'inherit', 'inherit', 'ipc'];
  if (!foreground) {
    const logDir = path.resolve(process.env.LOG_LOCATION ?? 'logs');
    mkdirSync(logDir, { recursive: true });
    logFile = path.join(logDir, 'mms_log.log');
    const out = openSync(logFile, 'a');
    stdio = ['ignore', out, out, 'ipc'];
  }
  const child = spawn(process.execPath, [...CONTROLLER_NODE_ARGS, SERVER_MAIN, JSON.stringify(options)], { detached: !foreground, stdio });
  // In the foreground, signals reach the server from the start, not only once it is up.
  if (foreground) for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => child.kill(signal));
  const outcome = await new Promise<StartMessage>((resolve) => {
    child.once('message', (m) => resolve(m as StartMessage));
    child.once('exit', (code) => resolve({ type: 'failed', message: `Model server exited during start-up (code ${code})${logFile ? `; see ${logFile}` : ''}` }));
  });
  if (foreground) {
    if (outcome.type === 'failed') process.exit(1); // the server printed why
    const [code] = (await once(child, 'exit')) as [number | null];
    process.exit(code ?? 1);
  }
  if (outcome.type === 'failed') die(outcome.message);
  child.unref();
  child.disconnect?.();
  process.stdout.write(
    `Model server started (pid ${child.pid}).\nInference API: ${outcome.inference}\n${outcome.grpc ? `gRPC inference API: ${outcome.grpc}\n` : ''}Management API: ${outcome.management}\n` +
      `Metrics: ${outcome.metrics}\nLogs: ${logFile}\n`,
  );
  // As MMS, the server keeps serving the models that loaded; the exit code tells scripts that one did not.
  for (const line of outcome.failedModels) process.stderr.write(`${line}\n`);
  process.exit(outcome.failedModels.length > 0 ? 1 : 0);
}

/** The --log-config file if it holds our JSON options; MMS users' log4j files are reported and skipped. */
function jsonLogConfig(file: string | undefined): string | undefined {
  if (!file || readFileSync(file, 'utf8').trimStart().startsWith('{')) return file;
  process.stderr.write(`Warning: --log-config ${file} is not a JSON logging file ({"level","pretty","file"}); log4j configurations are not used, logging with the defaults.\n`);
  return undefined;
}

async function stop(): Promise<void> {
  const pid = readPid();
  if (pid === undefined) {
    process.stdout.write('Model server is not currently running.\n');
    return;
  }
  if (!isAlive(pid)) {
    removePid();
    process.stdout.write('Model server already stopped.\n');
    return;
  }
  // The server may have died without removing the file, and its pid been reused: never signal that.
  if (!isModelServer(pid)) die(`Process ${pid} named in ${pidFilePath()} is not a model server; not stopping it.`);
  process.kill(pid, 'SIGTERM');
  // Nothing to await across processes but the pid itself: poll it, then force the whole group. The
  // server drains for up to graceful_shutdown_timeout and then unregisters its models: allow for both.
  const deadline = Date.now() + 10 * 60_000;
  while (isAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  if (isAlive(pid)) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      process.kill(pid, 'SIGKILL');
    }
  }
  removePid();
  process.stdout.write('Model server stopped.\n');
}
