// Tar (optionally gzipped) extraction with node-tar: a first pass lists and checks every entry with
// the guard (tar headers carry true sizes), the second extracts only if all passed.
import * as tar from 'tar';
import { ArchiveError, type ArchiveGuard } from './archive-guard.js';

const ALLOWED = new Set(['File', 'OldFile', 'ContiguousFile', 'Directory', 'SymbolicLink', 'Link']);

export async function extractTgz(file: string, guard: ArchiveGuard, progress: (done: number, total: number) => void): Promise<void> {
  let failure: Error | undefined;
  const fail = (err: Error) => (failure ??= err);
  const strictWarn = (code: string, message: string) => fail(new ArchiveError(`Invalid tar archive: ${message} (${code})`));
  try {
    await tar.t({
      file,
      strict: true,
      onwarn: strictWarn,
      onReadEntry: (entry) => {
        try {
          if (failure) return;
          if (!ALLOWED.has(entry.type)) throw new ArchiveError(`Archive entry "${entry.path}" has unsupported type ${entry.type}.`);
          guard.entry(entry.path);
          if (entry.type === 'SymbolicLink') guard.link(entry.path, entry.linkpath ?? '', true);
          if (entry.type === 'Link') guard.link(entry.path, entry.linkpath ?? '', false);
          guard.add(entry.size ?? 0);
        } catch (err) {
          fail(err as Error);
        }
        entry.resume();
      },
    });
  } catch (err) {
    fail(new ArchiveError(`Invalid tar archive: ${(err as Error).message}`));
  }
  if (failure) throw failure instanceof ArchiveError ? failure : new ArchiveError(failure.message);
  const total = guard.entryCount;
  let done = 0;
  try {
    await tar.x({
      file,
      cwd: guard.root,
      strict: true,
      preservePaths: false,
      preserveOwner: false,
      onwarn: strictWarn,
      onReadEntry: () => progress(++done, total),
    });
  } catch (err) {
    throw new ArchiveError(`Invalid tar archive: ${(err as Error).message}`);
  }
  if (failure) throw failure;
}
