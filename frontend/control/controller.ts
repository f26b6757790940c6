// The controller: registry, start-up models, the Management API and metrics listeners, and the
// inference fronts (node:cluster processes on the Inference API's address) that it keeps up to date
// with a routing table. When both APIs share one address (as SageMaker runs it), the controller
// serves inference itself through the same router a front uses. Close: fronts and listeners drain
// in-flight requests up to a deadline, then the workers stop.
import http from 'node:http';
import { routeKey, type RouteTable } from '../../protocol/routes.js';
import { frontCount, type ServerConfig } from '../config/server-config.js';
import { sameAddress } from '../config/address.js';
import type { Logger } from '../logging/logger.js';
import { ServerMetrics } from './metrics.js';
import { metricsHandler } from './metrics-listener.js';
import { ModelRegistry } from './registry/model-registry.js';
import { discoverGpus } from './gpus/gpu-discovery.js';
import { Gpus } from './gpus/gpus.js';
import { loadStartupModels, type StartupFailure } from './registry/startup-models.js';
import { SnapshotFile, restoreSnapshot, snapshotEntries } from './registry/snapshot.js';
import { removeStaleWorkDirs } from './archive/work-dirs.js';
import { removeStaleWorkerSockets } from './workers/worker-sockets.js';
import { buildApp } from '../http/app.js';
import { closeGracefully, createHttpServer, listen } from '../http/listen.js';
import { hostGuard } from './host-guard.js';
import { keyFilePath, requireKey, writeKeyFile, type ApiKeys } from '../http/token-auth.js';
import { Fronts } from './fronts.js';
import { buildRouteTable } from './route-table.js';
import { WorkerRouter } from '../inference/worker-router.js';
import { FrontMetrics } from '../inference/front-metrics.js';
import { ModelUsage, mergeUsage } from '../inference/model-usage.js';
import { ModelLoad, mergeLoad } from '../inference/model-load.js';
import { Autoscaler } from './autoscaler.js';
import { ModelWatch } from './registry/model-watch.js';
import type { GrpcListener } from '../oip/grpc-server.js';

export interface RunningServer {
  inferenceUrl: string;
  /** The gRPC inference service (`host:port`); '' when grpc_inference_address is off. */
  grpcUrl: string;
  managementUrl: string;
  metricsUrl: string;
  registry: ModelRegistry;
  /** The inference front processes' pids (none when the controller serves inference itself). */
  frontPids(): number[];
  /** Start-up models that did not load (the server serves the others). */
  startupFailures: StartupFailure[];
  close(): Promise<void>;
}

export interface StartOptions {
  /** Human-readable logs in the fronts too. */
  pretty?: boolean;
}

