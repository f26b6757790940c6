// One onnxruntime-node session per loaded model, with the thread and execution-provider settings
// that the frontend chose for this worker (one intra-op thread per worker when workers fill the cores).
// Providers are tried in the order given, each alone: a later one is the fallback of an earlier one
// that cannot start (docs/gpu.md, "Execution providers").
import * as ort from 'onnxruntime-node';
import { countSessionCpu } from './session-cpu.js';
import type { ModelMetadata, TensorMetadata } from '../protocol/model-metadata.js';
import type { WorkerOptions } from './handler-api.js';
import { providerInUse, setProviderInUse } from './provider-in-use.js';
import { v2TypeOf } from './handlers/tensor-types.js';

export type Session = ort.InferenceSession;

export interface InputSpec {
  name: string;
  /** ORT type name, e.g. `float32`; undefined when the runtime gives no metadata. */
  type?: string;
  /** Fixed sizes as numbers, symbolic ones as strings or -1. */
  shape?: ReadonlyArray<number | string>;
}

export async function createSession(modelFile: string, options: WorkerOptions): Promise<Session> {
  const providers = options.executionProviders.length ? options.executionProviders : ['cpu'];
  // Once one provider failed, every later session of the process takes the one that worked.
  const settled = providerInUse();
  const start = settled ? providers.findIndex((p) => settled.startsWith(p)) : 0;
  const failures: string[] = [];
  for (const name of providers.slice(Math.max(0, start))) {
    try {
      const session = await ort.InferenceSession.create(modelFile, {
        intraOpNumThreads: options.intraOpThreads,
        interOpNumThreads: options.interOpThreads,
        executionProviders: [providerConfig(name, options.deviceId)],
        graphOptimizationLevel: 'all',
        // Idle ORT threads sleep instead of spinning: a worker shares the cores with the fronts and the
        // other workers (2 threads for one cls worker on 2 cores: 60% more requests/s without spinning).
        extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
      });
      setProviderInUse(name === 'cuda' ? `cuda:${options.deviceId}` : name);
      if (failures.length) process.stderr.write(`execution provider fallback to ${name}: ${failures.join('; ')}\n`);
      return countSessionCpu(session);
    } catch (err) {
      failures.push(`${describe(name, options.deviceId)} cannot start: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  throw new Error(`${failures.join('; ')}${providers.includes('cuda') ? ' (the CUDA provider: docs/gpu.md, "Installing the CUDA provider")' : ''}`);
}

function providerConfig(name: string, deviceId: number): ort.InferenceSession.ExecutionProviderConfig {
  if (name === 'cuda') return { name: 'cuda', deviceId };
  return name as ort.InferenceSession.ExecutionProviderConfig;
}

function describe(name: string, deviceId: number): string {
  return name === 'cuda' ? `the CUDA execution provider on GPU ${deviceId}` : `the ${name} execution provider`;
}

export function inputSpecs(session: Session): InputSpec[] {
  const meta = (session as unknown as { inputMetadata?: Array<Record<string, unknown>> }).inputMetadata;
  return session.inputNames.map((name, i) => {
    const m = Array.isArray(meta) ? meta[i] : undefined;
    if (!m || m.isTensor === false) return { name };
    return { name, type: m.type as string, shape: m.shape as Array<number | string> };
  });
}

/** The session's tensors as the Open Inference Protocol describes them (symbolic dimensions → -1). */
export function tensorMetadata(session: Session): ModelMetadata {
  const describe = (names: readonly string[], meta: readonly ort.InferenceSession.ValueMetadata[] | undefined): TensorMetadata[] =>
    names.map((name, i) => {
      const m = meta?.[i];
      if (!m || !m.isTensor) return { name, datatype: '', shape: [] };
      return { name, datatype: v2TypeOf(m.type), shape: m.shape.map((d) => (typeof d === 'number' && d > 0 ? d : -1)) };
    });
  return { inputs: describe(session.inputNames, session.inputMetadata), outputs: describe(session.outputNames, session.outputMetadata) };
}

export { ort };
