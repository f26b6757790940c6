// Which files of a model directory go into an archive (archive.md §2): everything but editor and
// build litter, an old manifest, and other archives.
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

export async function selectFiles(root: string, skip: string[] = []): Promise<SelectedFile[]> {
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
  await walk(root, '');
  return out;
}
