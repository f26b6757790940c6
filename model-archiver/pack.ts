// Writes a model directory as a .mar (zip), a .tar.gz (entries under <name>/), or a plain directory,
// with MAR-INF/MANIFEST.json added; reports progress by bytes.
import { createReadStream, createWriteStream } from 'node:fs';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as tar from 'tar';
import yazl from 'yazl';
import { MANIFEST_PATH, type Manifest } from '../protocol/manifest.js';
import type { SelectedFile } from './file-selection.js';

export type ArchiveFormat = 'default' | 'tgz' | 'no-archive';

export function outputPath(exportPath: string, name: string, format: ArchiveFormat): string {
  if (format === 'tgz') return path.join(exportPath, `${name}.tar.gz`);
  if (format === 'no-archive') return path.join(exportPath, name);
  return path.join(exportPath, `${name}.mar`);
}

export async function pack(
  files: SelectedFile[],
  manifest: Manifest,
  out: string,
  format: ArchiveFormat,
  progress: (bytes: number, total: number) => void,
): Promise<void> {
  const manifestJson = Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`);
  const total = files.reduce((a, f) => a + f.size, 0);
  let done = 0;
  const counted = () =>
    new Transform({
      transform(chunk: Buffer, _enc, cb) {
        done += chunk.length;
        progress(done, total);
        cb(null, chunk);
      },
    });

  if (format === 'default') {
    const zip = new yazl.ZipFile();
    for (const f of files) zip.addReadStream(createReadStream(f.full).pipe(counted()), f.name, { mode: f.mode });
    zip.addBuffer(manifestJson, MANIFEST_PATH);
    zip.end();
    await pipeline(zip.outputStream, createWriteStream(out));
    return;
  }
  if (format === 'no-archive') {
    for (const f of files) {
      const dest = path.join(out, f.name);
      await mkdir(path.dirname(dest), { recursive: true });
      if (path.resolve(f.full) !== path.resolve(dest)) await pipeline(createReadStream(f.full), counted(), createWriteStream(dest));
    }
    await mkdir(path.join(out, 'MAR-INF'), { recursive: true });
    await writeFile(path.join(out, MANIFEST_PATH), manifestJson);
    return;
  }
  // tgz: stage the tree under <name>/ so every entry carries that prefix, as MMS's archiver does.
  const stage = await mkdtemp(path.join(os.tmpdir(), 'model-archiver-'));
  try {
    const name = path.basename(out).replace(/\.tar\.gz$/, '');
    const top = path.join(stage, name);
    for (const f of files) {
      const dest = path.join(top, f.name);
      await mkdir(path.dirname(dest), { recursive: true });
      await copyFile(f.full, dest);
      done += f.size;
      progress(done, total);
    }
    await mkdir(path.join(top, 'MAR-INF'), { recursive: true });
    await writeFile(path.join(top, MANIFEST_PATH), manifestJson);
    await tar.c({ gzip: true, file: out, cwd: stage, portable: true }, [name]);
  } finally {
    await rm(stage, { recursive: true, force: true });
  }
}
