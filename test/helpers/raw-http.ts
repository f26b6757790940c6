// Requests through node:http, for what fetch cannot do: forge the Host header (a DNS-rebinding page
// reaches us under its own name) or send a browser's Origin exactly as given.
import http from 'node:http';
import { EventEmitter } from 'node:events';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: any;
}

export function rawRequest(url: string, o: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: o.method ?? 'GET', headers: o.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        const json = (res.headers['content-type'] ?? '').includes('json') && text;
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: json ? JSON.parse(text) : text });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(o.body);
  });
}

type LogRecord = Record<string, any>;

/** A pino logger at debug level whose records are kept, parsed, in `records`; `next` awaits a matching one. */
export function captureLogs(): { log: Logger; records: LogRecord[]; next(match: (r: LogRecord) => boolean): Promise<LogRecord> } {
  const records: LogRecord[] = [];
  const events = new EventEmitter();
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n')) {
        if (!line) continue;
        const record = JSON.parse(line) as LogRecord;
        records.push(record);
        events.emit('record', record);
      }
      done();
    },
  });
  const next = (match: (r: LogRecord) => boolean) =>
    new Promise<LogRecord>((resolve) => {
      const on = (r: LogRecord) => {
        if (!match(r)) return;
        events.off('record', on);
        resolve(r);
      };
      events.on('record', on);
    });
  return { log: pino({ level: 'debug' }, sink), records, next };
}
