// The chaos run's HTTP side: one request over a keep-alive agent (loopback only), the classifier's
// KServe v2 request bodies and the checks on what comes back.
import http from 'node:http';

const SHAPE = [1, 3, 48, 192];
const REQUEST_TIMEOUT_MS = 60_000;

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** The client side's port of the connection that carried it. */
  localPort?: number;
}

/** A failed request's error: the connection's client port, when it had one. */
export type RequestError = NodeJS.ErrnoException & { localPort?: number };

/**
 * One request over a keep-alive agent; rejects on network errors and after REQUEST_TIMEOUT_MS. Both
 * the reply and the error name the connection's client port (chaos tells killed fronts' by it).
 */
export function request(agent: http.Agent, url: string, method: string, body?: Buffer, headers: Record<string, string> = {}): Promise<Reply> {
  const u = new URL(url);
  if (u.hostname !== '127.0.0.1') throw new Error(`refusing to send a request anywhere but 127.0.0.1: ${url}`);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { agent, host: '127.0.0.1', port: u.port, path: u.pathname + u.search, method, headers: body ? { ...headers, 'content-length': String(body.length) } : headers, timeout: REQUEST_TIMEOUT_MS },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), localPort }));
        res.on('error', fail);
      },
    );
    let localPort: number | undefined;
    const fail = (err: RequestError) => reject(Object.assign(err, { localPort: localPort ?? req.socket?.localPort }));
    req.on('socket', (socket) => {
      localPort = socket.localPort;
      if (localPort === undefined) socket.once('connect', () => (localPort = socket.localPort));
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms`), { code: 'TIMEOUT' })));
    req.on('error', fail);
    req.end(body);
  });
}

/** KServe v2 binary tensor request: JSON header + raw float32 bytes. */
export function clsBody(seed: number): { body: Buffer; headers: Record<string, string> } {
  const data = new Float32Array(SHAPE.reduce((a, b) => a * b, 1));
  for (let i = 0; i < data.length; i++) data[i] = (((i + 1) * (7919 + 104_729 * seed)) % 255) / 127.5 - 1;
  const tensor = Buffer.from(data.buffer);
  const header = Buffer.from(JSON.stringify({ inputs: [{ name: 'x', shape: SHAPE, datatype: 'FP32', parameters: { binary_data_size: tensor.length } }] }));
  return {
    body: Buffer.concat([header, tensor]),
    headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(header.length) },
  };
}

/** The output values of a JSON v2 response, or undefined when it is not one. */
export function outputOf(reply: Reply): number[] | undefined {
  try {
    const doc = JSON.parse(reply.body.toString('utf8')) as { outputs?: Array<{ shape?: number[]; data?: unknown[] }> };
    const out = doc.outputs?.[0];
    if (!out || !Array.isArray(out.data) || !Array.isArray(out.shape)) return undefined;
    if (out.shape.reduce((a, b) => a * b, 1) !== out.data.length || !out.data.every((v) => typeof v === 'number' && Number.isFinite(v))) return undefined;
    return out.data as number[];
  } catch {
    return undefined;
  }
}

export function sameOutput(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((v, i) => Math.abs(v - b[i]) <= 1e-4 * Math.max(1, Math.abs(v)));
}

export function message(reply: Reply): string {
  const text = reply.body.toString('utf8');
  try {
    const doc = JSON.parse(text) as { message?: unknown };
    if (typeof doc.message === 'string') return doc.message;
  } catch {
    // not JSON: the raw text
  }
  return text.slice(0, 200);
}
