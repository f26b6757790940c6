// frame-socket.ts over a real socket pair: corked frames out, whole frames in however the bytes are
// cut, and a malformed frame closes the connection.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { decodeReply, decodeRequest, encodeReply, encodeRequest } from '../../protocol/codec.js';
import { readFrames, writeFrame } from '../../protocol/frame-socket.js';
import { StatusCode, type WorkerReply, type WorkerRequest } from '../../protocol/messages.js';
import { MAX } from './helpers.js';

let server: net.Server;
const accepted: net.Socket[] = [];

async function pair(): Promise<[net.Socket, net.Socket]> {
  const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  const [[peer]] = await Promise.all([once(server, 'connection') as Promise<[net.Socket]>, once(client, 'connect')]);
  return [client, peer];
}

describe('frame-socket', () => {
  before(async () => {
    server = net.createServer((s) => accepted.push(s)).listen(0, '127.0.0.1');
    await once(server, 'listening');
  });
  after(() => {
    for (const s of accepted) s.destroy();
    server.close();
  });

  it('a request written with writeFrame arrives as one frame, a reply comes back the same way', async () => {
    const [client, peer] = await pair();
    const requests: WorkerRequest[] = [];
    readFrames(peer, decodeRequest, MAX, (req) => {
      requests.push(req);
      writeFrame(peer, encodeReply({ code: StatusCode.ok, message: `got ${req.kind}`, items: [] }));
    });
    const replies: WorkerReply[] = [];
    const got = new Promise<void>((resolve) => readFrames(client, decodeReply, MAX, (r) => replies.push(r) === 2 && resolve()));
    const value = Buffer.alloc(100_000, 7); // large enough to be sent as its own part
    writeFrame(client, encodeRequest({ kind: 'predict', batch: [{ requestId: 'r1', headers: [], parameters: [{ name: 'body', contentType: '', value }] }] }));
    writeFrame(client, encodeRequest({ kind: 'ping' }));
    await got;
    assert.deepEqual(requests.map((r) => r.kind), ['predict', 'ping']);
    const first = requests[0];
    assert.ok(first.kind === 'predict');
    assert.deepEqual(Buffer.from(first.batch[0].parameters[0].value as Uint8Array), value);
    assert.deepEqual(replies.map((r) => r.message), ['got predict', 'got ping']);
    client.destroy();
  });

  it('bytes cut anywhere still give whole frames', async () => {
    const [client, peer] = await pair();
    const frames: WorkerReply[] = [];
    const got = new Promise<void>((resolve) => readFrames(peer, decodeReply, MAX, (r) => frames.push(r) === 3 && resolve()));
    const bytes = Buffer.concat([1, 2, 3].flatMap((i) => encodeReply({ code: StatusCode.ok, message: `m${i}`, items: [] })));
    for (let i = 0; i < bytes.length; i += 5) {
      client.write(bytes.subarray(i, i + 5));
      await new Promise((r) => setImmediate(r)); // separate chunks on the other side
    }
    await got;
    assert.deepEqual(frames.map((f) => f.message), ['m1', 'm2', 'm3']);
    client.destroy();
  });

  it('a malformed frame is reported and the socket destroyed; later bytes are not read', async () => {
    const [client, peer] = await pair();
    const frames: unknown[] = [];
    const corrupt = new Promise<Error>((resolve) => readFrames(peer, decodeRequest, MAX, (m) => frames.push(m), resolve));
    client.write(Buffer.from([0x7f, 0, 0, 0, 0])); // no such command
    const err = await corrupt;
    assert.equal(err.name, 'FrameError');
    await once(peer, 'close');
    assert.equal(peer.destroyed, true);
    assert.equal(frames.length, 0);
    client.destroy();
  });
});
