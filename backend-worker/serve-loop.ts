// One frontend connection: decode frames → Load (once per process, cached), Predict (handed to the
// process's shared BatchFormer) or Ping (answered in turn) → replies written in the order the frames
// came, which is how the frontend matches them (docs/protocol.md "Transport", "Worker-side batching").
// The first frame must be Load. The Load's io descriptor names the connection (a front sends its
// front id): each predict item from that connection carries it as the `x-mms-front` header.
import type { Socket } from 'node:net';
import { decodeRequest, encodeReply } from '../protocol/codec.js';
import { readFrames, writeFrameCoalesced } from '../protocol/frame-socket.js';
import { PONG_REPLY, StatusCode, loadedMessage, type LoadRequest, type RequestItem, type WorkerReply, type WorkerRequest } from '../protocol/messages.js';
import { metadataItem, type ModelMetadata } from '../protocol/model-metadata.js';
import { cancelledReply, type BatchFormer } from './batch-former.js';

/** The process's model once loaded: its batch queue, the execution provider its sessions run on and
 * the tensor metadata its handler reports. */
export interface LoadedModel {
  former: BatchFormer;
  provider?: string;
  metadata?: ModelMetadata;
}

/** Loads the process's model (once; later calls get the same result). */
export type LoadModel = (req: LoadRequest) => Promise<LoadedModel>;

/** Generous: the frontend bounds what it sends by max_request_size already. */
const MAX_FIELD = 2 ** 31 - 1;

/** The header that tells a handler which connection (front) an item came from. */
export const FRONT_HEADER = 'x-mms-front';

const NOT_LOADED: WorkerReply = { code: StatusCode.internalError, message: 'Model is not loaded.', items: [] };

export function serveConnection(socket: Socket, loadModel: LoadModel, log: (msg: string) => void): Promise<void> {
  let former: BatchFormer | undefined;
  /** The Load frame's io descriptor: who sends on this connection. */
  let origin = '';
  /** Frames are accepted in order: a predict behind a Load waits for the model. */
  let intake = Promise.resolve();
  /** Replies leave in frame order, whatever order their batches finish in. */
  let output = Promise.resolve();
  /**
   * Request ids of Cancel frames decoded but not yet accepted: a predict decoded with its cancel in one
   * read (the worker was busy while both arrived) is answered cancelled, not started.
   */
  const cancelled = new Set<string>();

  const send = (reply: WorkerReply) => {
    if (socket.destroyed) return;
    let frame: Buffer[];
    try {
      frame = encodeReply(reply);
    } catch (err) {
      // Every frame gets exactly one reply, or the front's matching slips: a reply that cannot be
      // framed (a handler's header of the wrong type, say) becomes a bare failure for its frame.
      log(`reply cannot be framed: ${(err as Error).message}`);
      frame = encodeReply({ code: StatusCode.internalError, message: `Worker reply cannot be framed: ${(err as Error).message}`, items: [] });
    }
    writeFrameCoalesced(socket, frame);
  };
  const answer = (reply: WorkerReply | Promise<WorkerReply>, then?: () => void) => {
    output = output
      .then(() => reply)
      .then((r) => {
        send(r);
        then?.();
      })
      .catch((err: unknown) => log(`reply failed: ${(err as Error)?.stack ?? err}`));
  };

  const load = async (req: LoadRequest): Promise<void> => {
    try {
      const loaded = await loadModel(req);
      former = loaded.former;
      origin = req.ioDescriptor;
      const items = loaded.metadata ? [metadataItem(loaded.metadata)] : [];
      answer({ code: StatusCode.ok, message: loadedMessage(req.modelName, process.pid, loaded.provider), items });
    } catch (err) {
      log(`load failed: ${(err as Error).stack ?? err}`);
      const oom = err instanceof RangeError && /memory/i.test(err.message);
      const code = oom ? StatusCode.outOfResources : StatusCode.internalError;
      answer({ code, message: `Failed to load model: ${(err as Error).message}`, items: [] }, () => socket.end());
    }
  };

  const accept = (req: WorkerRequest): Promise<void> | void => {
    // Pings belong on the control channel (ping-responder.ts); here one is answered in turn like any frame.
    if (req.kind === 'ping') answer(PONG_REPLY);
    // Unanswered: the cancelled frame itself is answered in its turn (batch-former.ts cancel).
    else if (req.kind === 'cancel') {
      cancelled.delete(req.requestId);
      former?.cancel(socket, req.requestId);
    } else if (req.kind === 'load') return load(req);
    else if (former && req.batch.some((item) => cancelled.has(item.requestId))) answer(cancelledReply(req.batch));
    else answer(former ? former.submit(socket, origin ? req.batch.map((item) => tagged(item, origin)) : req.batch) : NOT_LOADED);
  };

  return new Promise((resolve) => {
    readFrames(socket, decodeRequest, MAX_FIELD, (req) => {
      if (req.kind === 'cancel') cancelled.add(req.requestId);
      // One frame's failure must not stop the frames behind it.
      intake = intake.then(() => accept(req)).catch((err: Error) => log(`frame failed: ${err.stack ?? err.message}`));
    }, (err) => log(`corrupt frame from frontend: ${err.message}`));
    socket.on('error', (err) => log(`socket error: ${err.message}`));
    socket.on('close', () => {
      // Frames accepted after this point find the socket gone; drop them once intake has caught up.
      void intake.then(() => former?.drop(socket));
      resolve();
    });
  });
}

/** The item with `x-mms-front: origin` in place of any such header the client sent. */
function tagged(item: RequestItem, origin: string): RequestItem {
  return { ...item, headers: [...item.headers.filter(([name]) => name !== FRONT_HEADER), [FRONT_HEADER, origin]] };
}
