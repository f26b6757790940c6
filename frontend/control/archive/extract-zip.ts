// Zip extraction: the entry count of the end records is checked first, then unzipper reads the
// central directory (names, sizes, offsets), checked by the guard before anything is written. Each
// entry's data is read straight from the file in 64 KiB chunks and inflated as a stream, every byte
// counted, and an entry that inflates past the size it declared is refused at once (so the declared
// total the guard checked holds). A limit that trips destroys the entry's whole pipeline: the file
// read, the inflater and the write.
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, symlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { Readable, Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createInflateRaw } from 'node:zlib';
import unzipper from 'unzipper';
import { ArchiveError, type ArchiveGuard } from './archive-guard.js';
import { declaredEntryCount } from './zip-entry-count.js';

const S_IFMT = 0o170000;
const S_IFLNK = 0o120000;
const S_IFDIR = 0o040000;
const STORED = 0;
const DEFLATED = 8;
const READ_CHUNK = 64 * 1024;
/** Longer than any path a symlink can hold (PATH_MAX). */
const MAX_LINK_TARGET = 4096;

type Stage = NodeJS.ReadableStream | NodeJS.ReadWriteStream;

export async function extractZip(file: string, guard: ArchiveGuard, progress: (done: number, total: number) => void): Promise<void> {
  const fh = await open(file, 'r');
  try {
    guard.declared((await declaredEntryCount(fh, (await fh.stat()).size)) ?? 0, 0);
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
      await extractEntry(file, fh, entry, guard);
      progress(++done, total);
    }
  } finally {
    await fh.close();
  }
}

async function extractEntry(file: string, fh: FileHandle, entry: unzipper.File, guard: ArchiveGuard): Promise<void> {
  const dest = guard.entry(entry.path);
  const mode = (entry.externalFileAttributes >>> 16) & S_IFMT;
  try {
    if (entry.type === 'Directory' || mode === S_IFDIR) {
      await mkdir(dest, { recursive: true });
    } else if (mode === S_IFLNK) {
      if (entry.uncompressedSize > MAX_LINK_TARGET) throw new ArchiveError(`Archive link "${entry.path}" has a target of ${entry.uncompressedSize} bytes.`);
      const parts: Buffer[] = [];
      const collect = new Writable({
        write(chunk: Buffer, _enc, cb) {
          parts.push(chunk);
          cb();
        },
      });
      await pipeline([...(await entryData(file, fh, entry, guard)), collect]);
      const target = Buffer.concat(parts).toString('utf8');
      guard.link(entry.path, target, true);
      await mkdir(path.dirname(dest), { recursive: true });
      await symlink(target, dest);
    } else {
      await mkdir(path.dirname(dest), { recursive: true });
      await pipeline([...(await entryData(file, fh, entry, guard)), createWriteStream(dest, { flags: 'wx' })]);
    }
  } catch (err) {
    if (err instanceof ArchiveError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new ArchiveError(`Archive has a duplicate entry: ${entry.path}`);
    throw new ArchiveError(`Cannot extract "${entry.path}": ${(err as Error).message}`);
  }
}

/** The stages that read an entry's data from the file and inflate it, counted against its declared size and the guard. */
async function entryData(file: string, fh: FileHandle, entry: unzipper.File, guard: ArchiveGuard): Promise<Stage[]> {
  if (entry.flags & 1) throw new ArchiveError(`Archive entry "${entry.path}" is encrypted.`);
  if (entry.compressionMethod !== STORED && entry.compressionMethod !== DEFLATED) {
    throw new ArchiveError(`Archive entry "${entry.path}" uses compression method ${entry.compressionMethod} (only stored and deflated are read).`);
  }
  // The local header's name and extra field may differ in length from the central directory's.
  const local = Buffer.alloc(30);
  const { bytesRead } = await fh.read(local, 0, 30, entry.offsetToLocalFileHeader);
  if (bytesRead < 30 || local.readUInt32LE(0) !== 0x04034b50) throw new ArchiveError(`Invalid or truncated zip archive: no local header for "${entry.path}".`);
  const start = entry.offsetToLocalFileHeader + 30 + local.readUInt16LE(26) + local.readUInt16LE(28);
  const count = countEntry(entry, guard);
  if (entry.compressedSize === 0) return [Readable.from([]), count];
  const source = createReadStream(file, { start, end: start + entry.compressedSize - 1, highWaterMark: READ_CHUNK }); // `end` is inclusive
  return entry.compressionMethod === DEFLATED ? [source, createInflateRaw(), count] : [source, count];
}

function countEntry(entry: unzipper.File, guard: ArchiveGuard): Transform {
  let written = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      try {
        written += chunk.length;
        if (written > entry.uncompressedSize) {
          throw new ArchiveError(`Archive entry "${entry.path}" inflates past the ${entry.uncompressedSize} bytes it declares; refused as a possible archive bomb.`);
        }
        guard.add(chunk.length);
        cb(null, chunk);
      } catch (err) {
        cb(err as Error);
      }
    },
  });
}