export async function startServer(config: ServerConfig, log: Logger, options: StartOptions = {}): Promise<RunningServer> {
  const found = await discoverGpus({ command: config.nvidiaSmi, numberOfGpu: config.numberOfGpu, visibleDevices: process.env.CUDA_VISIBLE_DEVICES });
  if (found.length) log.info({ gpus: found.map((g) => `${g.deviceId}: ${g.name} (${g.memoryTotalMiB} MiB)`) }, 'GPUs found');
  const gpus = new Gpus(found, config.nvidiaSmi);
  const metrics: ServerMetrics = new ServerMetrics(() => models.withStages(), () => models.budget, gpus);
  const models: ModelRegistry = new ModelRegistry(config, log.child({ component: 'registry' }), (model) => metrics.observer(model), gpus);
  let fronts: Fronts | undefined;
  let local: { workers: WorkerRouter; metrics: FrontMetrics; usage: ModelUsage; load: ModelLoad } | undefined;
  models.usage = async () => (fronts ? mergeUsage(await fronts.usage()) : local?.usage.snapshot() ?? {});
  models.onEvict = (model) => metrics.evicted(model);
  // cpu_affinity: the controller and the fronts run on the cores no pinned worker holds.
  models.cpus.fronts = sameAddress(config.inferenceAddress, config.managementAddress) ? 1 : frontCount(config.numberOfFronts);
  models.cpus.processes = () => [process.pid, ...(fronts?.pids() ?? [])];
  await removeStaleWorkDirs(config.workDir, log);
  await removeStaleWorkerSockets(log);

  // Every change of models or workers becomes a new table, published to whoever serves inference.
  let version = 0;
  let startup: string[] = [];
  const publishers: Array<(table: RouteTable) => Promise<void>> = [];
  const table = () => buildRouteTable(++version, models.list(), startup, config, (m) => models.isDefault(m));
  // The snapshot is written from the end of start-up until close begins (closing unloads every model).
  const snapshot = config.modelSnapshot ? new SnapshotFile(config.snapshotDir, config.snapshotOwner, log) : undefined;
  let snapshotting = false;
  const saveSnapshot = () => snapshot?.save(snapshotEntries(models.list(), (m) => models.isDefault(m)));
  models.onChange = async () => {
    if (snapshotting) void saveSnapshot();
    if (publishers.length === 0) return;
    const t = table();
    await Promise.all(publishers.map((publish) => publish(t)));
  };
  // The fronts name a model's version by its key.
  const stuck = (key: string, worker: string) => models.byKey(key)?.pool.stuck(worker);
  const served = (key: string, worker: string) => models.byKey(key)?.pool.served(worker);
  const demand = (key: string) => models.demand(key);
  const exitCause = async (key: string, worker: string) => models.byKey(key)?.pool.exitCause(worker);

  // The snapshot first: start-up models it restored are not registered again (ifAbsent).
  const restored = snapshot ? await restoreSnapshot(models, await snapshot.read(), log) : [];
  const { loaded, failed: startupFailures } = await loadStartupModels(models, config, log);
  startup = [...new Set([...loaded, ...restored.filter((name) => models.has(name) && models.get(name).loadedAtStartup)])];
  snapshotting = true;
  await saveSnapshot();
  const drain = { active: false };
  const keys = config.tokenAuth.enabled ? createKeys(config, log) : undefined;
  const inferenceGuards = keys ? [requireKey(keys.inference)] : [];
  const managementGuards = (address: ServerConfig['managementAddress']) => [hostGuard(address, config), ...(keys ? [requireKey(keys.management)] : [])];

  // Read when asked (/metrics, the console): the fronts start after the management listener.
  const frontsMetrics = async (): Promise<unknown[][]> => {
    if (fronts) return fronts.metrics();
    return local ? [await local.metrics.registry.getMetricsAsJSON()] : [];
  };
  const servers: http.Server[] = [];
  let inferenceUrl: string;
  let grpcUrl = '';
  let grpc: GrpcListener | undefined;
  let managementUrl: string;
  let metricsUrl: string;
  try {
    if (sameAddress(config.inferenceAddress, config.managementAddress)) {
      const frontMetrics = new FrontMetrics(0);
      const usage = new ModelUsage();
      const load = new ModelLoad();
      const workers = new WorkerRouter({
        frontId: 'controller', maxResponseSize: config.maxResponseSize, log, onStuck: stuck, onServed: served, usage,
        onReply: (model, message, key) => (frontMetrics.reply(model, message), load.reply(key, message)),
        onDemand: demand, exitCause,
        onCacheLookup: (model, hit) => frontMetrics.cacheLookup(model, hit),
      });
      frontMetrics.pending(() => workers.pending());
      local = { workers, metrics: frontMetrics, usage, load };
      publishers.push((t) => workers.apply(t).then(() => usage.retain(t.models.map(routeKey))));
      await workers.apply(table());
      const app = buildApp(config, log, {
        inference: { workers, guards: inferenceGuards },
        management: { registry: models, guards: managementGuards(config.managementAddress), frontMetrics: frontsMetrics },
      }, frontMetrics, drain);
      const server = createHttpServer(config.inferenceAddress, config, app.callback());
      servers.push(server);
      inferenceUrl = managementUrl = await listen(server, config.inferenceAddress);
      if (config.grpcAddress) {
        const { startGrpc } = await import('../oip/grpc-server.js'); // grpc-js loads only where gRPC is on
        grpc = await startGrpc(config.grpcAddress, config, { workers, drain, log, inferenceKey: keys?.inference, metrics: frontMetrics });
        grpcUrl = grpc.url;
      }
    } else {
      const app = buildApp(config, log, { management: { registry: models, guards: managementGuards(config.managementAddress), frontMetrics: frontsMetrics } }, undefined, drain);
      const server = createHttpServer(config.managementAddress, config, app.callback());
      servers.push(server);
      managementUrl = await listen(server, config.managementAddress);
      fronts = await Fronts.start({
        count: frontCount(config.numberOfFronts),
        config,
        log,
        pretty: options.pretty ?? false,
        inferenceKey: keys?.inference,
        table: table(),
        onStuck: stuck,
        onServed: served,
        onDemand: demand,
        exitCause,
      });
      const f = fronts;
      publishers.push((t) => f.publish(t));
      await f.publish(table()); // what changed while the fronts started (a worker restarted, say)
      inferenceUrl = fronts.url;
      grpcUrl = fronts.grpcUrl;
    }
    const metricsServer = createHttpServer(config.metricsAddress, config, metricsHandler(metrics, log, frontsMetrics));
    servers.push(metricsServer);
    metricsUrl = await listen(metricsServer, config.metricsAddress);
  } catch (err) {
    snapshotting = false;
    for (const s of servers) s.close();
    await grpc?.close(0);
    await fronts?.stop();
    await models.closeAll();
    throw err;
  }
  const autoscaler = new Autoscaler({
    config: config.autoscale,
    log: log.child({ component: 'autoscaler' }),
    models: () => models.withStages(),
    resize: (name, n) => models.resize(name, n),
    load: async () => (fronts ? mergeLoad(await fronts.load()) : local?.load.drain() ?? {}),
    usage: () => models.usage(),
    decided: (model, direction, reason) => metrics.autoscaled(model, direction, reason),
  });
  metrics.autoscaler(() => autoscaler.observed);
  autoscaler.start();
  // Hot reload: the store's models are watched once the server serves (docs/configuration.md, Hot reload).
  const watch = config.modelWatchInterval > 0
    ? new ModelWatch({
      intervalMs: config.modelWatchInterval * 1000,
      registry: models,
      log: log.child({ component: 'model-watch' }),
      startMs: (config.workerStartTimeout + config.modelLoadTimeout) * 1000,
    })
    : undefined;
  watch?.start();
  log.info({ inference: inferenceUrl, grpc: grpcUrl || undefined, management: managementUrl, metrics: metricsUrl, fronts: fronts?.count ?? 0 }, 'listening');

  return {
    inferenceUrl,
    grpcUrl,
    managementUrl,
    metricsUrl,
    registry: models,
    frontPids: () => fronts?.pids() ?? [],
    startupFailures,
    async close() {
      autoscaler.stop();
      await watch?.stop();
      drain.active = true;
      snapshotting = false; // what is unloaded now is served again at the next start
      await snapshot?.flush();
      const deadline = config.gracefulShutdownTimeout * 1000;
      await Promise.all([fronts?.stop(), closeGracefully(servers, deadline, log), grpc?.close(deadline)]);
      local?.workers.close();
      await models.closeAll();
      await models.cpus.settled(); // back on every core (a test's process hosts the server)
    },
  };
}

function createKeys(config: ServerConfig, log: Logger): ApiKeys {
  const file = keyFilePath(config);
  const keys = writeKeyFile(file);
  log.info({ keyFile: file }, 'token authorization enabled: API keys written to the key file'); // never the keys
  return keys;
}
