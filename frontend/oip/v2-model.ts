// The Open Inference Protocol's health, readiness and metadata answers, shared by the REST routes
// (v2-routes.ts) and the gRPC service (grpc-service.ts), from the routing table a front holds.
import { PACKAGE_VERSION } from '../package-info.js';
import type { ModelRoute } from '../../protocol/routes.js';
import type { TensorMetadata } from '../../protocol/model-metadata.js';
import { notReady, notTensorModel } from '../errors.js';
import type { WorkerRouter } from '../inference/worker-router.js';


/** Protocol extensions every inference listener serves (the repository extension is the management listener's). */
export const EXTENSIONS = ['binary_tensor_data'];

export interface ServerMetadata {
  name: string;
  version: string;
  extensions: string[];
}

export interface ModelMetadataBody {
  name: string;
  versions: string[];
  platform: string;
  inputs: TensorMetadata[];
  outputs: TensorMetadata[];
}

export function serverMetadata(extensions = EXTENSIONS): ServerMetadata {
  return { name: 'multi-model-server', version: PACKAGE_VERSION, extensions };
}

/** A model is ready when it has a live (loaded, routed) worker, a pipeline when each stage has: loading or failed models are not. */
export const modelReady = (m: ModelRoute): boolean => (m.pipeline ? m.pipeline.ready : m.workers.length > 0);

/**
 * Ready to serve: not stopping, and every model that should run workers (min_worker > 0) has one.
 * Models scaled to zero on purpose do not hold the server back.
 */
export function serverReady(workers: WorkerRouter, drain: { active: boolean }): boolean {
  return !drain.active && workers.routes().every((m) => m.minWorkers === 0 || modelReady(m));
}

/** The model's metadata from its loaded workers (`versions`: all the name has); NOT_READY before any worker has loaded it. */
export function modelMetadata(m: ModelRoute, workers: Pick<WorkerRouter, 'versions'>): ModelMetadataBody {
  if (!m.metadata) throw notReady(`Model ${m.name} has not been loaded yet: no metadata.`);
  return { name: m.name, versions: workers.versions(m.name), platform: m.platform, inputs: m.metadata.inputs, outputs: m.metadata.outputs };
}

/** The model's route for an inference request: known (404), version matching (404), a tensor model (400). */
export function inferenceRoute(workers: WorkerRouter, name: string, version?: string): ModelRoute {
  const m = workers.route(name, version || undefined);
  if (!m.openInference) throw notTensorModel(name);
  return m;
}
