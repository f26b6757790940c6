// The chaos run's load: reference answers taken before any kill, then a closed loop of requests
// (one lane per concurrent request) that checks every reply against them.
import type http from 'node:http';
import { clsBody, message, outputOf, request, sameOutput, type RequestError } from './chaos-http.js';

/** Distinct inputs, so a reply that reaches the wrong request is noticed. */
export const INPUTS = 4;
const SAMPLES = 5;

export type Input = ReturnType<typeof clsBody>;

export interface LoadStats {
  total: number;
  failed: number;
  failures: Map<string, number>;
  /** Failures of requests on the connections of a front that was killed (not in failed). */
  frontFailed: number;
  frontFailures: Map<string, number>;
  /** The first SAMPLES failures, as "key: detail". */
  samples: string[];
  latencies: number[];
}

/** The INPUTS request bodies and the answer to each, asked before any kill. */
export async function referenceAnswers(agent: http.Agent, predictUrl: string): Promise<{ inputs: Input[]; expected: number[][] }> {
  const inputs = Array.from({ length: INPUTS }, (_, i) => clsBody(i));
  const expected: number[][] = [];
  for (const input of inputs) {
    const r = await request(agent, predictUrl, 'POST', input.body, input.headers);
    const out = r.status === 200 ? outputOf(r) : undefined;
    if (!out) throw new Error(`reference request: ${r.status} ${message(r)}`);
    expected.push(out);
  }
  return { inputs, expected };
}

/** Starts `concurrency` lanes that each send requests back to back until stopped() says so. */
export function startLoad(o: {
  agent: http.Agent;
  predictUrl: string;
  inputs: Input[];
  expected: number[][];
  concurrency: number;
  stopped: () => boolean;
  /** Whether a request on this client port was on a killed front's connection. */
  onKilledFront?: (localPort: number | undefined) => boolean;
}): { stats: LoadStats; lanes: Array<Promise<void>> } {
  const stats: LoadStats = { total: 0, failed: 0, failures: new Map(), frontFailed: 0, frontFailures: new Map(), samples: [], latencies: [] };
  const fail = (key: string, detail: string, localPort?: number) => {
    if (o.onKilledFront?.(localPort)) {
      stats.frontFailed++;
      stats.frontFailures.set(key, (stats.frontFailures.get(key) ?? 0) + 1);
      return;
    }
    stats.failed++;
    stats.failures.set(key, (stats.failures.get(key) ?? 0) + 1);
    if (stats.samples.length < SAMPLES) stats.samples.push(`${key}: ${detail}`);
  };
  const { inputs, expected } = o;
  const loop = async (lane: number) => {
    for (let i = lane; !o.stopped(); i++) {
      const k = i % INPUTS;
      const t0 = performance.now();
      stats.total++;
      try {
        const r = await request(o.agent, o.predictUrl, 'POST', inputs[k].body, inputs[k].headers);
        stats.latencies.push(performance.now() - t0);
        if (r.status !== 200) fail(String(r.status), message(r), r.localPort);
        else {
          const out = outputOf(r);
          if (!out) fail('bad-body', r.body.toString('utf8').slice(0, 200));
          else if (!sameOutput(out, expected[k])) fail('wrong-answer', `input ${k}: got [${out.join(', ')}], expected [${expected[k].join(', ')}]`);
        }
      } catch (err) {
        stats.latencies.push(performance.now() - t0);
        const e = err as RequestError;
        fail(`error:${e.code ?? e.name}`, e.message, e.localPort);
      }
    }
  };
  return { stats, lanes: Array.from({ length: o.concurrency }, (_, i) => loop(i)) };
}
