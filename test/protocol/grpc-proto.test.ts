// grpc_predict_v2.proto against the published Open Inference Protocol definition (KServe's
// grpc_predict_v2.proto): the package and service names, every RPC's path, every message's field
// numbers, and the bytes a message encodes to, tag by tag, so stock clients interoperate.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadSync } from '@grpc/proto-loader';
import { LOADER_OPTIONS, PROTO_FILE, SERVICE_NAME, loadInferenceService } from '../../protocol/grpc-proto.js';

/** The specification's field numbers, message by message. */
const SPEC: Record<string, Record<string, number>> = {
  ServerLiveRequest: {},
  ServerLiveResponse: { live: 1 },
  ServerReadyRequest: {},
  ServerReadyResponse: { ready: 1 },
  ModelReadyRequest: { name: 1, version: 2 },
  ModelReadyResponse: { ready: 1 },
  ServerMetadataRequest: {},
  ServerMetadataResponse: { name: 1, version: 2, extensions: 3 },
  ModelMetadataRequest: { name: 1, version: 2 },
  ModelMetadataResponse: { name: 1, versions: 2, platform: 3, inputs: 4, outputs: 5 },
  'ModelMetadataResponse.TensorMetadata': { name: 1, datatype: 2, shape: 3 },
  ModelInferRequest: { model_name: 1, model_version: 2, id: 3, parameters: 4, inputs: 5, outputs: 6, raw_input_contents: 7 },
  'ModelInferRequest.InferInputTensor': { name: 1, datatype: 2, shape: 3, parameters: 4, contents: 5 },
  'ModelInferRequest.InferRequestedOutputTensor': { name: 1, parameters: 2 },
  ModelInferResponse: { model_name: 1, model_version: 2, id: 3, parameters: 4, outputs: 5, raw_output_contents: 6 },
  'ModelInferResponse.InferOutputTensor': { name: 1, datatype: 2, shape: 3, parameters: 4, contents: 5 },
  InferParameter: { bool_param: 1, int64_param: 2, string_param: 3 },
  InferTensorContents: {
    bool_contents: 1, int_contents: 2, int64_contents: 3, uint_contents: 4, uint64_contents: 5, fp32_contents: 6, fp64_contents: 7, bytes_contents: 8,
  },
};

const RPCS = ['ServerLive', 'ServerReady', 'ModelReady', 'ServerMetadata', 'ModelMetadata', 'ModelInfer'];

describe('grpc_predict_v2.proto', () => {
  const definition = loadSync(PROTO_FILE, LOADER_OPTIONS);
  const { definition: service } = loadInferenceService();

  it('has the specification\'s messages with its field numbers, and no others', () => {
    type Descriptor = { name?: string; field: Array<{ name: string; number: number }>; nestedType: Descriptor[] };
    for (const [name, fields] of Object.entries(SPEC)) {
      const [outer, inner] = name.split('.');
      const top = (definition[`inference.${outer}`] as { type?: Descriptor } | undefined)?.type;
      const type = inner ? top?.nestedType.find((t) => t.name === inner) : top;
      assert.ok(type, `missing message inference.${name}`);
      const numbers = Object.fromEntries(type.field.map((f) => [f.name, f.number]));
      assert.deepEqual(numbers, fields, `field numbers of ${name}`);
    }
  });

  it('serves inference.GRPCInferenceService with the six RPCs at their paths', () => {
    assert.equal(SERVICE_NAME, 'inference.GRPCInferenceService');
    assert.deepEqual(Object.keys(service).sort(), [...RPCS].sort());
    for (const rpc of RPCS) assert.equal(service[rpc].path, `/inference.GRPCInferenceService/${rpc}`);
  });

  it('encodes ModelInferRequest tag by tag as the specification numbers it', () => {
    const bytes = service.ModelInfer.requestSerialize({
      model_name: 'm', id: 'i',
      inputs: [{ name: 'x', datatype: 'FP32', shape: [1], contents: { fp32_contents: [1] } }],
      raw_input_contents: [Buffer.from([1, 2])],
    });
    assert.equal(Buffer.from(bytes).toString('hex'), [
      '0a016d', // 1 model_name, length-delimited: "m"
      '1a0169', // 3 id: "i"
      '2a14', // 5 inputs, 20 bytes:
      '0a0178', //   1 name "x"
      '12044650' + '3332', //   2 datatype "FP32"
      '1a0101', //   3 shape, packed: [1]
      '2a06', //   5 contents, 6 bytes:
      '32040000803f', //     6 fp32_contents, packed: [1.0]
      '3a020102', // 7 raw_input_contents: 01 02
    ].join(''));
  });

  it('decodes a ModelInferResponse from bytes laid out by the specification', () => {
    // 1 model_name "m", 3 id "q", 5 outputs { 1 name "y", 2 datatype "FP32", 3 shape [2] }, 6 raw_output_contents 01 02.
    const bytes = Buffer.from('0a016d' + '1a0171' + '2a0c' + '0a0179' + '120446503332' + '1a0102' + '32020102', 'hex');
    const msg = service.ModelInfer.responseDeserialize(bytes) as Record<string, unknown>;
    assert.equal(msg.model_name, 'm');
    assert.equal(msg.id, 'q');
    assert.deepEqual(msg.outputs, [{ name: 'y', datatype: 'FP32', shape: ['2'] }]);
    assert.deepEqual(msg.raw_output_contents, [Buffer.from([1, 2])]);
  });
});
