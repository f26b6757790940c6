// Messages shared by the protocol tests: the worked hex examples of the MMS wire format (docs/protocol.md, "Example: Load for the bundled model") with their
// decoded forms, and the round-trip messages (every field shape, a 200 KB value).
import { ERROR_ITEM_BODY, type LoadRequest, type PredictRequest, type WorkerReply } from '../../protocol/messages.js';
import { hex } from './helpers.js';

export const SPEC_LOAD_REQUEST = hex(`
  4c 00 00 00 05 6d 6e 69 73 74 00 00 00 0a 2f 74
  6d 70 2f 6d 2f 61 62 63 00 00 00 01 00 00 00 0e
  73 65 72 76 69 63 65 3a 68 61 6e 64 6c 65 ff ff
  ff ff 00 00 00 03 66 64 31`);

export const SPEC_LOAD_REPLY = hex(`
  00 00 00 c8 00 00 00 1e 6c 6f 61 64 65 64 20 6d
  6f 64 65 6c 20 6d 6e 69 73 74 2e 20 5b 50 49 44
  5d 3a 34 32 34 32 ff ff ff ff`);

export const SPEC_PREDICT_REQUEST = hex(`
  49 00 00 00 02 72 31 00 00 00 06 61 63 63 65 70
  74 00 00 00 03 2a 2f 2a ff ff ff ff 00 00 00 04
  62 6f 64 79 00 00 00 10 61 70 70 6c 69 63 61 74
  69 6f 6e 2f 6a 73 6f 6e 00 00 00 07 7b 22 78 22
  3a 31 7d ff ff ff ff ff ff ff ff`);

export const SPEC_PREDICT_REPLY = hex(`
  00 00 00 c8 00 00 00 12 50 72 65 64 69 63 74 69
  6f 6e 20 73 75 63 63 65 73 73 00 00 00 02 72 31
  00 00 00 0a 74 65 78 74 2f 70 6c 61 69 6e 00 00
  00 c8 00 00 00 00 00 00 00 01 00 00 00 0c 63 6f
  6e 74 65 6e 74 2d 74 79 70 65 00 00 00 0a 74 65
  78 74 2f 70 6c 61 69 6e 00 00 00 02 6f 6b ff ff
  ff ff`);

export const SPEC_ERROR_REPLY = Buffer.concat([
  hex('000001f7 00000011'),
  Buffer.from('Prediction failed'),
  hex('00000002'),
  Buffer.from('r1'),
  hex('00000000 000001f7 00000000 00000000 00000005'),
  Buffer.from('error'),
  hex('ffffffff'),
]);

export const specLoad: LoadRequest = {
  kind: 'load',
  modelName: 'mnist',
  modelPath: '/tmp/m/abc',
  batchSize: 1,
  handler: 'service:handle',
  gpuId: -1,
  ioDescriptor: 'fd1',
};

export const specLoadReply: WorkerReply = { code: 200, message: 'loaded model mnist. [PID]:4242', items: [] };

export const specPredict: PredictRequest = {
  kind: 'predict',
  batch: [
    {
      requestId: 'r1',
      headers: [['accept', '*/*']],
      parameters: [{ name: 'body', contentType: 'application/json', value: Buffer.from('{"x":1}') }],
    },
  ],
};

export const specPredictReply: WorkerReply = {
  code: 200,
  message: 'Prediction success',
  items: [
    {
      requestId: 'r1',
      contentType: 'text/plain',
      status: 200,
      reason: '',
      headers: [['content-type', 'text/plain']],
      body: Buffer.from('ok'),
    },
  ],
};

export const specErrorReply: WorkerReply = {
  code: 503,
  message: 'Prediction failed',
  items: [{ requestId: 'r1', contentType: '', status: 503, reason: '', headers: [], body: ERROR_ITEM_BODY }],
};

export const BIG = Buffer.alloc(200 * 1024);
for (let i = 0; i < BIG.length; i++) BIG[i] = (i * 31 + 7) & 0xff;

export const loads: LoadRequest[] = [
  specLoad,
  { kind: 'load', modelName: '', modelPath: '', batchSize: 0, handler: '', gpuId: 0, ioDescriptor: '' },
  {
    kind: 'load',
    modelName: 'résumé-模型-😀',
    modelPath: '/tmp/models/' + 'x'.repeat(5000),
    batchSize: 2_147_483_647,
    handler: 'onnx',
    gpuId: -2_147_483_648,
    ioDescriptor: '0242acfffe110002-00000001-00000001-8d2c0c2d6d2b6a4a-9c1d4f1a',
  },
];

export const predicts: PredictRequest[] = [
  specPredict,
  { kind: 'predict', batch: [] },
  { kind: 'predict', batch: [{ requestId: '', headers: [], parameters: [] }] },
  {
    kind: 'predict',
    batch: [
      {
        requestId: '0f8e2a4c-1111-4a4a-8b8b-123456789abc',
        headers: [
          ['host', 'localhost:8080'],
          ['content-type', 'application/octet-stream'],
          ['x-empty', ''],
          ['', 'empty-name'],
          ['x-ünïcödé', '値 😀'],
        ],
        parameters: [
          { name: 'body', contentType: 'application/octet-stream', value: BIG },
          { name: 'q', contentType: '', value: Buffer.from('1') },
          { name: 'empty', contentType: '', value: Buffer.alloc(0) },
          { name: '', contentType: 'text/plain', value: Buffer.from('nameless') },
          { name: 'inline-edge', contentType: '', value: Buffer.alloc(1023, 1) },
          { name: 'ref-edge', contentType: '', value: Buffer.alloc(1024, 2) },
        ],
      },
      {
        requestId: 'r2',
        headers: [],
        parameters: [{ name: 'data', contentType: 'application/json', value: Buffer.from('{"inputs":[1,2,3]}') }],
      },
      {
        requestId: 'r3',
        headers: [['accept', '*/*']],
        parameters: [],
      },
    ],
  },
];

export const replies: WorkerReply[] = [
  specLoadReply,
  specPredictReply,
  specErrorReply,
  { code: 507, message: 'System out of memory', items: [] },
  { code: 0, message: '', items: [] },
  {
    code: 200,
    message: 'Prediction success',
    items: [
      {
        requestId: 'a',
        contentType: 'application/json',
        status: 200,
        reason: 'OK',
        headers: [
          ['content-type', 'application/json'],
          ['x-a', ''],
          ['', ''],
          ['x-ü', 'ü'],
        ],
        body: Buffer.from('{"outputs":[]}'),
      },
      { requestId: 'b', contentType: '', status: 200, reason: '', headers: [], body: Buffer.alloc(0) },
      { requestId: 'c', contentType: 'application/octet-stream', status: 201, reason: 'Created', headers: [], body: BIG },
      { requestId: 'd', contentType: '', status: 500, reason: '', headers: [], body: ERROR_ITEM_BODY },
    ],
  },
];
