// One frontend connection (one worker slot): read frame → decode → load or predict → encode → write.
// Frames are handled strictly in order; the first must be Load.
import type { Socket } from 'node:net';
import { decodeRequest, encodeReply } from '../protocol/codec.js';
import { FrameReader } from '../protocol/frame-reader.js';
import { PONG_REPLY, StatusCode, loadedMessage, type ReplyItem, type WorkerReply, type WorkerRequest } from '../protocol/messages.js';
import { errorStatus } from './handler-api.js';
import type { ModelHost } from './model-host.js';

export type LoadModel = (req: Extract<WorkerRequest, { kind: 'load' }>) => Promise<ModelHost>;

/** Generous: the frontend bounds what it sends by max_request_size already. */
const MAX_FIELD = 2 ** 31 - 1;

export function serveConnection(socket: Socket, loadModel: LoadModel, log: (msg: string) => void, maxResponseSize: number): Promise<void> {
  let host: ModelHost | undefined;
  let chain = Promise.resolve();

  const send = (reply: WorkerReply) => {
    socket.cork();
    for (const part of encodeReply(reply)) socket.write(part);
    socket.uncork();
  };

  const handle = async (req: WorkerRequest): Promise<void> => {
    // Pings belong on the control channel (ping-responder.ts); here one is answered in turn like any frame.
    if (req.kind === 'ping') {
      send(PONG_REPLY);
      return;
    }
    if (req.kind === 'load') {
      try {
        host = await loadModel(req);
        send({ code: StatusCode.ok, message: loadedMessage(req.modelName, process.pid), items: [] });
      } catch (err) {
        log(`load failed: ${(err as Error).stack ?? err}`);
        const oom = err instanceof RangeError && /memory/i.test(err.message);
        send({ code: oom ? StatusCode.outOfResources : StatusCode.internalError, message: `Failed to load model: ${(err as Error).message}`, items: [] });
        socket.end();
      }
      return;
    }
    if (!host) {
      send({ code: StatusCode.internalError, message: 'Model is not loaded.', items: [] });
      return;
    }
    try {
      const items = (await host.predict(req.batch)).map((item) => (item.body.length > maxResponseSize ? tooLarge(item, maxResponseSize) : item));
      send({ code: StatusCode.ok, message: 'Prediction success', items });
    } catch (err) {
      const code = errorStatus(err);
      send({ code, message: (err as Error).message || 'Prediction failed', items: [] });
    }
  };

  const reader = new FrameReader(decodeRequest, (req) => {
    chain = chain.then(() => handle(req));
  }, MAX_FIELD);

  return new Promise((resolve) => {
    socket.on('data', (chunk) => {
      try {
        reader.push(chunk);
      } catch (err) {
        log(`corrupt frame from frontend: ${(err as Error).message}`);
        socket.destroy();
      }
    });
    socket.on('error', (err) => log(`socket error: ${err.message}`));
    socket.on('close', () => resolve());
  });
}

/** An answer over max_response_size becomes that request's error; the frontend would refuse the frame. */
function tooLarge(item: ReplyItem, max: number): ReplyItem {
  const message = `Response of ${item.body.length} bytes exceeds max_response_size (${max} bytes).`;
  return {
    requestId: item.requestId, contentType: 'application/json', status: 500, reason: '', headers: [],
    body: Buffer.from(JSON.stringify({ code: 500, type: 'InternalServerException', message })),
  };
}
