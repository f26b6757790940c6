// Our server as the benchmarks run it: started through the CLI in its own directory as `npm start`
// starts it (foreground, its stdout to a file), models registered and described over the Management
// API, its processes found in /proc.
import { mkdtempSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { SessionCpu, Watch } from './cpu.js';
import { DIST, childPids, rss, startNodeToFile, stop, type Started } from './processes.js';
import type { Series } from './report.js';

/** The server's stdout file is emptied past this size, so a long run's access log does not fill the disk. */
const LOG_TRIM_BYTES = 64 * 2 ** 20;

export interface Contender {
  name: string;
  model: Series['model'];
  /** http(s) for REST; `grpc://host:port/<model>` for gRPC ModelInfer. */
  url: string;
  protocol?: Series['protocol'];
  /** The processes whose CPU a point measures (ours: controller, fronts, workers; a peer: its process). */
  watch?: Watch;
  workers?: number;
  batch?: number;
  fronts?: number;
  /** A floor of CPU per request that serves no model (bare node:http): kept off the plot and the rate goals. */
  cpuFloor?: boolean;
  /** Registered with cpu_affinity=true. */
  pinned?: boolean;
  /** Worker RSS in MB, read after the scenario's load. */
  workerRss: () => Promise<number | undefined>;
  /** Our workers as describe lists them. */
  described?: () => Promise<DescribedWorker[]>;
  /** Seconds of CPU its workers spent inside session.run so far (mms_session_cpu_seconds_total). */
  sessionCpu?: () => Promise<SessionCpu | undefined>;
}

/** Registration parameters of the pinned twin (--cpu-affinity) and the tag of its model name. */
export const PINNED = { extra: 'cpu_affinity=true', tag: 'pinned' };

/** A worker in GET /models/{name} (docs/api.md, Describe a model). */
export interface DescribedWorker {
  pid: number;
  memoryUsage: number;
  gpuId?: number;
  gpuMemoryUsage?: number;
  executionProvider?: string;
  /** The CPUs it is pinned to (cpu_affinity). */
  cpus?: string;
}

/** Our server as users run it: its own inference and management addresses, so inference goes through the fronts. */
export class Ours {
  private constructor(
    readonly server: Started,
    readonly dir: string,
    readonly pid: number,
    readonly inference: string,
    readonly management: string,
    readonly fronts: number,
    readonly grpc: string,
    readonly metrics: string,
    /** Where its stdout (the log, access log included) goes. */
    readonly logFile: string,
    /** Its config.properties lines but model_store, for the report. */
    readonly settings: string[],
    private readonly trim: NodeJS.Timeout,
  ) {}

  /**
   * `extra`: more config.properties lines (the ramp's autoscaling keys, bench:gpu's number_of_gpu).
   * `logLevel`: MMS_LOG_LEVEL; info is the server's default (the access log on). `env`: more of the
   * server's environment (e.g. MMS_WORKER_NODE_ARGS); `root`: the checkout whose build runs (bench:ab).
   */
  static async start(store: string, fronts: number, extra: string[] = [], logLevel = 'info', o: { env?: NodeJS.ProcessEnv; root?: string } = {}): Promise<Ours> {
    // Its own directory: config, and TMPDIR for the pid file, so several servers can run at once.
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mms-bench-server-'));
    const config = path.join(dir, 'config.properties');
    // CPU unless the caller names GPUs: on a GPU host the default provider (auto) would put the CPU
    // benches' workers on CUDA.
    const gpus = extra.some((line) => line.startsWith('number_of_gpu=')) ? [] : ['number_of_gpu=0'];
    const settings = ['inference_address=http://127.0.0.1:0', 'management_address=http://127.0.0.1:0', 'metrics_address=http://127.0.0.1:0', 'grpc_inference_address=http://127.0.0.1:0', `number_of_netty_threads=${fronts}`, ...gpus, ...extra];
    writeFileSync(config, [`model_store=${store}`, ...settings].join('\n'));
    const logFile = path.join(dir, 'server.log');
    const cli = o.root ? path.join(o.root, 'dist', 'frontend', 'cli.js') : path.join(DIST, 'frontend', 'cli.js');
    const server = await startNodeToFile(cli, ['--start', '--foreground', '--mms-config', config], /^Metrics: (\S+)/, { ...o.env, MMS_LOG_LEVEL: logLevel, TMPDIR: dir }, logFile);
    const inference = server.lines.map((l) => /^Inference API: (\S+)/.exec(l)?.[1]).find(Boolean)!;
    const grpc = server.lines.map((l) => /^gRPC inference API: (\S+)/.exec(l)?.[1]).find(Boolean) ?? '';
    // The server prints its addresses in one write, the metrics line last.
    const management = server.lines.map((l) => /^Management API: (\S+)/.exec(l)?.[1]).find(Boolean)!;
    const metrics = server.match[1].replace(/\/metrics$/, '');
    // The CLI stays as the launcher; the server process is its child and records its pid (TMPDIR=dir).
    const pid = Number(readFileSync(path.join(dir, '.model_server.pid'), 'utf8'));
    // The file is opened for appending: emptying it under the server is safe, its next write lands at 0.
    const trim = setInterval(() => {
      if ((statSync(logFile, { throwIfNoEntry: false })?.size ?? 0) > LOG_TRIM_BYTES) truncateSync(logFile, 0);
    }, 1000).unref();
    return new Ours(server, dir, pid, inference, management, fronts, grpc, metrics, logFile, settings, trim);
  }

  frontPids(): number[] {
    return childPids(this.pid, 'front-main.js');
  }

  workerPids(): number[] {
    return childPids(this.pid, 'backend-worker/main.js');
  }

  /** Every process of the server by class, for the CPU of a point. */
  readonly watch: Watch = { processes: () => ({ controller: [this.pid], front: this.frontPids(), worker: this.workerPids() }) };

  /**
   * Registers `model` under its own name with these workers and batch size; returns its contender.
   * `extra`: more registration parameters (e.g. `preload_model=true`), `tag` names that variant.
   */
  async register(model: Series['model'], workers: number, batch: number, label: string, extra = '', tag = ''): Promise<Contender> {
    const name = `${model}_${workers}w_b${batch}_f${this.fronts}${tag ? `_${tag}` : ''}`;
    const q = `url=${model}&model_name=${name}&initial_workers=${workers}&batch_size=${batch}&max_batch_delay=5&synchronous=true${extra ? `&${extra}` : ''}`;
    const reg = await fetch(`${this.management}/models?${q}`, { method: 'POST' });
    if (reg.status !== 200) throw new Error(`register ${name}: ${reg.status} ${await reg.text()}`);
    const workersOf = async () => ((await (await fetch(`${this.management}/models/${name}`)).json()) as { workers: DescribedWorker[] }).workers;
    return {
      name: label,
      model,
      url: `${this.inference}/predictions/${name}`,
      watch: this.watch,
      workers,
      batch,
      fronts: this.fronts,
      workerRss: async () => Math.max(...(await workersOf()).map((w) => w.memoryUsage)) / 2 ** 20,
      described: workersOf,
      sessionCpu: () => this.sessionCpu(name),
      ...(extra.includes(PINNED.extra) ? { pinned: true } : {}),
    };
  }

  /** The same registered model as `rest`, called through gRPC ModelInfer (raw_input_contents). */
  grpcTwin(rest: Contender): Contender {
    const name = new URL(rest.url).pathname.split('/').pop();
    return { ...rest, name: rest.name.replace(/^ours cls/, 'ours cls gRPC'), url: `grpc://${this.grpc}/${name}`, protocol: 'grpc' };
  }

  /**
   * A model's mms_session_cpu_seconds_total from the metrics listener, by stage for a pipeline (its
   * stages are reported as `<model>#<stage>`; a model's own is under ''); undefined: not reported.
   */
  async sessionCpu(model: string): Promise<SessionCpu | undefined> {
    if (!this.metrics) return undefined;
    const text = await (await fetch(`${this.metrics}/metrics`)).text();
    const prefix = `mms_session_cpu_seconds_total{model="${model}`;
    const out: SessionCpu = {};
    for (const line of text.split('\n')) {
      if (!line.startsWith(prefix)) continue;
      const key = line.slice(prefix.length, line.indexOf('"', prefix.length));
      if (key === '' || key.startsWith('#')) out[key.slice(1)] = Number(line.slice(line.lastIndexOf(' ') + 1));
    }
    return Object.keys(out).length ? out : undefined;
  }

  async unregister(c: Contender): Promise<void> {
    if (c.protocol === 'grpc') return; // its REST twin unregisters the model
    const name = new URL(c.url).pathname.split('/').pop();
    await fetch(`${this.management}/models/${name}`, { method: 'DELETE' });
  }

  memory(): { controllerMB: number; frontsMB: number[] } {
    return { controllerMB: rss(this.pid) / 2 ** 20, frontsMB: this.frontPids().map((p) => rss(p) / 2 ** 20) };
  }

  async stop(): Promise<void> {
    clearInterval(this.trim);
    await stop(this.server.child);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

