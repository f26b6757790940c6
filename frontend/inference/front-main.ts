// An inference front: one of N processes (node:cluster workers) that share the Inference API's
// listening socket. It knows models only through the routing table the controller pushes, talks to
// the worker processes itself, and leaves when the controller tells it to or goes away.
import cluster from 'node:cluster';
import { routeKey, type ControllerMessage, type FrontMessage } from '../../protocol/routes.js';
import { createLogger } from '../logging/logger.js';
import { buildApp } from '../http/app.js';
import { closeGracefully, createHttpServer, listen } from '../http/listen.js';
import { requireKey } from '../http/token-auth.js';
import { FrontMetrics } from './front-metrics.js';
import { WorkerRouter } from './worker-router.js';
import { ModelUsage } from './model-usage.js';
import { ModelLoad } from './model-load.js';
import { readFrontConfig } from './front-config.js';
import { collectWhenIdle } from '../idle-gc.js';
import type { GrpcListener } from '../oip/grpc-server.js';

if (cluster.isPrimary) throw new Error('front-main.js runs as a cluster worker of the controller');

const config = readFrontConfig(process.env);
const { front } = config;
const log = createLogger({ pretty: front.pretty, level: front.logLevel }).child({ front: front.index });
const metrics = new FrontMetrics(front.index);
const usage = new ModelUsage();
const load = new ModelLoad();
/** The controller's answers to our exit-cause questions, by id. */
const causes = new Map<number, (cause: string | undefined) => void>();
let causeIds = 0;
const router = new WorkerRouter({
  usage,
  frontId: `front-${front.index}-${process.pid}`,
  maxResponseSize: config.maxResponseSize,
  log,
  onStuck: (model, worker) => send({ type: 'worker-stuck', model, worker }),
  onServed: (model, worker) => send({ type: 'worker-served', model, worker }),
  onReply: (model, reply, key) => {
    metrics.reply(model, reply);
    load.reply(key, reply); // the autoscaler scales each version on its own
  },
  onDemand: (model) => send({ type: 'demand', model }),
  exitCause: (model, worker) => new Promise((resolve) => {
    const id = ++causeIds;
    const timer = setTimeout(() => causes.delete(id) && resolve(undefined), 3000); // a controller that does not know says nothing
    causes.set(id, (cause) => (clearTimeout(timer), resolve(cause)));
    send({ type: 'exit-cause', id, model, worker });
  }),
  onCacheLookup: (model, hit) => metrics.cacheLookup(model, hit),
});
metrics.pending(() => router.pending());
const drain = { active: false };
const guards = front.inferenceKey ? [requireKey(front.inferenceKey)] : [];
const app = buildApp(config, log, { inference: { workers: router, guards } }, metrics, drain);
const server = createHttpServer(config.inferenceAddress, config, app.callback());

/** A write racing the controller's death fails with EPIPE (to the callback); 'disconnect' then ends us. */
function send(message: FrontMessage): void {
  if (process.connected) process.send!(message, undefined, undefined, () => undefined);
}

let listening = false;
let grpcListener: GrpcListener | undefined;
process.on('message', (message: ControllerMessage) => {
  switch (message.type) {
    case 'routes':
      void router.apply(message.table).then(async () => {
        usage.retain(message.table.models.map(routeKey));
        // The first table arrives before we listen: no request is ever served without routes.
        if (!listening) {
          listening = true;
          const url = await listen(server, config.inferenceAddress);
          if (config.grpcAddress) {
            const { startGrpc } = await import('../oip/grpc-server.js'); // grpc-js loads only where gRPC is on
            grpcListener = await startGrpc(config.grpcAddress, config, { workers: router, drain, log, inferenceKey: front.inferenceKey, metrics });
          }
          send({ type: 'listening', url, grpcUrl: grpcListener?.url });
        }
        send({ type: 'routes-applied', version: message.table.version });
      });
      break;
    case 'metrics':
      void metrics.registry.getMetricsAsJSON().then((m) => send({ type: 'metrics', id: message.id, metrics: m }));
      break;
    case 'usage':
      send({ type: 'usage', id: message.id, usage: usage.snapshot() });
      break;
    case 'load':
      send({ type: 'load', id: message.id, load: load.drain() });
      break;
    case 'exit-cause':
      causes.get(message.id)?.(message.cause);
      causes.delete(message.id);
      break;
    case 'stop':
      void stop();
      break;
  }
});

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  drain.active = true;
  const deadline = config.gracefulShutdownTimeout * 1000;
  await Promise.all([closeGracefully([server], deadline, log), grpcListener?.close(deadline)]);
  router.close();
  log.flush();
  process.exit(0);
}

send({ type: 'ready' });
collectWhenIdle();

// Ctrl-C reaches the whole process group: the controller leads the drain, so fronts wait for it.
process.on('SIGINT', () => undefined);
process.on('SIGTERM', () => void stop());
// A controller that dies (even by SIGKILL) closes the IPC channel: go with it.
process.on('disconnect', () => {
  if (!stopping) process.exit(0);
});
