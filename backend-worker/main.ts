// Worker process entry: argv → listen on a Unix socket → announce readiness on stdout → serve each
// connection as one slot. The process ends when the frontend goes away (stdin closes) or when its
// last connection closes, so a crashed frontend never leaves workers behind.
import net from 'node:net';
import { fstatSync, unlinkSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { WORKER_CONTROL_FD, WORKER_PID_PREFIX, WORKER_READY_LINE, type LoadRequest } from '../protocol/messages.js';
import { parseWorkerArgv, type WorkerArgs } from '../protocol/worker-args.js';
import { BatchFormer, type RunBatch } from './batch-former.js';
import { ModelHost } from './model-host.js';
import { providerInUse } from './provider-in-use.js';
import { loadSessionThreads } from './session-threads.js';
import { serveConnection, type LoadedModel } from './serve-loop.js';

let args: WorkerArgs;
try {
  args = parseWorkerArgv(process.argv.slice(2));
} catch (err) {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exit(2);
}
const { sockName, runtime } = args;
const options = {
  intraOpThreads: args.intraOpThreads,
  interOpThreads: args.interOpThreads,
  executionProviders: args.executionProviders,
};

const log = (msg: string) => process.stderr.write(`${msg}\n`);

// One loaded model per process and one batch queue in front of it, shared by every connection, so
// requests from all frontends meet here (docs/protocol.md "Worker-side batching"). The first Load's
// batch size and GPU id win. A shared process (the GPU-sharing mode, docs/gpu.md) runs its sessions on
// threads of their own, up to that many batches at once; otherwise the handler runs on this thread.
let loading: Promise<LoadedModel> | undefined;
const loadModel = (req: LoadRequest) => (loading ??= loadSessions(req));

async function loadSessions(req: LoadRequest): Promise<LoadedModel> {
  const hostOptions = { ...options, deviceId: Math.max(0, req.gpuId) };
  const former = (run: RunBatch, concurrency: number) =>
    new BatchFormer({ batchSize: req.batchSize, maxBatchDelay: args.maxBatchDelay, maxResponseSize: args.maxResponseSize, concurrency, run });
  if (args.sessions > 0) {
    const { run, provider, metadata } = await loadSessionThreads(req, runtime, hostOptions, args.sessions);
    return { former: former(run, args.sessions), provider, metadata };
  }
  const host = await ModelHost.load(req, runtime, hostOptions);
  return { former: former((items) => host.predict(items), 1), provider: providerInUse(), metadata: host.metadata() };
}

// Pings are answered off the main thread; a worker started by hand may have no control channel.
try {
  fstatSync(WORKER_CONTROL_FD);
  new Worker(new URL('./ping-responder.js', import.meta.url)).unref();
} catch {
  // no control channel: nobody pings
}

let open = 0;
const server = net.createServer((socket) => {
  open++;
  socket.setNoDelay(true);
  void serveConnection(socket, loadModel, log).then(() => {
    if (--open === 0) shutdown(0);
  });
});

function shutdown(code: number): void {
  server.close();
  try {
    unlinkSync(sockName);
  } catch {
    // already gone
  }
  process.exit(code);
}

try {
  unlinkSync(sockName);
} catch {
  // no stale socket
}
server.listen(sockName, () => {
  process.stdout.write(`${WORKER_PID_PREFIX}${process.pid}\n${WORKER_READY_LINE}\n`);
});
server.on('error', (err) => {
  log(`cannot listen on ${sockName}: ${err.message}`);
  process.exit(1);
});
process.stdin.on('end', () => shutdown(0));
process.stdin.on('error', () => shutdown(0));
process.stdin.resume();
process.on('SIGTERM', () => shutdown(0));
