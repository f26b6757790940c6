// Which files of a model directory go into an archive (docs/archives.md "Packaging a model"):
// everything but editor and build litter, an old manifest, and other archives; plus --extra-files.
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';

export interface SelectedFile {
  /** Archive-relative, '/'-separated. */
  name: string;
  full: string;
  size: number;
  mode: number;
}

const SKIP_DIRS = new Set(['__MACOSX', '__pycache__', 'node_modules']);
const SKIP_FILE = (name: string) => name === 'MANIFEST.json' || /\.(pyc|mar)$/.test(name) || name === '.DS_Store';

/** The files under `root`, named relative to it, each name after `prefix/` when one is given. */
export async function selectFiles(root: string, skip: string[] = [], prefix = ''): Promise<SelectedFile[]> {
  const out: SelectedFile[] = [];
  const skipped = new Set(skip.map((p) => path.resolve(p)));
  async function walk(dir: string, prefix: string): Promise<void> {
    const entries = await readdir(dir, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : 1));
    for (const e of entries) {
      const full = path.join(dir, e.name);
      if (skipped.has(full)) continue;
      const name = prefix ? `${prefix}/${e.name}` : e.name;
      if (e.isDirectory()) {
        if (SKIP_DIRS.has(e.name) || e.name.startsWith('.') || name === 'MAR-INF') continue;
        await walk(full, name);
      } else if (e.isFile() && !SKIP_FILE(e.name)) {
        const s = await stat(full);
        out.push({ name, full, size: s.size, mode: s.mode });
      }
    }
  }
  await walk(root, prefix);
  return out;
}

/**
 * TorchServe's --extra-files: a file is packed at the archive's top level under its own name, a
 * directory as a top-level directory of that name (with the same litter skipped). A name the model
 * path (or an earlier extra file) already has is refused, since one would silently hide the other.
 */
export async function selectExtraFiles(paths: string[], taken: SelectedFile[]): Promise<SelectedFile[]> {
  const names = new Set(taken.map((f) => f.name));
  const out: SelectedFile[] = [];
  for (const p of paths) {
    const full = path.resolve(p);
    const s = await stat(full).catch(() => undefined);
    if (!s || !(s.isFile() || s.isDirectory())) throw new Error(`Extra file ${p} does not exist.`);
    const base = path.basename(full);
    const files = s.isFile() ? [{ name: base, full, size: s.size, mode: s.mode }] : await selectFiles(full, [], base);
    for (const f of files) {
      if (names.has(f.name)) throw new Error(`Extra file ${p} would replace ${f.name} of the model path or an earlier extra file.`);
      names.add(f.name);
      out.push(f);
    }
  }
  return out;
}
