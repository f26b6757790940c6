// The frontend's end of one worker socket: the only place that knows frames. One request in flight
// at a time (MMS's strict request/reply); the pool sees only send(), close() and the closed promise.
import net from 'node:net';
import { once } from 'node:events';
import { decodeReply, encodeRequest } from '../../protocol/codec.js';
import { FrameReader } from '../../protocol/frame-reader.js';
import type { WorkerReply, WorkerRequest } from '../../protocol/messages.js';

export class ConnectionClosedError extends Error {
  override name = 'ConnectionClosedError';
}

export class WorkerConnection {
  private pending?: { resolve: (r: WorkerReply) => void; reject: (e: Error) => void };
  private closeReason?: Error;
  readonly closed: Promise<Error>;

  private constructor(private readonly socket: net.Socket, maxResponseSize: number) {
    const reader = new FrameReader(decodeReply, (reply) => this.onReply(reply), maxResponseSize);
    socket.setNoDelay(true);
    socket.on('data', (chunk) => {
      try {
        reader.push(chunk);
      } catch (err) {
        this.fail(new ConnectionClosedError(`corrupt reply from worker: ${(err as Error).message}`));
      }
    });
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

  get busy(): boolean {
    return this.pending !== undefined;
  }

  send(request: WorkerRequest): Promise<WorkerReply> {
    if (this.closeReason) return Promise.reject(this.closeReason);
    if (this.pending) return Promise.reject(new Error('worker connection is busy'));
    const reply = new Promise<WorkerReply>((resolve, reject) => (this.pending = { resolve, reject }));
    this.socket.cork();
    for (const part of encodeRequest(request)) this.socket.write(part);
    this.socket.uncork();
    return reply;
  }

  close(): void {
    this.socket.destroy();
  }

  private onReply(reply: WorkerReply): void {
    const pending = this.pending;
    if (!pending) {
      this.fail(new ConnectionClosedError('unsolicited reply from worker'));
      return;
    }
    this.pending = undefined;
    pending.resolve(reply);
  }

  private fail(err: Error): void {
    this.closeReason ??= err;
    const pending = this.pending;
    this.pending = undefined;
    pending?.reject(err);
    this.socket.destroy();
  }
}
