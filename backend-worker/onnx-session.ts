// One onnxruntime-node session per loaded model, with the thread and execution-provider settings
// that the frontend chose for this worker (one intra-op thread per worker when workers fill the cores).
import * as ort from 'onnxruntime-node';
import type { WorkerOptions } from './handler-api.js';

export type Session = ort.InferenceSession;

export interface InputSpec {
  name: string;
  /** ORT type name, e.g. `float32`; undefined when the runtime gives no metadata. */
  type?: string;
  /** Fixed sizes as numbers, symbolic ones as strings or -1. */
  shape?: ReadonlyArray<number | string>;
}

export async function createSession(modelFile: string, options: WorkerOptions): Promise<Session> {
  return ort.InferenceSession.create(modelFile, {
    intraOpNumThreads: options.intraOpThreads,
    interOpNumThreads: options.interOpThreads,
    executionProviders: options.executionProviders,
    graphOptimizationLevel: 'all',
  });
}

export function inputSpecs(session: Session): InputSpec[] {
  const meta = (session as unknown as { inputMetadata?: Array<Record<string, unknown>> }).inputMetadata;
  return session.inputNames.map((name, i) => {
    const m = Array.isArray(meta) ? meta[i] : undefined;
    if (!m || m.isTensor === false) return { name };
    return { name, type: m.type as string, shape: m.shape as Array<number | string> };
  });
}

export { ort };
