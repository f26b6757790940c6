// JSON Schemas for the parts of KServe's CRDs that docker/k8s/kserve uses, written from KServe's API
// reference (serving.kserve.io v1alpha1 ServingRuntimeSpec, v1beta1 InferenceServiceSpec,
// PredictorSpec, ModelSpec). Strict where we write fields (unknown fields are refused, as a typo
// would be); containers are checked against the Kubernetes Container schema separately.

const stringMap = { type: 'object', additionalProperties: { type: 'string' } };
const protocol = { enum: ['v1', 'v2', 'grpc-v1', 'grpc-v2'] };
const metadata = {
  type: 'object',
  required: ['name'],
  properties: { name: { type: 'string', pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$', maxLength: 63 }, namespace: { type: 'string' }, labels: stringMap, annotations: stringMap },
  additionalProperties: false,
};

export const SERVING_RUNTIME = {
  type: 'object',
  required: ['apiVersion', 'kind', 'metadata', 'spec'],
  properties: {
    apiVersion: { const: 'serving.kserve.io/v1alpha1' },
    kind: { const: 'ServingRuntime' },
    metadata,
    spec: {
      type: 'object',
      required: ['containers'],
      properties: {
        supportedModelFormats: {
          type: 'array',
          items: {
            type: 'object',
            required: ['name'],
            properties: { name: { type: 'string' }, version: { type: 'string' }, autoSelect: { type: 'boolean' }, priority: { type: 'integer', minimum: 1 } },
            additionalProperties: false,
          },
        },
        protocolVersions: { type: 'array', items: protocol },
        multiModel: { type: 'boolean' },
        disabled: { type: 'boolean' },
        annotations: stringMap,
        labels: stringMap,
        nodeSelector: stringMap,
        containers: { type: 'array', minItems: 1, items: { type: 'object' } },
        volumes: { type: 'array' },
        httpDataPlanePort: { type: 'integer' },
      },
      additionalProperties: false,
    },
  },
  additionalProperties: false,
};

export const INFERENCE_SERVICE = {
  type: 'object',
  required: ['apiVersion', 'kind', 'metadata', 'spec'],
  properties: {
    apiVersion: { const: 'serving.kserve.io/v1beta1' },
    kind: { const: 'InferenceService' },
    metadata,
    spec: {
      type: 'object',
      required: ['predictor'],
      properties: {
        predictor: {
          type: 'object',
          properties: {
            minReplicas: { type: 'integer', minimum: 0 },
            maxReplicas: { type: 'integer', minimum: 0 },
            scaleTarget: { type: 'integer' },
            scaleMetric: { enum: ['cpu', 'memory', 'concurrency', 'rps'] },
            containerConcurrency: { type: 'integer' },
            timeout: { type: 'integer' },
            serviceAccountName: { type: 'string' },
            model: {
              type: 'object',
              required: ['modelFormat'],
              properties: {
                modelFormat: { type: 'object', required: ['name'], properties: { name: { type: 'string' }, version: { type: 'string' } }, additionalProperties: false },
                runtime: { type: 'string' },
                runtimeVersion: { type: 'string' },
                protocolVersion: protocol,
                storageUri: { type: 'string', pattern: '^(s3|gs|pvc|https?|hdfs|webhdfs|oci|hf)://' },
                args: { type: 'array', items: { type: 'string' } },
                env: { type: 'array' },
                resources: { type: 'object' },
              },
              additionalProperties: false,
            },
          },
          additionalProperties: false,
        },
      },
      additionalProperties: false,
    },
  },
  additionalProperties: false,
};
