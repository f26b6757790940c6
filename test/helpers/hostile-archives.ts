// Real hostile archive files, written byte by byte: a minimal zip writer (local headers, central
// directory, end record, zip64 end records when needed, CRC-32 from a table) and a ustar tar writer
// (headers with checksums, gzipped). No archiving library is involved, so the bytes are exactly
// what an attacker would send, including what no well-behaved library would ever write.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { deflateRawSync, gzipSync } from 'node:zlib';
import { writeScaleModel } from './onnx-models.js';

// ---------------------------------------------------------------------------------------------
// CRC-32 (IEEE 802.3, reflected, poly 0xEDB88320); node:zlib has no crc32 in Node 20.

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32(buf: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < buf.length; i++) c = CRC_TABLE[(c ^ buf[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

// ---------------------------------------------------------------------------------------------
// Zip

export interface ZipEntry {
  name: string;
  data?: Buffer | string;
  /** Deflate the data (default: store). */
  deflate?: boolean;
  /** Unix st_mode written into the external attributes' high 16 bits (e.g. 0o120777 for a symlink). */
  mode?: number;
}

const DOS_TIME = (12 << 11) | (0 << 5); // 12:00:00
const DOS_DATE = ((2024 - 1980) << 9) | (1 << 5) | 1; // 2024-01-01
const UNIX_MADE_BY = (3 << 8) | 20;

export interface Prepared {
  name: Buffer;
  method: number;
  crc: number;
  size: number;
  compressed: Buffer;
  externalAttrs: number;
}

export function prepare(e: ZipEntry): Prepared {
  const raw = typeof e.data === 'string' ? Buffer.from(e.data) : (e.data ?? Buffer.alloc(0));
  const compressed = e.deflate ? deflateRawSync(raw) : raw;
  const mode = e.mode ?? (e.name.endsWith('/') ? 0o040755 : 0o100644);
  return {
    name: Buffer.from(e.name, 'utf8'),
    method: e.deflate ? 8 : 0,
    crc: crc32(raw),
    size: raw.length,
    compressed,
    externalAttrs: (((mode & 0xffff) << 16) | (e.name.endsWith('/') ? 0x10 : 0)) >>> 0,
  };
}

export function localHeader(p: Prepared): Buffer {
  const h = Buffer.alloc(30);
  h.writeUInt32LE(0x04034b50, 0);
  h.writeUInt16LE(20, 4); // version needed
  h.writeUInt16LE(0x0800, 6); // flags: UTF-8 names
  h.writeUInt16LE(p.method, 8);
  h.writeUInt16LE(DOS_TIME, 10);
  h.writeUInt16LE(DOS_DATE, 12);
  h.writeUInt32LE(p.crc, 14);
  h.writeUInt32LE(p.compressed.length, 18);
  h.writeUInt32LE(p.size, 22);
  h.writeUInt16LE(p.name.length, 26);
  h.writeUInt16LE(0, 28); // extra length
  return Buffer.concat([h, p.name]);
}

export function centralHeader(p: Prepared, offset: number, name = p.name): Buffer {
  const h = Buffer.alloc(46);
  h.writeUInt32LE(0x02014b50, 0);
  h.writeUInt16LE(UNIX_MADE_BY, 4);
  h.writeUInt16LE(20, 6);
  h.writeUInt16LE(0x0800, 8);
  h.writeUInt16LE(p.method, 10);
  h.writeUInt16LE(DOS_TIME, 12);
  h.writeUInt16LE(DOS_DATE, 14);
  h.writeUInt32LE(p.crc, 16);
  h.writeUInt32LE(p.compressed.length, 20);
  h.writeUInt32LE(p.size, 24);
  h.writeUInt16LE(name.length, 28);
  h.writeUInt16LE(0, 30); // extra
  h.writeUInt16LE(0, 32); // comment
  h.writeUInt16LE(0, 34); // disk start
  h.writeUInt16LE(0, 36); // internal attrs
  h.writeUInt32LE(p.externalAttrs, 38);
  h.writeUInt32LE(offset, 42);
  return Buffer.concat([h, name]);
}

/** End of central directory; zip64 end record + locator first when the count does not fit 16 bits. */
export function endRecords(count: number, cdOffset: number, cdSize: number): Buffer {
  const parts: Buffer[] = [];
  const zip64 = count >= 0xffff;
  if (zip64) {
    const rec = Buffer.alloc(56);
    rec.writeUInt32LE(0x06064b50, 0);
    rec.writeBigUInt64LE(44n, 4); // size of the rest of this record
    rec.writeUInt16LE(UNIX_MADE_BY, 12);
    rec.writeUInt16LE(45, 14);
    rec.writeUInt32LE(0, 16); // this disk
    rec.writeUInt32LE(0, 20); // disk with the central directory
    rec.writeBigUInt64LE(BigInt(count), 24);
    rec.writeBigUInt64LE(BigInt(count), 32);
    rec.writeBigUInt64LE(BigInt(cdSize), 40);
    rec.writeBigUInt64LE(BigInt(cdOffset), 48);
    const loc = Buffer.alloc(20);
    loc.writeUInt32LE(0x07064b50, 0);
    loc.writeUInt32LE(0, 4);
    loc.writeBigUInt64LE(BigInt(cdOffset + cdSize), 8); // offset of the zip64 end record
    loc.writeUInt32LE(1, 16);
    parts.push(rec, loc);
  }
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(0, 4);
  end.writeUInt16LE(0, 6);
  end.writeUInt16LE(zip64 ? 0xffff : count, 8);
  end.writeUInt16LE(zip64 ? 0xffff : count, 10);
  end.writeUInt32LE(cdSize, 12);
  end.writeUInt32LE(cdOffset, 16);
  end.writeUInt16LE(0, 20);
  parts.push(end);
  return Buffer.concat(parts);
}

/** A zip of the given entries, in order, exactly as named (no normalisation, no checks). */
export function zipBytes(entries: ZipEntry[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const p = prepare(e);
    const lh = localHeader(p);
    centrals.push(centralHeader(p, offset));
    locals.push(lh, p.compressed);
    offset += lh.length + p.compressed.length;
  }
  const cd = Buffer.concat(centrals);
  return Buffer.concat([...locals, cd, endRecords(entries.length, offset, cd.length)]);
}

export function writeZip(file: string, entries: ZipEntry[]): string {
  writeFileSync(file, zipBytes(entries));
  return file;
}

// ---------------------------------------------------------------------------------------------
// Tar (ustar) + gzip

export interface TarEntry {
  name: string;
  type?: 'file' | 'dir' | 'symlink' | 'hardlink';
  data?: Buffer | string;
  linkname?: string;
  mode?: number;
  /** Write a wrong header checksum. */
  corruptChecksum?: boolean;
}

function octal(buf: Buffer, value: number, offset: number, width: number): void {
  // width-1 octal digits, zero padded, then NUL.
  buf.write(value.toString(8).padStart(width - 1, '0') + '\0', offset, width, 'latin1');
}

export function tarHeader(e: TarEntry, size: number): Buffer {
  const h = Buffer.alloc(512);
  const type = e.type ?? 'file';
  if (Buffer.byteLength(e.name) > 100) throw new Error(`tar name too long for this writer: ${e.name}`);
  h.write(e.name, 0, 100, 'utf8');
  octal(h, e.mode ?? (type === 'dir' ? 0o755 : type === 'symlink' ? 0o777 : 0o644), 100, 8);
  octal(h, 0, 108, 8); // uid
  octal(h, 0, 116, 8); // gid
  octal(h, size, 124, 12);
  octal(h, 1704110400, 136, 12); // mtime 2024-01-01
  h.write(' '.repeat(8), 148, 8, 'latin1'); // checksum field counts as spaces
  h.write({ file: '0', dir: '5', symlink: '2', hardlink: '1' }[type], 156, 1, 'latin1');
  if (e.linkname) h.write(e.linkname, 157, 100, 'utf8');
  h.write('ustar\0', 257, 6, 'latin1');
  h.write('00', 263, 2, 'latin1');
  h.write('root', 265, 32, 'latin1');
  h.write('root', 297, 32, 'latin1');
  let sum = 0;
  for (const b of h) sum += b;
  if (e.corruptChecksum) sum = (sum + 0o1234) & 0o777777;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'latin1');
  return h;
}

export function tarBytes(entries: TarEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const data = typeof e.data === 'string' ? Buffer.from(e.data) : (e.data ?? Buffer.alloc(0));
    const type = e.type ?? 'file';
    const size = type === 'file' ? data.length : 0;
    parts.push(tarHeader(e, size));
    if (size > 0) {
      parts.push(data);
      const pad = (512 - (size % 512)) % 512;
      if (pad) parts.push(Buffer.alloc(pad));
    }
  }
  parts.push(Buffer.alloc(1024)); // two zero blocks end the archive
  return Buffer.concat(parts);
}

export function writeTgz(file: string, entries: TarEntry[]): string {
  writeFileSync(file, gzipSync(tarBytes(entries)));
  return file;
}

// ---------------------------------------------------------------------------------------------
// Model content

let scaleModel: Buffer | undefined;

/** The bytes of the scale model (`y = 2x`, x FP32 [batch, 4]). */
export function scaleModelBytes(): Buffer {
  if (!scaleModel) {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'hostile-model-'));
    try {
      scaleModel = readFileSync(writeScaleModel(dir));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return scaleModel;
}

export function manifestJson(name: string, overrides: Record<string, unknown> = {}): string {
  return JSON.stringify({ runtime: 'onnx', model: { modelName: name, handler: 'onnx', modelVersion: '1.0' }, ...overrides }, null, 2);
}

const manifestEntry = (name = 'h'): ZipEntry => ({ name: 'MAR-INF/MANIFEST.json', data: manifestJson(name), deflate: true });

// ---------------------------------------------------------------------------------------------
// Well-formed controls (prove the writers produce archives the server accepts)

/** A valid .mar: manifest + the scale model, deflated. */
export function writeGoodZip(file: string, name = 'h'): string {
  return writeZip(file, [manifestEntry(name), { name: 'model.onnx', data: scaleModelBytes(), deflate: true }]);
}

/** A valid tgz in the archiver's layout: everything under `<name>/`. */
export function writeGoodTgz(file: string, name = 'h'): string {
  return writeTgz(file, [
    { name: `${name}/`, type: 'dir' },
    { name: `${name}/MAR-INF/`, type: 'dir' },
    { name: `${name}/MAR-INF/MANIFEST.json`, data: manifestJson(name) },
    { name: `${name}/model.onnx`, data: scaleModelBytes() },
  ]);
}

// ---------------------------------------------------------------------------------------------
// Hostile zips

/** A normal manifest, then an entry whose name climbs out of the extraction dir (`../../x`). */
export function writeZipSlip(file: string, slipName: string): string {
  return writeZip(file, [manifestEntry(), { name: 'model.onnx', data: scaleModelBytes(), deflate: true }, { name: slipName, data: 'pwned by zip-slip\n' }]);
}

/** An entry with an absolute name (e.g. `/tmp/abs-<random>`). */
export function writeZipAbsolute(file: string, absName: string): string {
  return writeZip(file, [manifestEntry(), { name: absName, data: 'pwned by absolute path\n' }]);
}

/** A symlink entry `link` → target (external attrs 0o120777 << 16), followed by `link/evil`. */
export function writeZipSymlink(file: string, target: string, evil = 'pwned through a symlink\n'): string {
  return writeZip(file, [
    manifestEntry(),
    { name: 'inner/keep.txt', data: 'inside\n' },
    { name: 'link', data: target, mode: 0o120777 },
    { name: 'link/evil', data: evil },
  ]);
}

export interface BombInfo {
  file: string;
  /** Bytes on disk. */
  size: number;
  /** Bytes the archive claims (and really would) expand to. */
  expanded: number;
}

/**
 * A zip bomb by overlapping entries: one local entry of `chunk` zeros, deflated (about 1 KB per MiB),
 * referenced by `copies` central-directory entries with different names. Tiny on disk, `copies × chunk`
 * bytes when extracted (default 1100 × 1 MiB ≈ 1.07 GiB).
 */
export function writeZipBomb(file: string, copies = 1100, chunk = 1 << 20): BombInfo {
  const manifest = prepare(manifestEntry());
  const manifestLocal = localHeader(manifest);
  const zeros = prepare({ name: 'zeros.bin', data: Buffer.alloc(chunk), deflate: true });
  const zerosLocal = localHeader(zeros);
  const zerosOffset = manifestLocal.length + manifest.compressed.length;
  const centrals: Buffer[] = [centralHeader(manifest, 0)];
  for (let i = 0; i < copies; i++) centrals.push(centralHeader(zeros, zerosOffset, Buffer.from(`bomb/${String(i).padStart(5, '0')}.bin`)));
  const cd = Buffer.concat(centrals);
  const cdOffset = zerosOffset + zerosLocal.length + zeros.compressed.length;
  const bytes = Buffer.concat([manifestLocal, manifest.compressed, zerosLocal, zeros.compressed, cd, endRecords(centrals.length, cdOffset, cd.length)]);
  writeFileSync(file, bytes);
  return { file, size: bytes.length, expanded: copies * chunk };
}

/** `count` one-byte entries (zip64 end records, as the count does not fit 16 bits). */
export function writeZipManyEntries(file: string, count = 100_000): string {
  const entries: ZipEntry[] = [manifestEntry()];
  const one = Buffer.from('x');
  for (let i = 0; i < count; i++) entries.push({ name: `e/${i.toString(36)}`, data: one });
  return writeZip(file, entries);
}

/** A valid zip cut in half: no central directory, no end record. */
export function writeZipTruncated(file: string): string {
  const whole = zipBytes([manifestEntry(), { name: 'model.onnx', data: scaleModelBytes(), deflate: true }]);
  writeFileSync(file, whole.subarray(0, Math.floor(whole.length / 2)));
  return file;
}

/** A well-formed zip whose MANIFEST.json is valid JSON with wrongly typed fields. */
export function writeZipBadManifest(file: string, manifest: unknown): string {
  return writeZip(file, [
    { name: 'MAR-INF/MANIFEST.json', data: JSON.stringify(manifest), deflate: true },
    { name: 'model.onnx', data: scaleModelBytes(), deflate: true },
  ]);
}

/** A second MAR-INF/MANIFEST.json after the first (a manifest swap that a last-wins reader would take). */
export function writeZipDuplicateManifest(file: string): string {
  return writeZip(file, [
    manifestEntry(),
    { name: 'model.onnx', data: scaleModelBytes(), deflate: true },
    { name: 'MAR-INF/MANIFEST.json', data: JSON.stringify({ runtime: 'node', model: { modelName: 'h', handler: 'model.onnx' } }) },
  ]);
}

/** A well-formed zip with a model but no MAR-INF/MANIFEST.json. */
export function writeZipNoManifest(file: string): string {
  return writeZip(file, [
    { name: 'model.onnx', data: scaleModelBytes(), deflate: true },
    { name: 'MANIFEST.txt', data: 'not a manifest' },
  ]);
}

/** A runtime-node archive whose manifest handler points outside the archive (`../outside.js`). */
export function writeZipHandlerEscape(file: string, handler = '../outside.js'): string {
  return writeZip(file, [
    { name: 'MAR-INF/MANIFEST.json', data: JSON.stringify({ runtime: 'node', model: { modelName: 'h', handler, modelVersion: '1.0' } }) },
    { name: 'handler.js', data: 'export function handle(batch) { return batch.map(() => "inside"); }\n' },
  ]);
}

// ---------------------------------------------------------------------------------------------
// Hostile tgz

/** A tgz whose second header (a model file after a valid manifest) has a wrong checksum. */
export function writeTgzBadChecksum(file: string): string {
  return writeTgz(file, [
    { name: 'h/MAR-INF/MANIFEST.json', data: manifestJson('h') },
    { name: 'h/model.onnx', data: scaleModelBytes(), corruptChecksum: true },
  ]);
}

/** A tgz with a symlink entry pointing outside the extraction dir. */
export function writeTgzSymlinkOutside(file: string, target: string): string {
  return writeTgz(file, [
    { name: 'h/MAR-INF/MANIFEST.json', data: manifestJson('h') },
    { name: 'h/escape', type: 'symlink', linkname: target },
    { name: 'h/escape/evil', data: 'pwned through a tar symlink\n' },
  ]);
}

/** A tgz with a hard link entry pointing outside the extraction dir. */
export function writeTgzHardlinkOutside(file: string, target: string): string {
  return writeTgz(file, [
    { name: 'h/MAR-INF/MANIFEST.json', data: manifestJson('h') },
    { name: 'h/model.onnx', type: 'hardlink', linkname: target },
  ]);
}

/** A tgz with an entry whose name climbs out (`../x`) or is absolute. */
export function writeTgzSlip(file: string, entryName: string): string {
  return writeTgz(file, [
    { name: 'h/MAR-INF/MANIFEST.json', data: manifestJson('h') },
    { name: entryName, data: 'pwned by tar-slip\n' },
  ]);
}
