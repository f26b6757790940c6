// Codec tests: the worked hex examples of the MMS wire format (docs/protocol.md, "Example: Load for the bundled model") byte for byte, round trips of every
// message type, and values sent in pieces.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeLoad, encodePing, encodePredict, encodeReply, encodeRequest } from '../../protocol/codec.js';
import { PONG_REPLY, errorItem, loadedMessage, parseLoadedPid, parseLoadedProvider, readErrorItem } from '../../protocol/messages.js';
import {
  BIG,
  loads,
  predicts,
  replies,
  SPEC_ERROR_REPLY,
  SPEC_LOAD_REPLY,
  SPEC_LOAD_REQUEST,
  SPEC_PREDICT_REPLY,
  SPEC_PREDICT_REQUEST,
  specErrorReply,
  specLoad,
  specLoadReply,
  specPredict,
  specPredictReply,
} from './fixtures.js';
import { decodeOneReply, decodeOneRequest, hex } from './helpers.js';

// ---- MMS worked examples -----------------------------------------------------------------------

describe('MMS worked examples', () => {
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
    assert.equal(parseLoadedProvider(reply.message), undefined);
  });

  it('adds the execution provider to the load reply after the pid', () => {
    const message = loadedMessage('mnist', 4242, 'cuda:1');
    assert.ok(message.startsWith(specLoadReply.message));
    assert.equal(parseLoadedPid(message), 4242);
    assert.equal(parseLoadedProvider(message), 'cuda:1');
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

  it('a worker failure as an error item: status, type and message, no HTTP body', () => {
    const failure = { status: 422, type: 'BadRequestException', message: 'bad input ✓' };
    const m = { code: 422, message: failure.message, items: [errorItem('r1', failure)] };
    const back = decodeOneReply(Buffer.concat(encodeReply(m)));
    assert.deepEqual(back, m);
    assert.deepEqual(readErrorItem(back.items[0]), failure);
    assert.equal(readErrorItem({ ...back.items[0], contentType: 'application/json' }), undefined);
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

describe('ping', () => {
  it('is the one byte 0x50 and its pong a plain 200 reply', () => {
    const frame = Buffer.concat(encodePing());
    assert.deepEqual(frame, hex('50'));
    assert.deepEqual(decodeOneRequest(frame), { kind: 'ping' });
    assert.deepEqual(Buffer.concat(encodeRequest({ kind: 'ping' })), frame);
    assert.deepEqual(decodeOneReply(Buffer.concat(encodeReply(PONG_REPLY))), PONG_REPLY);
  });
});
