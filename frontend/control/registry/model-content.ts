// What a model in the store holds, as hot reload compares it (docs/configuration.md, Hot reload): a
// cheap signature from the file system (sizes, modification times, inodes) that says whether to look
// again, and a sha256 of the bytes that decides whether the content changed. An archive's hash is the
// hash of its file; a directory's covers every file's relative path, size and bytes, in path order.
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Stats } from 'node:fs';

/** The content a model was loaded from. */
export interface ModelContent {
  /** The file or directory in the model store. */
  path: string;
  /** sha256 (hex) of the content. */
  hash: string;
  /** The signature seen before the hash was taken. */
  signature: string;
  /** When this content started to serve (registration or the reload's switch). */
  loadedAt: Date;
}

interface Entry {
  rel: string;
  full: string;
  info: Stats;
}

/** A file, or every file under a directory (links to files followed, links to directories not: no cycles). */
async function entries(root: string): Promise<Entry[] | undefined> {
  const top = await stat(root).catch(() => undefined);
  if (!top) return undefined;
  if (!top.isDirectory()) return top.isFile() ? [{ rel: '', full: root, info: top }] : [];
  const out: Entry[] = [];
  const walk = async (rel: string): Promise<void> => {
    const list = await readdir(path.join(root, rel), { withFileTypes: true }).catch(() => []);
    for (const d of list) {
      const r = rel ? `${rel}/${d.name}` : d.name;
      const full = path.join(root, r);
      if (d.isDirectory()) await walk(r);
      else if (d.isFile() || d.isSymbolicLink()) {
        const info = await stat(full).catch(() => undefined);
        if (info?.isFile()) out.push({ rel: r, full, info });
      }
    }
  };
  await walk('');
  return out.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
}

/** Changes whenever a file is added, removed, resized, rewritten or replaced; undefined when `p` is gone. */
export async function signatureOf(p: string): Promise<string | undefined> {
  const list = await entries(p);
  if (!list) return undefined;
  const h = createHash('sha1');
  for (const e of list) h.update(`${e.rel}\0${e.info.size}\0${e.info.mtimeMs}\0${e.info.ctimeMs}\0${e.info.ino}\n`);
  return h.digest('hex');
}

/** The content hash (streamed: an archive is never held in memory whole). */
export async function hashOf(p: string): Promise<string> {
  const list = await entries(p);
  if (!list) throw new Error('the model is no longer in the model store');
  const h = createHash('sha256');
  const single = list.length === 1 && list[0].rel === '';
  for (const e of list) {
    if (!single) h.update(`${e.rel}\0${e.info.size}\0`);
    await hashFile(h, e.full);
  }
  return h.digest('hex');
}

async function hashFile(h: Hash, file: string): Promise<void> {
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
}

/** The signature, then the hash: a change after the signature shows at the next look. */
export async function readContent(p: string): Promise<ModelContent> {
  const signature = (await signatureOf(p)) ?? '';
  return { path: p, hash: await hashOf(p), signature, loadedAt: new Date() };
}
