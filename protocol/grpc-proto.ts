// The Open Inference Protocol's gRPC definitions, loaded once from grpc_predict_v2.proto (the server,
// the tests' stock client and the benchmark all use this), and the message shapes as proto-loader
// hands them over with LOADER_OPTIONS: field names as in the .proto, int64 as decimal strings (exact
// beyond 2^53), bytes as Buffers (views of the received message, never re-encoded).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadSync, type Options, type PackageDefinition, type ServiceDefinition } from '@grpc/proto-loader';

/**
 * The .proto beside this module's source in a checkout (tsc does not copy it), else the copy beside
 * it in dist/ that `npm run build` makes (scripts/copy-proto.ts) and the published package ships.
 */
export const PROTO_FILE = [new URL('../../protocol/grpc_predict_v2.proto', import.meta.url), new URL('grpc_predict_v2.proto', import.meta.url)]
  .map((u) => fileURLToPath(u))
  .find((f) => existsSync(f)) ?? fileURLToPath(new URL('grpc_predict_v2.proto', import.meta.url));

export const LOADER_OPTIONS: Options = { keepCase: true, longs: String, enums: String, defaults: false, oneofs: true };

export const SERVICE_NAME = 'inference.GRPCInferenceService';

/**
 * The .proto's definitions (proto-loader's, which a grpc-js client takes too) and
 * `inference.GRPCInferenceService`'s methods: each one's path and its messages' serializers.
 */
export function loadInferenceService(): { pkg: PackageDefinition; definition: ServiceDefinition } {
  const pkg = loadSync(PROTO_FILE, LOADER_OPTIONS);
  return { pkg, definition: pkg[SERVICE_NAME] as ServiceDefinition };
}

/** int64 fields: a number or a decimal string going out, a decimal string coming in. */
export type Int64 = number | string;

export interface InferParameter {
  bool_param?: boolean;
  int64_param?: Int64;
  string_param?: string;
  parameter_choice?: 'bool_param' | 'int64_param' | 'string_param';
}

export interface InferTensorContents {
  bool_contents?: boolean[];
  int_contents?: number[];
  int64_contents?: Int64[];
  uint_contents?: number[];
  uint64_contents?: Int64[];
  fp32_contents?: number[];
  fp64_contents?: number[];
  bytes_contents?: Uint8Array[];
}

export interface InferInputTensor {
  name?: string;
  datatype?: string;
  shape?: Int64[];
  parameters?: Record<string, InferParameter>;
  contents?: InferTensorContents;
}

export interface ModelInferRequest {
  model_name?: string;
  model_version?: string;
  id?: string;
  parameters?: Record<string, InferParameter>;
  inputs?: InferInputTensor[];
  outputs?: Array<{ name?: string; parameters?: Record<string, InferParameter> }>;
  raw_input_contents?: Uint8Array[];
}

export interface InferOutputTensor {
  name: string;
  datatype: string;
  shape: Int64[];
  parameters?: Record<string, InferParameter>;
  contents?: InferTensorContents;
}

export interface ModelInferResponse {
  model_name: string;
  model_version?: string;
  id?: string;
  parameters?: Record<string, InferParameter>;
  outputs: InferOutputTensor[];
  raw_output_contents: Uint8Array[];
}

export interface ModelRef {
  name?: string;
  version?: string;
}

export interface TensorMetadataMessage {
  name: string;
  datatype: string;
  shape: Int64[];
}

export interface ModelMetadataResponse {
  name: string;
  versions: string[];
  platform: string;
  inputs: TensorMetadataMessage[];
  outputs: TensorMetadataMessage[];
}

export interface ServerMetadataResponse {
  name: string;
  version: string;
  extensions: string[];
}
