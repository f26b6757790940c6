// A failed session.run of the default ONNX handler, with real onnxruntime sessions: inputs the model
// cannot run on are the request's fault (400 INVALID_INPUT), a joined run that one request's values
// break fails only that request, and no message carries onnxruntime's source paths.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HandlerError, failureOf, type HandlerContext, type InferenceInput, type InferenceOutput } from '../../backend-worker/handler-api.js';
import { OnnxTensorHandler } from '../../backend-worker/handlers/default-onnx.js';
import { runError } from '../../backend-worker/ort-run-errors.js';
import { withoutSourcePaths } from '../../backend-worker/source-paths.js';
import { errorItem, readErrorItem } from '../../protocol/messages.js';
import { fromWorker } from '../../frontend/errors.js';
import { writeBroadcastAddModel, writeGatherModel } from '../helpers/onnx-models.js';

const item = (inputs: unknown[]): InferenceInput => ({
  requestId: 'r',
  headers: {},
  params: { body: { contentType: 'application/json', value: Buffer.from(JSON.stringify({ inputs })) } },
});

describe('failed runs of the default ONNX handler', { timeout: 30_000 }, () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'mms-run-errors-'));
  const handlers: OnnxTensorHandler[] = [];
  const load = async (name: string, write: (dir: string) => string): Promise<OnnxTensorHandler> => {
    const dir = path.join(root, name);
    write(dir);
    const handler = new OnnxTensorHandler();
    const options = { intraOpThreads: 1, interOpThreads: 1, executionProviders: ['cpu'], deviceId: 0 };
    await handler.initialize({ modelName: name, modelDir: dir, manifest: { runtime: 'onnx', model: { modelName: name } }, batchSize: 4, options } as unknown as HandlerContext);
    handlers.push(handler);
    return handler;
  };
  let bcast: OnnxTensorHandler;
  let gather: OnnxTensorHandler;
  before(async () => {
    bcast = await load('bcast', writeBroadcastAddModel);
    gather = await load('gather', writeGatherModel);
  });
  after(async () => {
    for (const h of handlers) await h.close();
    rmSync(root, { recursive: true, force: true });
  });

  const invalid = (out: InferenceOutput, message: RegExp) => {
    assert.ok(out instanceof HandlerError, String(out));
    assert.deepEqual([out.status, out.type, out.code], [400, 'BadRequestException', 'INVALID_INPUT']);
    assert.match(out.message, message);
    assert.doesNotMatch(out.message, /onnxruntime_src|\.h:\d+|was false/);
  };
  const answered = (out: InferenceOutput) => JSON.parse((out as { body: Buffer }).body.toString()).outputs[0].data;

  it('shapes that do not broadcast: 400 INVALID_INPUT, source paths stripped', async () => {
    const [out] = await bcast.handle([item([
      { name: 'a', shape: [2, 3], datatype: 'FP32', data: [1, 2, 3, 4, 5, 6] },
      { name: 'b', shape: [4, 5], datatype: 'FP32', data: new Array(20).fill(0) },
    ])]);
    invalid(out, /^The model cannot run on these inputs: Add node 'add': Attempting to broadcast an axis by a dimension other than 1\. 3 by 5$/);
  });

  it('a joined run one request breaks: the others are answered, that one is refused', async () => {
    const idx = (i: number) => item([{ name: 'idx', shape: [1, 1], datatype: 'INT64', data: [[i]] }]);
    const outs = await gather.handle([idx(0), idx(7), idx(2)]);
    assert.deepEqual(answered(outs[0]), [10]);
    invalid(outs[1], /Gather node 'gather': indices element out of data bounds, idx=7/);
    assert.deepEqual(answered(outs[2]), [30]);
  });

  it('failures no input causes stay the server\'s (507 OUT_OF_MEMORY for a failed allocation, else 500), without source paths', () => {
    const oom = runError(new Error("Non-zero status code returned while running MatMul node. Name:'mm' Status Message: /onnxruntime_src/onnxruntime/core/framework/bfc_arena.cc:376 void* onnxruntime::BFCArena::AllocateRawInternal(size_t, bool, onnxruntime::Stream*, bool, onnxruntime::WaitNotificationFn) Failed to allocate memory for requested buffer of size 4000000000\n"));
    assert.deepEqual([oom.status, oom.code], [507, 'OUT_OF_MEMORY']);
    assert.equal(oom.message, "Out of resources: Non-zero status code returned while running MatMul node. Name:'mm' Status Message: Failed to allocate memory for requested buffer of size 4000000000");
    const cuda = runError(new Error("Non-zero status code returned while running Conv node. Name:'c' Status Message: CUDNN failure 4: CUDNN_STATUS_INTERNAL_ERROR ; GPU=0 ; file=/onnxruntime_src/onnxruntime/core/providers/cuda/nn/conv.cc:123 ; expr=x;"));
    assert.deepEqual([cuda.status, cuda.code], [500, undefined]);
    assert.doesNotMatch(cuda.message, /onnxruntime_src|conv\.cc/);
  });

  it('the code and the stripped message travel in the error item to the frontend catalogue', () => {
    const f = failureOf(runError(new Error('Got invalid dimensions for input: x for the following indices\n index: 1 Got: 2 Expected: 1\n Please fix either the inputs/outputs or the model.')));
    assert.deepEqual(f, { status: 400, type: 'BadRequestException', code: 'INVALID_INPUT', message: 'The model cannot run on these inputs: Got invalid dimensions for input: x for the following indices index: 1 Got: 2 Expected: 1 Please fix either the inputs/outputs or the model.' });
    const back = readErrorItem(errorItem('r', f))!;
    assert.deepEqual(back, f);
    assert.deepEqual(fromWorker(back.status, back.type, back.message, back.code).toJSON(), { code: 400, type: 'BadRequestException', message: f.message, errorCode: 'INVALID_INPUT' });
    // A code no worker may name is a handler's error like any other.
    assert.equal(fromWorker(400, 'BadRequestException', 'x', 'INTERNAL').code, 'HANDLER_ERROR');
    // Any handler's thrown error reaches the client without native source locations.
    assert.equal(failureOf(new Error('boom at /onnxruntime_src/onnxruntime/core/session/inference_session.cc:42 in run')).message, 'boom at in run');
  });

  it('source locations are cut with the signature and the failed condition', () => {
    assert.equal(withoutSourcePaths('Status Message: /onnxruntime_src/onnxruntime/core/providers/cpu/math/element_wise_ops.h:563 void onnxruntime::BroadcastIterator::Init(ptrdiff_t, ptrdiff_t) axis == 1 || axis == largest was false. Attempting to broadcast. 3 by 5\n'), 'Status Message: Attempting to broadcast. 3 by 5');
    assert.equal(withoutSourcePaths('x: D:\\a\\_work\\1\\s\\onnxruntime\\core\\providers\\cpu\\tensor\\reshape_helper.h:45 onnxruntime::ReshapeHelper::ReshapeHelper(const TensorShape&, TensorShapeVector&, bool) The input tensor cannot be reshaped'), 'x: The input tensor cannot be reshaped');
    assert.equal(withoutSourcePaths('no paths here: shape {2,2}'), 'no paths here: shape {2,2}');
  });
});
