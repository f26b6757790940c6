// Fetches a model archive over http(s) into a file: every URL (redirects too) must pass the
// allowed_urls policy before it is requested; a byte cap and a timeout bound the transfer.
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Logger } from '../../logging/logger.js';
import { ServerError, downloadFailed, downloadTooLarge, forbidden } from '../../errors.js';

export interface DownloadOptions {
  maxBytes: number;
  timeoutMs: number;
  isAllowed: (url: string) => boolean;
  log: Logger;
}

const MAX_REDIRECTS = 5;

export function notAllowed(url: string): ServerError {
  return forbidden(`Given URL ${url} does not match any allowed URL(s) (allowed_urls).`);
}

export async function download(url: string, dest: string, o: DownloadOptions): Promise<void> {
  const signal = AbortSignal.timeout(o.timeoutMs);
  const failed = (why: string) => downloadFailed(`Failed to download model from: ${url}, ${why}`);
  let current = url;
  let res: Response;
  for (let hop = 0; ; hop++) {
    if (!o.isAllowed(current)) throw notAllowed(current);
    try {
      res = await fetch(current, { redirect: 'manual', signal });
    } catch (err) {
      throw failed(signal.aborted ? `timed out after ${o.timeoutMs / 1000} s` : (err as Error).message);
    }
    const location = res.headers.get('location');
    if (res.status >= 300 && res.status < 400 && location && hop < MAX_REDIRECTS) {
      current = new URL(location, current).href;
      await res.body?.cancel();
      continue;
    }
    break;
  }
  if (res.status !== 200 || !res.body) {
    await res.body?.cancel();
    throw failed(`code: ${res.status}`);
  }
  const declared = Number(res.headers.get('content-length') ?? NaN);
  if (declared > o.maxBytes) {
    await res.body.cancel();
    throw downloadTooLarge(url, o.maxBytes);
  }
  let received = 0;
  let nextReport = 0.1;
  const count = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      received += chunk.length;
      if (received > o.maxBytes) return cb(downloadTooLarge(url, o.maxBytes));
      if (declared > 0 && received / declared >= nextReport) {
        o.log.info({ url, received, total: declared, percent: Math.floor((received / declared) * 100) }, 'downloading model');
        nextReport += 0.1;
      }
      cb(null, chunk);
    },
  });
  try {
    await pipeline(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream), count, createWriteStream(dest));
  } catch (err) {
    await rm(dest, { force: true });
    if (err instanceof ServerError) throw err;
    throw failed(signal.aborted ? `timed out after ${o.timeoutMs / 1000} s` : (err as Error).message);
  }
  o.log.info({ url, bytes: received }, 'model downloaded');
}
