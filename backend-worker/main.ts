// Worker process entry: argv → listen on a Unix socket → announce readiness on stdout → serve each
// connection as one slot. The process ends when the frontend goes away (stdin closes) or when its
// last connection closes, so a crashed frontend never leaves workers behind.
import net from 'node:net';
import { fstatSync, unlinkSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { parseArgs } from 'node:util';
import { WORKER_CONTROL_FD, WORKER_PID_PREFIX, WORKER_READY_LINE, type LoadRequest } from '../protocol/messages.js';
import { RUNTIMES, type Runtime } from '../protocol/manifest.js';
import { ModelHost } from './model-host.js';
import { serveConnection } from './serve-loop.js';

const { values } = parseArgs({
  options: {
    'sock-name': { type: 'string' },
    runtime: { type: 'string', default: 'onnx' },
    'intra-op-threads': { type: 'string', default: '1' },
    'inter-op-threads': { type: 'string', default: '1' },
    'execution-providers': { type: 'string', default: 'cpu' },
    'max-response-size': { type: 'string', default: String(6553500) },
  },
});

const sockName = values['sock-name'];
const runtime = values.runtime as Runtime;
if (!sockName || !(RUNTIMES as readonly string[]).includes(runtime)) {
  process.stderr.write('usage: main.js --sock-name PATH [--runtime onnx|node] [--intra-op-threads N]\n');
  process.exit(2);
}
const options = {
  intraOpThreads: Number(values['intra-op-threads']),
  interOpThreads: Number(values['inter-op-threads']),
  executionProviders: values['execution-providers']!.split(','),
};

const log = (msg: string) => process.stderr.write(`${msg}\n`);

// One loaded model per process, shared by every slot connected to it.
let loading: Promise<ModelHost> | undefined;
const loadModel = (req: LoadRequest) => (loading ??= ModelHost.load(req, runtime, options));

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
  void serveConnection(socket, loadModel, log, Number(values['max-response-size'])).then(() => {
    if (--open === 0) shutdown(0);
  });
});

function shutdown(code: number): void {
  server.close();
  try {
    unlinkSync(sockName!);
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
