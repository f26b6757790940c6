// Archive bombs that inflate to gigabytes from about 2 MB on disk, built without ever holding or
// writing the inflated bytes: 1 MiB of zeros is compressed once and the result repeated. A gzip file
// may be many members one after another (RFC 1952), and raw deflate blocks that end on a sync flush
// may follow one another, so a 2 GiB entry costs a few milliseconds to build.
import { readFileSync, writeFileSync } from 'node:fs';
import { constants, deflateRawSync, gzipSync } from 'node:zlib';
import { centralHeader, endRecords, localHeader, manifestJson, prepare, tarHeader, type BombInfo, type Prepared } from './hostile-archives.js';

const MiB = 1 << 20;
export const TWO_GIB = 2048 * MiB;

function repeat(piece: Buffer, times: number): Buffer[] {
  return Array.from({ length: times }, () => piece);
}

/**
 * A tar.gz holding a manifest and one `bytes`-long entry of zeros (`h/zeros.bin`), whose header tells
 * the truth: the size is known from the first kilobyte, the bytes only by inflating them.
 */
export function writeTgzBomb(file: string, bytes = TWO_GIB): BombInfo {
  if (bytes % MiB !== 0) throw new Error('the bomb size must be a whole number of MiB');
  const manifest = Buffer.from(manifestJson('h'));
  const head = Buffer.concat([
    tarHeader({ name: 'h/MAR-INF/MANIFEST.json' }, manifest.length),
    manifest,
    Buffer.alloc((512 - (manifest.length % 512)) % 512),
    tarHeader({ name: 'h/zeros.bin' }, bytes),
  ]);
  const zeros = gzipSync(Buffer.alloc(MiB), { level: 9 });
  // The entry's data (a multiple of 512: no padding), then the two zero blocks that end a tar.
  const out = Buffer.concat([gzipSync(head), ...repeat(zeros, bytes / MiB), gzipSync(Buffer.alloc(1024))]);
  writeFileSync(file, out);
  return { file, size: out.length, expanded: bytes };
}

/**
 * A zip whose central directory lies: `zeros.bin` declares `declared` bytes (small, within every
 * limit) but its deflated data inflates to `bytes` zeros. Only counting while inflating can stop it.
 */
export function writeZipLyingBomb(file: string, bytes = TWO_GIB, declared = MiB): BombInfo {
  if (bytes % MiB !== 0) throw new Error('the bomb size must be a whole number of MiB');
  const block = deflateRawSync(Buffer.alloc(MiB), { level: 9, finishFlush: constants.Z_SYNC_FLUSH });
  const compressed = Buffer.concat([...repeat(block, bytes / MiB), deflateRawSync(Buffer.alloc(0))]);
  const manifest = prepare({ name: 'MAR-INF/MANIFEST.json', data: manifestJson('h'), deflate: true });
  const zeros: Prepared = { name: Buffer.from('zeros.bin'), method: 8, crc: 0, size: declared, compressed, externalAttrs: (0o100644 << 16) >>> 0 };
  const manifestLocal = localHeader(manifest);
  const zerosOffset = manifestLocal.length + manifest.compressed.length;
  const zerosLocal = localHeader(zeros);
  const cd = Buffer.concat([centralHeader(manifest, 0), centralHeader(zeros, zerosOffset)]);
  const cdOffset = zerosOffset + zerosLocal.length + compressed.length;
  const out = Buffer.concat([manifestLocal, manifest.compressed, zerosLocal, compressed, cd, endRecords(2, cdOffset, cd.length)]);
  writeFileSync(file, out);
  return { file, size: out.length, expanded: bytes };
}

/** The tar.gz bomb gzipped once more: the tar stream inside the gzip starts as another gzip stream. */
export function writeNestedTgzBomb(file: string, bytes = TWO_GIB): BombInfo {
  writeTgzBomb(file, bytes);
  const out = gzipSync(readFileSync(file));
  writeFileSync(file, out);
  return { file, size: out.length, expanded: bytes };
}

/**
 * A zip whose end records (zip64, as the count does not fit 16 bits) declare `count` entries while its
 * central directory holds one: read record by record, millions of declared entries would be GBs of objects.
 */
export function writeZipCountBomb(file: string, count = 1_000_000): string {
  const manifest = prepare({ name: 'MAR-INF/MANIFEST.json', data: manifestJson('h'), deflate: true });
  const local = localHeader(manifest);
  const cd = centralHeader(manifest, 0);
  const cdOffset = local.length + manifest.compressed.length;
  writeFileSync(file, Buffer.concat([local, manifest.compressed, cd, endRecords(count, cdOffset, cd.length)]));
  return file;
}
