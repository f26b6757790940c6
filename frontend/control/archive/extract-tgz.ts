// Tar (optionally gzipped) extraction in one streaming pass: the file is read in 64 KiB chunks,
// inflated by node:zlib's stream (which stops inflating while its reader is behind) and parsed by
// node-tar's Parser. Each entry is checked by the guard from its header, before a byte of it is
// written (tar headers carry true sizes: the parser reads exactly that many bytes), the whole
// inflated stream is counted too, and the first failure destroys the pipeline: nothing is drained.
// node-tar's own gunzip is never used: it inflates each chunk it is given whole and at once (a small
// file in one chunk), so a 2 MB archive became 2 GiB in memory before any check could act.
import { createReadStream } from 'node:fs';
import { Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import * as tar from 'tar';
import { ArchiveError, type ArchiveGuard } from './archive-guard.js';
import { TarEntryWriter } from './tar-entry-writer.js';

const ALLOWED = new Set(['File', 'OldFile', 'ContiguousFile', 'Directory', 'SymbolicLink', 'Link']);
/** Bytes per read. node:zlib's stream stops inflating while 16 KiB of its output wait, even inside one chunk. */
const READ_CHUNK = 64 * 1024;
/** node-tar sniffs the first bytes for gzip (and zstd) and would inflate them itself, unbounded. */
const COMPRESSED_MAGIC = [Buffer.from([0x1f, 0x8b]), Buffer.from([0x28, 0xb5, 0x2f, 0xfd])];

export async function extractTgz(file: string, gzipped: boolean, guard: ArchiveGuard, progress: (done: number) => void): Promise<void> {
  const writer = new TarEntryWriter(guard.root, (err) => parser.abort(err));
  const dests = new WeakMap<tar.ReadEntry, string>();
  let done = 0;
  const parser: tar.Parser = new tar.Parser({
    strict: true,
    brotli: false,
    zstd: false,
    // Called with each entry's header, before its data is read.
    filter: (_path, entry) => {
      try {
        dests.set(entry as tar.ReadEntry, checkEntry(entry as tar.ReadEntry, guard));
        return true;
      } catch (err) {
        parser.abort(err as Error);
        return false;
      }
    },
    onReadEntry: (entry) => {
      writer.add(entry, dests.get(entry)!);
      progress(++done);
    },
  });
  const source = createReadStream(file, { highWaterMark: READ_CHUNK });
  let failure: Error | undefined;
  try {
    await pipeline(gzipped ? [source, createGunzip(), countInflated(guard), into(parser)] : [source, countInflated(guard), into(parser)]);
  } catch (err) {
    failure = err as Error;
    writer.stop(failure);
  }
  // Every write settles before the caller may remove the directory.
  await writer.idle().catch((err: Error) => (failure ??= err));
  if (!failure) return;
  if (failure instanceof ArchiveError) throw failure;
  throw new ArchiveError(`Invalid tar archive: ${failure.message}`);
}

/** Returns the entry's destination. */
function checkEntry(entry: tar.ReadEntry, guard: ArchiveGuard): string {
  if (!ALLOWED.has(entry.type)) throw new ArchiveError(`Archive entry "${entry.path}" has unsupported type ${entry.type}.`);
  const dest = guard.entry(entry.path);
  if (entry.type === 'SymbolicLink') guard.link(entry.path, entry.linkpath ?? '', true);
  if (entry.type === 'Link') guard.link(entry.path, entry.linkpath ?? '', false);
  guard.add(entry.size ?? 0);
  return dest;
}

/** Counts the tar stream as it inflates; refuses one that starts like another compressed stream. */
function countInflated(guard: ArchiveGuard): Transform {
  let total = 0;
  let head = Buffer.alloc(0);
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      try {
        if (head.length < 4 && total < 4) {
          head = Buffer.concat([head, chunk.subarray(0, 4)]);
          if (COMPRESSED_MAGIC.some((m) => head.length >= m.length && head.subarray(0, m.length).equals(m))) {
            throw new ArchiveError('Invalid tar archive: it holds another compressed stream.');
          }
        }
        total += chunk.length;
        guard.inflated(total);
        cb(null, chunk);
      } catch (err) {
        cb(err as Error);
      }
    },
  });
}

/**
 * node-tar's Parser as the end of a stream pipeline: writes wait for its drain (an entry whose data
 * is not yet being written holds it back), the end waits for its last entry, and its first error
 * destroys the pipeline.
 */
function into(parser: tar.Parser): Writable {
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      if (parser.write(chunk)) cb();
      else parser.once('drain', () => cb());
    },
    final(cb) {
      parser.once('end', () => cb());
      parser.end();
    },
  });
  parser.on('error', (err: Error) => sink.destroy(err));
  return sink;
}
