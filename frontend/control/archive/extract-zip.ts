// Zip extraction through unzipper's central-directory reader, every entry checked by the guard and
// every byte counted while it streams.
import { createWriteStream } from 'node:fs';
import { mkdir, symlink } from 'node:fs/promises';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import unzipper from 'unzipper';
import { ArchiveError, type ArchiveGuard } from './archive-guard.js';

const S_IFMT = 0o170000;
const S_IFLNK = 0o120000;
const S_IFDIR = 0o040000;

export async function extractZip(file: string, guard: ArchiveGuard, progress: (done: number, total: number) => void): Promise<void> {
  let directory: unzipper.CentralDirectory;
  try {
    directory = await unzipper.Open.file(file);
  } catch (err) {
    throw new ArchiveError(`Invalid or truncated zip archive: ${(err as Error).message}`);
  }
  const total = directory.files.length;
  guard.declared(total, directory.files.reduce((a, f) => a + f.uncompressedSize, 0));
  let done = 0;
  for (const entry of directory.files) {
    const dest = guard.entry(entry.path);
    const mode = (entry.externalFileAttributes >>> 16) & S_IFMT;
    try {
      if (entry.type === 'Directory' || mode === S_IFDIR) {
        await mkdir(dest, { recursive: true });
      } else if (mode === S_IFLNK) {
        const target = (await entry.buffer()).toString('utf8');
        guard.link(entry.path, target, true);
        await mkdir(path.dirname(dest), { recursive: true });
        await symlink(target, dest);
      } else {
        await mkdir(path.dirname(dest), { recursive: true });
        const count = new Transform({
          transform(chunk: Buffer, _enc, cb) {
            try {
              guard.add(chunk.length);
              cb(null, chunk);
            } catch (err) {
              cb(err as Error);
            }
          },
        });
        await pipeline(entry.stream(), count, createWriteStream(dest, { flags: 'wx' }));
      }
    } catch (err) {
      if (err instanceof ArchiveError) throw err;
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') throw new ArchiveError(`Archive has a duplicate entry: ${entry.path}`);
      throw new ArchiveError(`Cannot extract "${entry.path}": ${(err as Error).message}`);
    }
    progress(++done, total);
  }
}
