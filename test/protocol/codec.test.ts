// Codec and framing tests: round trips of every message type, the worked hex examples of
// protocol.md §8 byte for byte, arbitrary chunkings, zero-copy views, and corrupt-length handling.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  decodeReply,
  decodeRequest,
  encodeLoad,
  encodePredict,
  encodeReply,
  encodeRequest,
} from '../../protocol/codec.js';
import { FrameError, FrameReader, type Decoder } from '../../protocol/frame-reader.js';
import {
  ERROR_ITEM_BODY,
  loadedMessage,
  parseLoadedPid,
  type LoadRequest,
  type PredictRequest,
  type WorkerReply,
  type WorkerRequest,
} from '../../protocol/messages.js';

const MAX = 6_553_500;

/** Parses a hex dump: whitespace-separated byte pairs, no offsets or annotations. */
function hex(s: string): Buffer {
  const clean = s.replace(/\s+/g, '');
  assert.equal(clean.length % 2, 0, 'odd hex digit count');
  return Buffer.from(clean, 'hex');
}

/** Feeds `chunks` to a fresh reader; returns the emitted frames and the reader. */
function feed<T>(decode: Decoder<T>, chunks: Buffer[], maxLength = MAX): { frames: T[]; reader: FrameReader<T> } {
  const frames: T[] = [];
  const reader = new FrameReader<T>(decode, (m) => frames.push(m), maxLength);
  for (const c of chunks) reader.push(c);
  return { frames, reader };
}

function decodeOneRequest(bytes: Buffer, maxLength = MAX): WorkerRequest {
  const { frames, reader } = feed(decodeRequest, [bytes], maxLength);
  assert.equal(frames.length, 1, 'expected exactly one frame');
  assert.equal(reader.buffered, 0, 'frame must consume every byte');
  return frames[0];
}

function decodeOneReply(bytes: Buffer, maxLength = MAX): WorkerReply {
  const { frames, reader } = feed(decodeReply, [bytes], maxLength);
  assert.equal(frames.length, 1, 'expected exactly one frame');
  assert.equal(reader.buffered, 0, 'frame must consume every byte');
  return frames[0];
}

/** Copies a buffer into its own fresh ArrayBuffer (nothing pooled, nothing aliased). */
function copy(b: Buffer): Buffer {
  const out = Buffer.allocUnsafeSlow(b.length);
  b.copy(out);
  return out;
}

// ---- spec §8 worked examples ------------------------------------------------------------------

const SPEC_LOAD_REQUEST = hex(`
  4c 00 00 00 05 6d 6e 69 73 74 00 00 00 0a 2f 74
  6d 70 2f 6d 2f 61 62 63 00 00 00 01 00 00 00 0e
  73 65 72 76 69 63 65 3a 68 61 6e 64 6c 65 ff ff
  ff ff 00 00 00 03 66 64 31`);

const SPEC_LOAD_REPLY = hex(`
  00 00 00 c8 00 00 00 1e 6c 6f 61 64 65 64 20 6d
  6f 64 65 6c 20 6d 6e 69 73 74 2e 20 5b 50 49 44
  5d 3a 34 32 34 32 ff ff ff ff`);

const SPEC_PREDICT_REQUEST = hex(`
  49 00 00 00 02 72 31 00 00 00 06 61 63 63 65 70
  74 00 00 00 03 2a 2f 2a ff ff ff ff 00 00 00 04
  62 6f 64 79 00 00 00 10 61 70 70 6c 69 63 61 74
  69 6f 6e 2f 6a 73 6f 6e 00 00 00 07 7b 22 78 22
  3a 31 7d ff ff ff ff ff ff ff ff`);

const SPEC_PREDICT_REPLY = hex(`
  00 00 00 c8 00 00 00 12 50 72 65 64 69 63 74 69
  6f 6e 20 73 75 63 63 65 73 73 00 00 00 02 72 31
  00 00 00 0a 74 65 78 74 2f 70 6c 61 69 6e 00 00
  00 c8 00 00 00 00 00 00 00 01 00 00 00 0c 63 6f
  6e 74 65 6e 74 2d 74 79 70 65 00 00 00 0a 74 65
  78 74 2f 70 6c 61 69 6e 00 00 00 02 6f 6b ff ff
  ff ff`);

