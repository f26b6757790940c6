// Our server as the benchmarks run it: started through the CLI in its own directory, models
// registered and described over the Management API, its processes found in /proc.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DIST, childPids, rss, startNode, stop, type Started } from './processes.js';
import type { Series } from './report.js';

/** What to measure the CPU of during a point: our controller and its fronts. */
export interface Watch {
  controller: number;
  fronts: () => number[];
}

export interface Contender {
  name: string;
  model: Series['model'];
  /** http(s) for REST; `grpc://host:port/<model>` for gRPC ModelInfer. */
  url: string;
  protocol?: Series['protocol'];
  watch?: Watch;
  workers?: number;
  batch?: number;
  fronts?: number;
  /** Worker RSS in MB, read after the scenario's load. */
  workerRss: () => Promise<number | undefined>;
  /** Our workers as describe lists them. */
  described?: () => Promise<DescribedWorker[]>;
}

/** A worker in GET /models/{name} (docs/api.md, Describe a model). */
export interface DescribedWorker {
  pid: number;
  memoryUsage: number;
  gpuId?: number;
  gpuMemoryUsage?: number;
  executionProvider?: string;
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
  ) {}

  /** `extra`: more config.properties lines (the ramp's autoscaling keys, bench:gpu's number_of_gpu). */
  static async start(store: string, fronts: number, extra: string[] = []): Promise<Ours> {
    // Its own directory: config, and TMPDIR for the pid file, so several servers can run at once.
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mms-bench-server-'));
    const config = path.join(dir, 'config.properties');
    // CPU unless the caller names GPUs: on a GPU host the default provider (auto) would put the CPU
    // benches' workers on CUDA.
    const gpus = extra.some((line) => line.startsWith('number_of_gpu=')) ? [] : ['number_of_gpu=0'];
    writeFileSync(
      config,
      ['inference_address=http://127.0.0.1:0', 'management_address=http://127.0.0.1:0', 'metrics_address=http://127.0.0.1:0', 'grpc_inference_address=http://127.0.0.1:0', `model_store=${store}`, 'job_queue_size=1000', `number_of_netty_threads=${fronts}`, ...gpus, ...extra].join('\n'),
    );
    const server = await startNode(path.join(DIST, 'frontend', 'cli.js'), ['--start', '--foreground', '--mms-config', config], /^Management API: (\S+)/, { MMS_LOG_LEVEL: 'warn', TMPDIR: dir });
    const inference = server.lines.map((l) => /^Inference API: (\S+)/.exec(l)?.[1]).find(Boolean)!;
    const grpc = server.lines.map((l) => /^gRPC inference API: (\S+)/.exec(l)?.[1]).find(Boolean) ?? '';
    // The CLI stays as the launcher; the server process is its child and records its pid (TMPDIR=dir).
    const pid = Number(readFileSync(path.join(dir, '.model_server.pid'), 'utf8'));
    return new Ours(server, dir, pid, inference, server.match[1], fronts, grpc);
  }

  frontPids(): number[] {
    return childPids(this.pid, 'front-main.js');
  }

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
      watch: { controller: this.pid, fronts: () => this.frontPids() },
      workers,
      batch,
      fronts: this.fronts,
      workerRss: async () => Math.max(...(await workersOf()).map((w) => w.memoryUsage)) / 2 ** 20,
      described: workersOf,
    };
  }

  /** The same registered model as `rest`, called through gRPC ModelInfer (raw_input_contents). */
  grpcTwin(rest: Contender): Contender {
    const name = new URL(rest.url).pathname.split('/').pop();
    return { ...rest, name: rest.name.replace(/^ours cls/, 'ours cls gRPC'), url: `grpc://${this.grpc}/${name}`, protocol: 'grpc' };
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
    await stop(this.server.child);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

