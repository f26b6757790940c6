// One onnxruntime-node session per loaded model, with the thread and execution-provider settings
// that the frontend chose for this worker (one intra-op thread per worker when workers fill the cores).
import * as ort from 'onnxruntime-node';
import type { ModelMetadata, TensorMetadata } from '../protocol/model-metadata.js';
import type { WorkerOptions } from './handler-api.js';
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
