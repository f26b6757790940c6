// Worker thread that answers the frontend's pings on the control channel (fd 3). It runs beside the
// main thread, whose event loop a synchronous ORT session.run or a handler can hold for a long
// time: a busy worker still answers, and only a process that is stopped or frozen as a whole does
// not (docs/protocol.md "Pings").
import net from 'node:net';
import { decodeRequest, encodeReply } from '../protocol/codec.js';
import { readFrames } from '../protocol/frame-socket.js';
import { PONG_REPLY, WORKER_CONTROL_FD } from '../protocol/messages.js';

const channel = new net.Socket({ fd: WORKER_CONTROL_FD, readable: true, writable: true });
const pong = Buffer.concat(encodeReply(PONG_REPLY));
// Pings are one byte; anything larger is not meant for this channel.
readFrames(channel, decodeRequest, 1024, (req) => {
  if (req.kind === 'ping') channel.write(pong);
});
// The frontend going away is noticed on stdin by the main thread; nothing to do here.
channel.on('error', () => undefined);
