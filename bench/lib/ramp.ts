// The ramp scenario (docs/architecture.md, Autoscaling): one autoscaling model (min 1, max N workers) under a
// load that steps up and back down, then none; the model's workers are sampled from describe as the
// load changes. Its plot (ramp.svg) shows the clients, the loaded workers and the autoscaler's target
// over time: the workers follow the load, and return to min_worker once it stops.
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DIST } from './processes.js';
import { Ours } from './ours.js';
import { rampSvg } from './ramp-chart.js';

export interface RampSample {
  /** Seconds since the ramp began. */
  t: number;
  clients: number;
  /** READY workers, and the autoscaler's target. */
  workers: number;
  target: number;
  /** Requests answered per second since the previous sample. */
  rps: number;
}

export interface RampResult {
  maxWorkers: number;
  stepS: number;
  steps: number[];
  samples: RampSample[];
  /** Non-2xx answers and failed requests during the ramp. */
  errors: number;
}

const SAMPLE_MS = 250;

export async function runRamp(o: { quick: boolean; out: string; log: (s: string) => void }): Promise<RampResult> {
  const stepS = o.quick ? 2 : 10;
  const maxWorkers = o.quick ? 3 : 6;
  const steps = o.quick ? [1, 8, 16, 4, 0] : [1, 4, 8, 16, 32, 16, 8, 4, 1, 0];
  const idleMs = o.quick ? 2000 : 6000;
  const store = mkdtempSync(path.join(os.tmpdir(), 'mms-bench-ramp-'));
  mkdirSync(path.join(store, 'sleep', 'MAR-INF'), { recursive: true });
  copyFileSync(path.join(DIST, '..', 'bench', 'fixtures', 'sleep.mjs'), path.join(store, 'sleep', 'sleep.mjs'));
  writeFileSync(path.join(store, 'sleep', 'MAR-INF', 'MANIFEST.json'), JSON.stringify({ runtime: 'node', model: { modelName: 'sleep', handler: 'sleep.mjs' } }));
  const server = await Ours.start(store, 0, [
    'autoscale_interval_ms=200', `autoscale_window_ms=${o.quick ? 1000 : 3000}`, 'autoscale_min_samples=5', 'autoscale_up_wait_ms=20',
    'autoscale_down_wait_ms=5', `autoscale_cooldown_ms=${o.quick ? 400 : 1500}`, `autoscale_idle_ms=${idleMs}`,
  ]);
  try {
    const m = server.management;
    const reg = await fetch(`${m}/models?url=sleep&initial_workers=1&batch_size=1&synchronous=true`, { method: 'POST' });
    if (reg.status !== 200) throw new Error(`register sleep: ${reg.status} ${await reg.text()}`);
    const scale = await fetch(`${m}/models/sleep?min_worker=1&max_worker=${maxWorkers}&synchronous=true`, { method: 'PUT' });
    if (scale.status !== 200) throw new Error(`scale sleep: ${scale.status} ${await scale.text()}`);
    const url = `${server.inference}/predictions/sleep`;
    let clients = 0;
    let answered = 0;
    let errors = 0;
    const loops: Array<Promise<void>> = [];
    // Closed-loop clients: client i runs while clients > i.
    const client = async (i: number) => {
      while (clients > i) {
        try {
          const r = await fetch(url, { method: 'POST', body: 'x', headers: { 'content-type': 'text/plain' } });
          await r.arrayBuffer();
          if (r.status === 200) answered++;
          else errors++;
        } catch {
          errors++;
        }
      }
    };
    const samples: RampSample[] = [];
    const t0 = performance.now();
    let last = { t: t0, answered: 0 };
    const sample = async () => {
      const d = (await (await fetch(`${m}/models/sleep`)).json()) as { targetWorkers: number; workers: Array<{ status: string }> };
      const now = performance.now();
      const rps = ((answered - last.answered) * 1000) / Math.max(1, now - last.t);
      last = { t: now, answered };
      samples.push({ t: (now - t0) / 1000, clients, workers: d.workers.filter((w) => w.status === 'READY').length, target: d.targetWorkers, rps });
    };
    const sampler = setInterval(() => void sample().catch(() => undefined), SAMPLE_MS);
    try {
      for (const c of steps) {
        const before = clients;
        clients = c;
        for (let i = before; i < c; i++) loops.push(client(i));
        o.log(`ramp: ${c} client(s) for ${stepS} s`);
        await new Promise((r) => setTimeout(r, stepS * 1000));
      }
      // No load: wait for the model to return to min_worker (idle), bounded.
      const until = performance.now() + idleMs + 10_000;
      while (performance.now() < until && (samples.at(-1)?.workers ?? 0) > 1) await new Promise((r) => setTimeout(r, SAMPLE_MS));
      await new Promise((r) => setTimeout(r, 1000));
    } finally {
      clients = 0;
      clearInterval(sampler);
      await Promise.all(loops);
    }
    const result: RampResult = { maxWorkers, stepS, steps, samples, errors };
    mkdirSync(o.out, { recursive: true });
    writeFileSync(path.join(o.out, 'ramp.json'), `${JSON.stringify(result, null, 2)}\n`);
    writeFileSync(path.join(o.out, 'ramp.svg'), rampSvg(result));
    const peak = Math.max(...samples.map((s) => s.workers));
    o.log(`ramp: workers peaked at ${peak} of ${maxWorkers}, ended at ${samples.at(-1)?.workers}; ${errors} errors; wrote ${path.join(o.out, 'ramp.{json,svg}')}`);
    return result;
  } finally {
    await server.stop();
    rmSync(store, { recursive: true, force: true });
  }
}
