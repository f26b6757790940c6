// The frontend's end of one worker socket: the only place that knows frames. Replies come back in
// the order requests were sent (the worker answers a connection's frames in order), so a request can
// be written while others run; the router sees only send(), close() and the closed promise.
import net from 'node:net';
import { once } from 'node:events';
import { decodeReply, encodeRequest } from './codec.js';
import { readFrames, writeFrameCoalesced } from './frame-socket.js';
import type { LoadRequest, OutgoingValue, PredictRequest, WorkerReply } from './messages.js';

export class ConnectionClosedError extends Error {
  override name = 'ConnectionClosedError';
}

export class WorkerConnection {
  private readonly pending: Array<{ resolve: (r: WorkerReply) => void; reject: (e: Error) => void }> = [];
  private closeReason?: Error;
  readonly closed: Promise<Error>;

  private constructor(private readonly socket: net.Socket, maxResponseSize: number) {
    socket.setNoDelay(true);
    readFrames(socket, decodeReply, maxResponseSize, (reply) => this.onReply(reply), (err) =>
      this.fail(new ConnectionClosedError(`corrupt reply from worker: ${err.message}`)));
    socket.on('error', (err) => this.fail(new ConnectionClosedError(err.message)));
    this.closed = new Promise((resolve) => {
      socket.on('close', () => {
        this.fail(new ConnectionClosedError('worker connection closed'));
        resolve(this.closeReason!);
      });
    });
  }

  static async connect(path: string, maxResponseSize: number): Promise<WorkerConnection> {
    const socket = net.connect(path);
    await once(socket, 'connect');
    return new WorkerConnection(socket, maxResponseSize);
  }

  /**
   * Sends one frame; its reply is the next one not yet claimed. The frame is encoded whole before the
   * connection commits to a reply for it: a request that cannot be framed (FrameEncodeError) fails
   * alone and the stream stays in step. Should the write itself throw, the stream's framing is in
   * doubt, so the connection is closed and every request on it fails as on a dead worker.
   */
  send(request: LoadRequest | PredictRequest<OutgoingValue>): Promise<WorkerReply> {
    if (this.closeReason) return Promise.reject(this.closeReason);
    let frame: Buffer[];
    try {
      frame = encodeRequest(request);
    } catch (err) {
      return Promise.reject(err as Error);
    }
    const reply = new Promise<WorkerReply>((resolve, reject) => this.pending.push({ resolve, reject }));
    try {
      writeFrameCoalesced(this.socket, frame);
    } catch (err) {
      this.fail(new ConnectionClosedError(`frame write failed: ${(err as Error).message}`));
    }
    return reply;
  }

  /**
   * Asks the worker to drop the queued request `requestId` (docs/protocol.md "Cancel"). No reply of
   * its own: the request's frame is still answered, cancelled or run, in order.
   */
  cancel(requestId: string): void {
    if (this.closeReason) return;
    try {
      writeFrameCoalesced(this.socket, encodeRequest({ kind: 'cancel', requestId }));
    } catch (err) {
      this.fail(new ConnectionClosedError(`cancel failed: ${(err as Error).message}`));
    }
  }

  close(): void {
    this.socket.destroy();
  }

  private onReply(reply: WorkerReply): void {
    const pending = this.pending.shift();
    if (!pending) {
      this.fail(new ConnectionClosedError('unsolicited reply from worker'));
      return;
    }
    pending.resolve(reply);
  }

  private fail(err: Error): void {
    this.closeReason ??= err;
    for (const p of this.pending.splice(0)) p.reject(err);
    this.socket.destroy();
  }
}
