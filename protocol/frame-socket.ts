// Where a byte stream meets the framing, for both ends of every worker socket (the fronts' and the
// controller's connections, the worker's serve loop, the ping channel): socket chunks go through a
// FrameReader, and a frame's buffers (codec.ts) leave in one corked write. A malformed frame ends the
// connection: after it nothing on the stream can be trusted (frame-reader.ts, FrameError).
import type { Duplex } from 'node:stream';
import { FrameReader, type Decoder } from './frame-reader.js';

/**
 * Calls `onFrame` for each whole frame that arrives on `socket`. A frame that does not decode (or an
 * `onFrame` that throws) is reported to `onCorrupt`, then the socket is destroyed.
 */
export function readFrames<T>(
  socket: Duplex,
  decode: Decoder<T>,
  maxLength: number,
  onFrame: (message: T) => void,
  onCorrupt: (err: Error) => void = () => undefined,
): void {
  const reader = new FrameReader(decode, onFrame, maxLength);
  socket.on('data', (chunk: Buffer) => {
    try {
      reader.push(chunk);
    } catch (err) {
      onCorrupt(err as Error);
      socket.destroy();
    }
  });
}

/** One frame's buffers as one write: corked, so a frame of many parts leaves in one system call. */
export function writeFrame(socket: Duplex, parts: readonly Buffer[]): void {
  socket.cork();
  for (const part of parts) socket.write(part);
  socket.uncork();
}

/** Sockets corked until the current turn of the event loop ends (writeFrameCoalesced). */
const corkedThisTurn = new WeakSet<Duplex>();

/**
 * Like writeFrame, but frames written during one turn of the event loop leave together in one system
 * call, at its end (setImmediate runs right after the turn's I/O callbacks). Under load many requests
 * (or replies) are handled per turn; a write each was the largest cost in a front's profile (no-op
 * model, c=64: coalescing gave 16–43% more requests/s, a fifth less front and a third less worker CPU
 * per request). A lone frame waits only for the rest of its turn.
 */
export function writeFrameCoalesced(socket: Duplex, parts: readonly Buffer[]): void {
  if (!corkedThisTurn.has(socket)) {
    corkedThisTurn.add(socket);
    socket.cork();
    setImmediate(() => {
      corkedThisTurn.delete(socket);
      socket.uncork();
    });
  }
  for (const part of parts) socket.write(part);
}
