// Token authorization (enable_token_auth, docs/api.md, Security): off by default as in MMS. When on,
// the server draws one key per API at start and writes them to the key file, readable by its owner
// only, as TorchServe does; requests need `Authorization: Bearer <key>` of their API.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Middleware } from 'koa';
import type { ServerConfig } from '../config/server-config.js';
import { unauthorized } from '../errors.js';

export interface ApiKeys {
  inference: string;
  management: string;
}

/** `key_file`, else `key_file.json` in the working directory (TorchServe's default). */
export function keyFilePath(config: ServerConfig): string {
  return path.resolve(config.tokenAuth.keyFile ?? 'key_file.json');
}

/** Draws fresh keys and writes `{"inference": {"key"}, "management": {"key"}}` with mode 0600. */
export function writeKeyFile(file: string): ApiKeys {
  const keys: ApiKeys = { inference: newKey(), management: newKey() };
  mkdirSync(path.dirname(file), { recursive: true });
  // A new file renamed into place: an existing key file would keep its old (maybe wider) mode.
  const tmp = `${file}.${process.pid}.tmp`;
  rmSync(tmp, { force: true });
  writeFileSync(tmp, `${JSON.stringify({ inference: { key: keys.inference }, management: { key: keys.management } }, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  renameSync(tmp, file);
  return keys;
}

const newKey = () => randomBytes(32).toString('base64url');

/** Refuses (401) a request without `Authorization: Bearer <key>`; compares in constant time. */
export function requireKey(key: string): Middleware {
  const accepts = bearerCheck(key);
  return async (ctx, next) => {
    if (!accepts(ctx.get('authorization'))) throw unauthorized();
    await next();
  };
}

/** Whether an Authorization value is `Bearer <key>` (HTTP header or gRPC metadata alike). */
export function bearerCheck(key: string): (authorization: string | undefined) => boolean {
  const expected = digest(key);
  return (authorization) => {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    // Hashing first gives equal lengths, so timingSafeEqual reveals neither the key nor its length.
    return Boolean(m) && timingSafeEqual(digest(m![1]), expected);
  };
}

const digest = (s: string) => createHash('sha256').update(s).digest();
