// Writes the entries node-tar's Parser hands over, one after another (a link may name the file just
// before it), each already checked by the guard. The writes are the server's own, not node-tar's
// Unpack, so that a refused archive can be stopped at once and every write in flight awaited before
// its directory is removed (Unpack keeps writing after an abort, with no way to wait for it).
import { createWriteStream, type WriteStream } from 'node:fs';
import { link, mkdir, symlink } from 'node:fs/promises';
import path from 'node:path';
import type { ReadEntry } from 'tar';
import { ArchiveError } from './archive-guard.js';

const FILE_TYPES = new Set(['File', 'OldFile', 'ContiguousFile']);

export class TarEntryWriter {
  private chain: Promise<void> = Promise.resolve();
  private failure: Error | undefined;
  private open: WriteStream | undefined;

  /** `onFail` is told of the first failed write, to stop the stream that feeds the entries. */
  constructor(
    private readonly root: string,
    private readonly onFail: (err: Error) => void,
  ) {}

  /** Queues an entry whose destination the guard returned; its data waits in the parser meanwhile. */
  add(entry: ReadEntry, dest: string): void {
    this.chain = this.chain
      .then(() => (this.failure ? entry.resume() : this.write(entry, dest)))
      .catch((err: Error) => {
        if (this.failure) return;
        this.failure = err;
        this.onFail(err);
      });
  }

  /** No more writes: the one in progress is destroyed, the queued ones are skipped. */
  stop(err: Error): void {
    this.failure ??= err;
    this.open?.destroy();
  }

  /** Resolves once every write has finished or been stopped; rejects with the first failure. */
  async idle(): Promise<void> {
    await this.chain;
    if (this.failure) throw this.failure;
  }

  private async write(entry: ReadEntry, dest: string): Promise<void> {
    const mode = (entry.mode ?? 0o644) & 0o777;
    if (entry.type === 'Directory') {
      entry.resume();
      await mkdir(dest, { recursive: true, mode: mode | 0o700 });
      return;
    }
    await mkdir(path.dirname(dest), { recursive: true });
    if (entry.type === 'SymbolicLink') {
      entry.resume();
      await symlink(entry.linkpath ?? '', dest);
    } else if (entry.type === 'Link') {
      entry.resume();
      await link(path.resolve(this.root, entry.linkpath ?? ''), dest);
    } else if (FILE_TYPES.has(entry.type)) {
      await this.writeFile(entry, dest, mode);
    } else {
      throw new ArchiveError(`Archive entry "${entry.path}" has unsupported type ${entry.type}.`);
    }
  }

  private writeFile(entry: ReadEntry, dest: string, mode: number): Promise<void> {
    // Stopped while the directory was being made: the entry's data will never end, so never wait for it.
    if (this.failure) return Promise.reject(this.failure);
    const ws = createWriteStream(dest, { flags: 'wx', mode });
    this.open = ws;
    return new Promise<void>((resolve, reject) => {
      ws.on('error', (err: NodeJS.ErrnoException) => {
        entry.unpipe(ws);
        reject(err.code === 'EEXIST' ? new ArchiveError(`Archive has a duplicate entry: ${entry.path}`) : err);
      });
      ws.on('close', () => {
        this.open = undefined;
        if (ws.writableFinished) resolve();
        else reject(this.failure ?? new ArchiveError(`Writing "${entry.path}" was stopped.`));
      });
      entry.pipe(ws);
    });
  }
}
