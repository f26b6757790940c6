// The entry count a zip declares in its end records, read before its central directory is parsed:
// unzipper holds every central record in memory at once, so a zip declaring millions of entries must
// be refused by max_archive_entries before that (a few hundred MB of records would be GBs of objects).
import type { FileHandle } from 'node:fs/promises';

const EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
/** The end record (22 bytes) and the longest comment after it. */
const TAIL = 22 + 0xffff;

/** The declared number of entries, or undefined when the end records are not found (unzipper then says why). */
export async function declaredEntryCount(fh: FileHandle, size: number): Promise<number | undefined> {
  const length = Math.min(size, TAIL);
  const tail = Buffer.alloc(length);
  await fh.read(tail, 0, length, size - length);
  let at = -1;
  for (let i = length - 22; i >= 0 && at < 0; i--) if (tail.readUInt32LE(i) === EOCD) at = i;
  if (at < 0) return undefined;
  const count = tail.readUInt16LE(at + 10);
  if (at < 20 || tail.readUInt32LE(at - 20) !== ZIP64_LOCATOR) return count;
  const record = Buffer.alloc(40);
  const offset = Number(tail.readBigUInt64LE(at - 20 + 8));
  const { bytesRead } = await fh.read(record, 0, 40, offset);
  // Not where the locator says (a prefixed, self-extracting zip): unzipper finds it and the guard checks what it reads.
  if (bytesRead < 40 || record.readUInt32LE(0) !== ZIP64_EOCD) return undefined;
  return Number(record.readBigUInt64LE(32));
}
