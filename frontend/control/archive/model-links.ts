// Real-path containment of a model directory. Link targets checked as text can still escape when
// links are followed one after another, so after extraction (and for model-store directories) every
// symlink is resolved on disk and must land inside the model directory; in an extracted archive no
// file may share its inode with a file outside (a hard link made through a link). Paths in messages
// are relative to the model directory: error bodies never name the server's own paths.
import { lstat, readdir, realpath } from 'node:fs/promises';
import path from 'node:path';
import { invalidModel } from '../../errors.js';

export interface LinkCheckOptions {
  /** An extracted archive: also refuse hard links to files outside the directory. */
  extracted: boolean;
}

/** Refuses a model directory holding a symlink that does not resolve inside it. */
export async function checkModelLinks(modelDir: string, o: LinkCheckOptions): Promise<void> {
  const root = await realpath(modelDir);
  const inodes = new Map<string, { nlink: number; seen: number; rel: string }>();
  const walk = async (rel: string): Promise<void> => {
    for (const entry of await readdir(path.join(modelDir, rel), { withFileTypes: true })) {
      const child = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isSymbolicLink()) {
        const real = await realpath(path.join(modelDir, child)).catch(() => undefined);
        if (!real) throw invalidModel(`Link "${child}" in the model directory points to nothing.`);
        if (!isInside(root, real)) throw invalidModel(`Link "${child}" resolves outside the model directory.`);
      } else if (entry.isDirectory()) {
        await walk(child);
      } else if (o.extracted && entry.isFile()) {
        const st = await lstat(path.join(modelDir, child));
        if (st.nlink < 2) continue;
        const key = `${st.dev}:${st.ino}`;
        const seen = inodes.get(key) ?? { nlink: st.nlink, seen: 0, rel: child };
        seen.seen++;
        inodes.set(key, seen);
      }
    }
  };
  await walk('');
  for (const { nlink, seen, rel } of inodes.values()) {
    if (seen < nlink) throw invalidModel(`Archive entry "${rel}" is a hard link to a file outside the model directory.`);
  }
}

/**
 * The real path of `rel` inside the model directory, or undefined when it does not exist; a path
 * that resolves outside is refused (`what` names it in the message).
 */
export async function realPathInside(modelDir: string, rel: string, what: string): Promise<string | undefined> {
  const root = await realpath(modelDir);
  const full = path.resolve(modelDir, rel);
  const real = await realpath(full).catch(() => undefined);
  if (real === undefined) {
    // A dangling link is as bad as one that leaves: it is refused, not reported as missing.
    const isLink = await lstat(full).then((s) => s.isSymbolicLink(), () => false);
    if (!isLink && isInside(path.resolve(modelDir), full)) return undefined;
  } else if (isInside(root, real)) {
    return real;
  }
  throw invalidModel(`${what} ${rel} is outside the model directory.`);
}

function isInside(root: string, p: string): boolean {
  return p.startsWith(root + path.sep);
}