const SPEC_ERROR_REPLY = Buffer.concat([
  hex('000001f7 00000011'),
  Buffer.from('Prediction failed'),
  hex('00000002'),
  Buffer.from('r1'),
  hex('00000000 000001f7 00000000 00000000 00000005'),
  Buffer.from('error'),
  hex('ffffffff'),
]);

const specLoad: LoadRequest = {
  kind: 'load',
  modelName: 'mnist',
  modelPath: '/tmp/m/abc',
  batchSize: 1,
  handler: 'service:handle',
  gpuId: -1,
  ioDescriptor: 'fd1',
};

const specLoadReply: WorkerReply = { code: 200, message: 'loaded model mnist. [PID]:4242', items: [] };

const specPredict: PredictRequest = {
  kind: 'predict',
  batch: [
    {
      requestId: 'r1',
      headers: [['accept', '*/*']],
      parameters: [{ name: 'body', contentType: 'application/json', value: Buffer.from('{"x":1}') }],
    },
  ],
};

const specPredictReply: WorkerReply = {
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

const specErrorReply: WorkerReply = {
  code: 503,
  message: 'Prediction failed',
  items: [{ requestId: 'r1', contentType: '', status: 503, reason: '', headers: [], body: ERROR_ITEM_BODY }],
};

describe('spec §8 worked examples', () => {
  it('has the documented sizes', () => {
    assert.equal(SPEC_LOAD_REQUEST.length, 57);
    assert.equal(SPEC_LOAD_REPLY.length, 42);
    assert.equal(SPEC_PREDICT_REQUEST.length, 75);
    assert.equal(SPEC_PREDICT_REPLY.length, 98);
  });

  it('encodes the load request exactly', () => {
    assert.deepEqual(Buffer.concat(encodeLoad(specLoad)), SPEC_LOAD_REQUEST);
    assert.deepEqual(Buffer.concat(encodeRequest(specLoad)), SPEC_LOAD_REQUEST);
  });

  it('decodes the load request exactly', () => {
    assert.deepEqual(decodeOneRequest(SPEC_LOAD_REQUEST), specLoad);
  });

  it('encodes the load reply exactly', () => {
    assert.equal(loadedMessage('mnist', 4242), specLoadReply.message);
    assert.deepEqual(Buffer.concat(encodeReply(specLoadReply)), SPEC_LOAD_REPLY);
  });

  it('decodes the load reply exactly', () => {
    const reply = decodeOneReply(SPEC_LOAD_REPLY);
    assert.deepEqual(reply, specLoadReply);
    assert.equal(parseLoadedPid(reply.message), 4242);
  });

  it('encodes the predict request exactly', () => {
    assert.deepEqual(Buffer.concat(encodePredict(specPredict)), SPEC_PREDICT_REQUEST);
    assert.deepEqual(Buffer.concat(encodeRequest(specPredict)), SPEC_PREDICT_REQUEST);
  });

  it('decodes the predict request exactly', () => {
    assert.deepEqual(decodeOneRequest(SPEC_PREDICT_REQUEST), specPredict);
  });

  it('encodes the predict reply exactly', () => {
    assert.deepEqual(Buffer.concat(encodeReply(specPredictReply)), SPEC_PREDICT_REPLY);
  });

  it('decodes the predict reply exactly', () => {
    assert.deepEqual(decodeOneReply(SPEC_PREDICT_REPLY), specPredictReply);
  });

  it('encodes and decodes the error-form reply exactly', () => {
    assert.deepEqual(Buffer.concat(encodeReply(specErrorReply)), SPEC_ERROR_REPLY);
    assert.deepEqual(decodeOneReply(SPEC_ERROR_REPLY), specErrorReply);
  });
});

// ---- round trips ------------------------------------------------------------------------------

const BIG = Buffer.alloc(200 * 1024);
for (let i = 0; i < BIG.length; i++) BIG[i] = (i * 31 + 7) & 0xff;

const loads: LoadRequest[] = [
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

const predicts: PredictRequest[] = [
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

const replies: WorkerReply[] = [
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

describe('round trips', () => {
  it('load requests', () => {
    for (const m of loads) {
      const bytes = Buffer.concat(encodeLoad(m));
      assert.deepEqual(Buffer.concat(encodeRequest(m)), bytes);
      assert.deepEqual(decodeOneRequest(bytes), m);
    }
  });

  it('predict requests (several items, headers, params, empty values, 200 KB body)', () => {
    for (const m of predicts) {
      const bytes = Buffer.concat(encodePredict(m));
      assert.deepEqual(Buffer.concat(encodeRequest(m)), bytes);
      assert.deepEqual(decodeOneRequest(bytes), m);
    }
  });

  it('an empty batch is the command byte and one end marker', () => {
    assert.deepEqual(Buffer.concat(encodePredict({ kind: 'predict', batch: [] })), hex('49 ffffffff'));
  });

  it('replies (items, headers, error-form item, load reply with no items)', () => {
    for (const m of replies) {
      assert.deepEqual(decodeOneReply(Buffer.concat(encodeReply(m))), m);
    }
  });

  it('a load reply with no items is code, message, -1', () => {
    const bytes = Buffer.concat(encodeReply({ code: 200, message: 'm', items: [] }));
    assert.deepEqual(bytes, hex('000000c8 00000001 6d ffffffff'));
  });

  it('large values are referenced by the encoder, not copied', () => {
    const parts = encodePredict(predicts[3]);
    assert.ok(parts.some((p) => p === BIG), 'the 200 KB body should be one of the output buffers');
    const replyParts = encodeReply(replies[5]);
    assert.ok(replyParts.some((p) => p === BIG));
  });

  it('encoder output is independent of earlier encodes (no shared scratch corruption)', () => {
    const a = encodePredict(specPredict);
    const b = encodeReply(specPredictReply);
    encodeLoad(loads[2]);
    encodePredict(predicts[3]);
    assert.deepEqual(Buffer.concat(a), SPEC_PREDICT_REQUEST);
    assert.deepEqual(Buffer.concat(b), SPEC_PREDICT_REPLY);
  });
});

// ---- chunking ---------------------------------------------------------------------------------

function splitAt(b: Buffer, ...cuts: number[]): Buffer[] {
  const out: Buffer[] = [];
  let prev = 0;
  for (const c of cuts) {
    out.push(b.subarray(prev, c));
    prev = c;
  }
  out.push(b.subarray(prev));
  return out;
}

function bytewise(b: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < b.length; i++) out.push(copy(b.subarray(i, i + 1)));
  return out;
}

describe('chunking', () => {
  const requestCases: Array<[string, Buffer, WorkerRequest]> = [
    ['load', SPEC_LOAD_REQUEST, specLoad],
    ['predict', SPEC_PREDICT_REQUEST, specPredict],
  ];
  const replyCases: Array<[string, Buffer, WorkerReply]> = [
    ['load reply', SPEC_LOAD_REPLY, specLoadReply],
    ['predict reply', SPEC_PREDICT_REPLY, specPredictReply],
    ['error reply', SPEC_ERROR_REPLY, specErrorReply],
  ];

  it('decodes requests split at every byte boundary', () => {
    for (const [name, bytes, msg] of requestCases) {
      for (let i = 0; i <= bytes.length; i++) {
        const { frames, reader } = feed(decodeRequest, splitAt(bytes, i));
        assert.deepEqual(frames, [msg], `${name} split at ${i}`);
        assert.equal(reader.buffered, 0);
      }
    }
  });

  it('decodes replies split at every byte boundary', () => {
    for (const [name, bytes, msg] of replyCases) {
      for (let i = 0; i <= bytes.length; i++) {
        const { frames, reader } = feed(decodeReply, splitAt(bytes, i));
        assert.deepEqual(frames, [msg], `${name} split at ${i}`);
        assert.equal(reader.buffered, 0);
      }
    }
  });

  it('decodes frames split at every pair of boundaries', () => {
    for (const [name, bytes, msg] of requestCases) {
      for (let i = 0; i <= bytes.length; i++) {
        for (let j = i; j <= bytes.length; j++) {
          assert.deepEqual(feed(decodeRequest, splitAt(bytes, i, j)).frames, [msg], `${name} split at ${i},${j}`);
        }
      }
    }
    for (const [name, bytes, msg] of replyCases) {
      for (let i = 0; i <= bytes.length; i++) {
        for (let j = i; j <= bytes.length; j++) {
          assert.deepEqual(feed(decodeReply, splitAt(bytes, i, j)).frames, [msg], `${name} split at ${i},${j}`);
        }
      }
    }
  });

  it('emits nothing before the last byte, and exactly one frame at it, when fed one byte at a time', () => {
    for (const [name, bytes, msg] of requestCases) {
      const frames: WorkerRequest[] = [];
      const reader = new FrameReader(decodeRequest, (m) => frames.push(m), MAX);
      bytewise(bytes).forEach((b, i) => {
        reader.push(b);
        if (i < bytes.length - 1) {
          assert.equal(frames.length, 0, `${name}: frame emitted early at byte ${i}`);
          assert.equal(reader.buffered, i + 1);
        }
      });
      assert.deepEqual(frames, [msg]);
      assert.equal(reader.buffered, 0);
    }
    for (const [name, bytes, msg] of replyCases) {
      const frames: WorkerReply[] = [];
      const reader = new FrameReader(decodeReply, (m) => frames.push(m), MAX);
      bytewise(bytes).forEach((b, i) => {
        reader.push(b);
        if (i < bytes.length - 1) assert.equal(frames.length, 0, `${name}: frame emitted early at byte ${i}`);
      });
      assert.deepEqual(frames, [msg]);
    }
  });

  it('decodes the round-trip frames one byte at a time', () => {
    for (const m of loads) assert.deepEqual(feed(decodeRequest, bytewise(Buffer.concat(encodeLoad(m)))).frames, [m]);
    for (const m of [...predicts.slice(0, 3), specPredict]) {
      assert.deepEqual(feed(decodeRequest, bytewise(Buffer.concat(encodePredict(m)))).frames, [m]);
    }
    for (const m of replies.slice(0, 5)) {
      assert.deepEqual(feed(decodeReply, bytewise(Buffer.concat(encodeReply(m)))).frames, [m]);
    }
  });

  it('decodes the 200 KB frames in small odd-sized chunks', () => {
    // Not one byte at a time: FrameReader.consume() shifts its chunk array once per chunk, which is
    // quadratic in the number of chunks a frame spans (200 K one-byte chunks take seconds).
    const inChunks = (b: Buffer, size: number): Buffer[] => {
      const out: Buffer[] = [];
      for (let i = 0; i < b.length; i += size) out.push(copy(b.subarray(i, i + size)));
      return out;
    };
    const req = Buffer.concat(encodePredict(predicts[3]));
    const rep = Buffer.concat(encodeReply(replies[5]));
    for (const size of [13, 1000, 4099, 65536]) {
      assert.deepEqual(feed(decodeRequest, inChunks(req, size)).frames, [predicts[3]], `request, chunk size ${size}`);
      assert.deepEqual(feed(decodeReply, inChunks(rep, size)).frames, [replies[5]], `reply, chunk size ${size}`);
    }
  });

  it('ignores empty chunks', () => {
    const parts = [Buffer.alloc(0), ...splitAt(SPEC_LOAD_REQUEST, 10), Buffer.alloc(0)];
    parts.splice(2, 0, Buffer.alloc(0));
    const { frames, reader } = feed(decodeRequest, parts);
    assert.deepEqual(frames, [specLoad]);
    assert.equal(reader.buffered, 0);
  });

  it('decodes several frames in one chunk, in order', () => {
    const all = Buffer.concat([
      SPEC_LOAD_REQUEST,
      SPEC_PREDICT_REQUEST,
      ...encodePredict(predicts[3]),
      ...encodeLoad(loads[2]),
      ...encodePredict(predicts[1]),
    ]);
    const expected = [specLoad, specPredict, predicts[3], loads[2], predicts[1]];
    assert.deepEqual(feed(decodeRequest, [all]).frames, expected);

    const allReplies = Buffer.concat([SPEC_LOAD_REPLY, SPEC_PREDICT_REPLY, SPEC_ERROR_REPLY, ...encodeReply(replies[5])]);
    assert.deepEqual(feed(decodeReply, [allReplies]).frames, [specLoadReply, specPredictReply, specErrorReply, replies[5]]);
  });

  it('decodes several frames whose boundaries straddle chunks, keeping the remainder buffered', () => {
    const all = Buffer.concat([SPEC_LOAD_REQUEST, SPEC_PREDICT_REQUEST, SPEC_LOAD_REQUEST]);
    const expected = [specLoad, specPredict, specLoad];
    for (let i = 0; i <= all.length; i += 3) {
      for (let j = i; j <= all.length; j += 7) {
        assert.deepEqual(feed(decodeRequest, splitAt(all, i, j)).frames, expected, `split at ${i},${j}`);
      }
    }
    // Two frames plus a partial third: the partial bytes stay buffered until the rest arrives.
    const frames: WorkerRequest[] = [];
    const reader = new FrameReader(decodeRequest, (m) => frames.push(m), MAX);
    const cut = SPEC_LOAD_REQUEST.length + SPEC_PREDICT_REQUEST.length + 20;
    reader.push(all.subarray(0, cut));
    assert.deepEqual(frames, [specLoad, specPredict]);
    assert.equal(reader.buffered, 20);
    reader.push(all.subarray(cut));
    assert.deepEqual(frames, expected);
    assert.equal(reader.buffered, 0);
  });
});

// ---- zero-copy views --------------------------------------------------------------------------

function within(view: Buffer, chunk: Buffer): boolean {
  return (
    view.buffer === chunk.buffer &&
    view.byteOffset >= chunk.byteOffset &&
    view.byteOffset + view.length <= chunk.byteOffset + chunk.length
  );
}

describe('views', () => {
  it('a large parameter inside one chunk is a view on that chunk', () => {
    const chunk = copy(Buffer.concat(encodePredict(predicts[3])));
    const [m] = feed(decodeRequest, [chunk]).frames;
    assert.equal(m.kind, 'predict');
    if (m.kind !== 'predict') return;
    const body = m.batch[0].parameters[0].value;
    assert.deepEqual(body, BIG);
    assert.ok(within(body, chunk), 'body should share the chunk\'s ArrayBuffer');
    // Writing through the chunk is visible in the decoded value: it really is a view.
    chunk[body.byteOffset - chunk.byteOffset] ^= 0xff;
    assert.equal(body[0], BIG[0] ^ 0xff);
  });

  it('a large reply body inside one chunk is a view on that chunk', () => {
    const chunk = copy(Buffer.concat(encodeReply(replies[5])));
    const [m] = feed(decodeReply, [chunk]).frames;
    const body = m.items[2].body;
    assert.deepEqual(body, BIG);
    assert.ok(within(body, chunk));
  });

  it('a body in a later chunk, after a consumed frame prefix, is a view on its own chunk', () => {
    const first = Buffer.concat([SPEC_PREDICT_REPLY]);
    const second = copy(Buffer.concat(encodeReply(replies[5])));
    // Chunk 1: the whole first frame and the first 10 bytes of the second; chunk 2: the rest.
    const c1 = copy(Buffer.concat([first, second.subarray(0, 10)]));
    const c2 = copy(second.subarray(10));
    const { frames } = feed(decodeReply, [c1, c2]);
    assert.equal(frames.length, 2);
    assert.deepEqual(frames[1], replies[5]);
    assert.ok(within(frames[1].items[2].body, c2), 'body lying wholly in chunk 2 should be a view on it');
  });

  it('a body split across chunks is still decoded correctly (as a copy)', () => {
    const bytes = copy(Buffer.concat(encodeReply(replies[5])));
    const mid = bytes.indexOf(BIG.subarray(0, 64)) + 100_000;
    const c1 = copy(bytes.subarray(0, mid));
    const c2 = copy(bytes.subarray(mid));
    const [m] = feed(decodeReply, [c1, c2]).frames;
    assert.deepEqual(m, replies[5]);
    assert.ok(!within(m.items[2].body, c1) && !within(m.items[2].body, c2));
  });
});

// ---- corrupt frames ---------------------------------------------------------------------------

function i32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
}

function str(s: string): Buffer {
  return Buffer.concat([i32(Buffer.byteLength(s)), Buffer.from(s)]);
}

function throwsFrameError(fn: () => unknown, message?: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof FrameError, `expected FrameError, got ${String(err)}`);
    assert.equal(err.name, 'FrameError');
    if (message) assert.match(err.message, message);
    return true;
  });
}

