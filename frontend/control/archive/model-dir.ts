// What a model directory holds, as SageMaker hands them over (docs/deploy.md, SageMaker multi-model
// endpoints): an extracted archive (a manifest), an archive file to unpack, or bare model files with
// exactly one .onnx file. An extracted tar whose files sit in one top-level folder is looked into.
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { MANIFEST_PATH, DEFAULT_MODEL_FILE, pickModelFile } from '../../../protocol/manifest.js';

export type DirContent =
  /** MAR-INF/MANIFEST.json (or nothing recognisable: served with the defaults, as MMS does). */
  | { kind: 'manifest' | 'plain'; dir: string }
  /** One archive file and no model file beside it: unpacked like any archive. */
  | { kind: 'archive'; file: string }
  /** No manifest, no model.onnx, exactly one .onnx file: that one is the model. */
  | { kind: 'onnx'; dir: string; modelFile: string };

const ARCHIVE = /\.(mar|model|tar\.gz|tgz|tar|zip)$/i;

export async function inspectModelDir(dir: string): Promise<DirContent> {
  if (await isFile(path.join(dir, MANIFEST_PATH))) return { kind: 'manifest', dir };
  const entries = (await readdir(dir, { withFileTypes: true })).filter((e) => !e.name.startsWith('.'));
  if (entries.length === 1 && entries[0].isDirectory()) {
    const inner = await inspectModelDir(path.join(dir, entries[0].name));
    if (inner.kind !== 'plain') return inner;
  }
  const files = entries.filter((e) => e.isFile()).map((e) => e.name);
  const modelFile = pickModelFile(files);
  if (modelFile) return modelFile === DEFAULT_MODEL_FILE ? { kind: 'plain', dir } : { kind: 'onnx', dir, modelFile };
  const archives = files.filter((f) => ARCHIVE.test(f));
  if (!files.some((f) => /\.onnx$/i.test(f)) && archives.length === 1) return { kind: 'archive', file: path.join(dir, archives[0]) };
  return { kind: 'plain', dir };
}

async function isFile(p: string): Promise<boolean> {
  return stat(p).then((s) => s.isFile(), () => false);
}