describe('corrupt frames', () => {
  it('rejects an unknown command byte', () => {
    for (const cmd of [0x00, 0x41, 0x4b, 0x4d, 0x48, 0x4a, 0xff]) {
      throwsFrameError(() => feed(decodeRequest, [Buffer.from([cmd, 0, 0, 0, 0])]), /unknown command/);
      // The command byte alone is enough to fail.
      throwsFrameError(() => feed(decodeRequest, [Buffer.from([cmd])]), /unknown command/);
    }
  });

  it('rejects lengths below -1 in requests', () => {
    for (const bad of [-2, -3, -1000, -2_147_483_648]) {
      // Load: model name length.
      throwsFrameError(() => feed(decodeRequest, [Buffer.concat([hex('4c'), i32(bad)])]), /invalid length/);
      // Predict: request id, header name, header value, parameter name, content type, value.
      throwsFrameError(() => feed(decodeRequest, [Buffer.concat([hex('49'), i32(bad)])]), /invalid length/);
      throwsFrameError(() => feed(decodeRequest, [Buffer.concat([hex('49'), str('r'), i32(bad)])]));
      throwsFrameError(() => feed(decodeRequest, [Buffer.concat([hex('49'), str('r'), str('h'), i32(bad)])]));
      throwsFrameError(() => feed(decodeRequest, [Buffer.concat([hex('49'), str('r'), i32(-1), i32(bad)])]));
      throwsFrameError(() => feed(decodeRequest, [Buffer.concat([hex('49'), str('r'), i32(-1), str('p'), i32(bad)])]));
      throwsFrameError(() =>
        feed(decodeRequest, [Buffer.concat([hex('49'), str('r'), i32(-1), str('p'), str(''), i32(bad)])]),
      );
    }
  });

  it('rejects lengths below -1 in replies', () => {
    for (const bad of [-2, -7, -2_147_483_648]) {
      const head = Buffer.concat([i32(200), str('m'), str('r1'), str('ct'), i32(200), str('')]);
      throwsFrameError(() => feed(decodeReply, [Buffer.concat([i32(200), i32(bad)])]), /invalid length/);
      throwsFrameError(() => feed(decodeReply, [Buffer.concat([i32(200), str('m'), i32(bad)])]));
      throwsFrameError(() => feed(decodeReply, [Buffer.concat([i32(200), str('m'), str('r1'), i32(bad)])]));
      throwsFrameError(() => feed(decodeReply, [Buffer.concat([head, i32(bad)])]));
      throwsFrameError(() => feed(decodeReply, [Buffer.concat([head, i32(1), i32(bad)])]));
      throwsFrameError(() => feed(decodeReply, [Buffer.concat([head, i32(1), str('k'), i32(bad)])]));
      throwsFrameError(() => feed(decodeReply, [Buffer.concat([head, i32(0), i32(bad)])]));
    }
  });

  it('rejects -1 where a value (not an end marker) is required', () => {
    throwsFrameError(() => feed(decodeRequest, [Buffer.concat([hex('4c'), i32(-1)])]), /end marker/);
    throwsFrameError(() => feed(decodeRequest, [Buffer.concat([hex('49'), str('r'), str('h'), i32(-1)])]), /end marker/);
    throwsFrameError(() =>
      feed(decodeRequest, [Buffer.concat([hex('49'), str('r'), i32(-1), str('p'), str(''), i32(-1)])]),
    );
    throwsFrameError(() => feed(decodeReply, [Buffer.concat([i32(200), i32(-1)])]), /end marker/);
    // A -1 header count is corrupt (response headers are count-prefixed).
    const head = Buffer.concat([i32(200), str('m'), str('r1'), str(''), i32(200), str('')]);
    throwsFrameError(() => feed(decodeReply, [Buffer.concat([head, i32(-1)])]), /header count/);
  });

  it('enforces maxLength on every length field, inclusive', () => {
    const max = 16;
    const ok = { kind: 'load', modelName: 'x'.repeat(max), modelPath: '', batchSize: 1, handler: '', gpuId: -1, ioDescriptor: '' } as const;
    assert.deepEqual(decodeOneRequest(Buffer.concat(encodeLoad(ok)), max), ok);
    const tooLong = { ...ok, modelName: 'x'.repeat(max + 1) };
    throwsFrameError(() => feed(decodeRequest, [Buffer.concat(encodeLoad(tooLong))], max), /invalid length 17/);
    // The check fires on the length field alone, before the bytes arrive.
    throwsFrameError(() => feed(decodeRequest, [Buffer.concat([hex('4c'), i32(max + 1)])], max));
    throwsFrameError(() => feed(decodeRequest, [Buffer.concat([hex('4c'), i32(2_147_483_647)])], max));

    const value: PredictRequest = {
      kind: 'predict',
      batch: [{ requestId: 'r', headers: [], parameters: [{ name: 'body', contentType: '', value: Buffer.alloc(max) }] }],
    };
    assert.deepEqual(decodeOneRequest(Buffer.concat(encodePredict(value)), max), value);
    const bigValue: PredictRequest = {
      kind: 'predict',
      batch: [{ requestId: 'r', headers: [], parameters: [{ name: 'body', contentType: '', value: Buffer.alloc(max + 1) }] }],
    };
    throwsFrameError(() => feed(decodeRequest, [Buffer.concat(encodePredict(bigValue))], max));

    const reply: WorkerReply = {
      code: 200,
      message: 'm',
      items: [{ requestId: 'r', contentType: '', status: 200, reason: '', headers: [], body: Buffer.alloc(max) }],
    };
    assert.deepEqual(decodeOneReply(Buffer.concat(encodeReply(reply)), max), reply);
    const bigReply: WorkerReply = { ...reply, items: [{ ...reply.items[0], body: Buffer.alloc(max + 1) }] };
    throwsFrameError(() => feed(decodeReply, [Buffer.concat(encodeReply(bigReply))], max));
    // Header count above maxLength is corrupt too.
    const head = Buffer.concat([i32(200), str('m'), str('r1'), str(''), i32(200), str('')]);
    throwsFrameError(() => feed(decodeReply, [Buffer.concat([head, i32(max + 1)])], max));
  });

  it('throws FrameError from push when the bad field arrives in a later chunk', () => {
    const frames: WorkerRequest[] = [];
    const reader = new FrameReader(decodeRequest, (m) => frames.push(m), MAX);
    reader.push(SPEC_LOAD_REQUEST);
    reader.push(hex('49 ff'));
    reader.push(hex('ff'));
    assert.equal(reader.buffered, 3);
    throwsFrameError(() => reader.push(hex('ff fe')), /invalid length -2/);
    assert.deepEqual(frames, [specLoad], 'the good frame before the bad one is still delivered');
  });

  it('delivers the good frames that precede a corrupt one in the same chunk', () => {
    const frames: WorkerReply[] = [];
    const reader = new FrameReader(decodeReply, (m) => frames.push(m), MAX);
    throwsFrameError(() => reader.push(Buffer.concat([SPEC_LOAD_REPLY, SPEC_PREDICT_REPLY, i32(200), i32(-5)])));
    assert.deepEqual(frames, [specLoadReply, specPredictReply]);
  });
});

describe('values sent in pieces', () => {
  it('encode exactly as the joined value, without copying the pieces', () => {
    const pieces = [Buffer.alloc(70_000, 1), Buffer.alloc(40_000, 2), Buffer.alloc(0), Buffer.from('tail')];
    const item = (value: Buffer | readonly Buffer[]) => ({ requestId: 'r', headers: [] as Array<[string, string]>, parameters: [{ name: 'body', contentType: 'application/octet-stream', value }] });
    const split = encodePredict({ kind: 'predict', batch: [item(pieces)] });
    const joined = encodePredict({ kind: 'predict', batch: [item(Buffer.concat(pieces))] });
    assert.deepEqual(Buffer.concat(split), Buffer.concat(joined));
    assert.ok(split.includes(pieces[0]) && split.includes(pieces[1]), 'large pieces are referenced, not copied');
  });
});
