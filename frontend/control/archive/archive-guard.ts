// The checks every archive entry passes before anything is written: a relative path that stays in
// the target dir, no writing through a link made by this archive, links that point inside, and caps
// on entry count, total bytes and compression ratio (archive bombs), enforced as the archive streams.
import path from 'node:path';

export class ArchiveError extends Error {
  override name = 'ArchiveError';
}

export interface ArchiveLimits {
  maxEntries: number;
  maxBytes: number;
}

/** Expansion beyond this ratio (after a small floor) marks a bomb; model weights barely compress. */
export const MAX_RATIO = 200;
const RATIO_FLOOR = 16 * 1024 * 1024;
/** A tar entry's own header, an extended header before it and padding: at most about 2 KiB. */
const STREAM_OVERHEAD = 2048;

export class ArchiveGuard {
  private entries = 0;
  private bytes = 0;
  private readonly links = new Set<string>();

  constructor(
    readonly root: string,
    private readonly limits: ArchiveLimits,
    private readonly archiveBytes: number,
  ) {}

  get totalBytes(): number {
    return this.bytes;
  }

  get entryCount(): number {
    return this.entries;
  }

  /** Checks what a zip's central directory declares, before anything is written (it may lie; add() still counts). */
  declared(entries: number, bytes: number): void {
    if (entries > this.limits.maxEntries) {
      throw new ArchiveError(`Archive has ${entries} entries, more than ${this.limits.maxEntries} (max_archive_entries).`);
    }
    this.check(bytes);
  }

  /** Validates an entry name; returns its absolute destination. */
  entry(name: string): string {
    if (++this.entries > this.limits.maxEntries) {
      throw new ArchiveError(`Archive has more than ${this.limits.maxEntries} entries (max_archive_entries).`);
    }
    const rel = normalise(name);
    for (let dir = path.posix.dirname(rel); dir !== '.'; dir = path.posix.dirname(dir)) {
      if (this.links.has(dir)) throw new ArchiveError(`Archive entry "${name}" would be written through a link.`);
    }
    return path.join(this.root, rel);
  }

  /** Validates a symlink or hard link; `relativeToEntry` for symlinks, archive-root-relative for hard links. */
  link(name: string, target: string, relativeToEntry: boolean): void {
    if (target === '' || path.isAbsolute(target) || /^[A-Za-z]:/.test(target)) {
      throw new ArchiveError(`Archive link "${name}" points to an absolute path: ${target}`);
    }
    const rel = normalise(name);
    const base = relativeToEntry ? path.posix.dirname(rel) : '.';
    const unix = target.replace(/\\/g, '/');
    const resolved = path.posix.normalize(path.posix.join(base, unix));
    if (resolved === '..' || resolved.startsWith('../')) {
      throw new ArchiveError(`Archive link "${name}" points outside the model directory: ${target}`);
    }
    this.throughLink(name, base, unix);
    this.links.add(rel);
  }

  /**
   * Text resolution equals the file system's only while no directory on the way is a link: `up/..`
   * is `.` as text but the parent of wherever `up` points on disk. So a link whose target passes
   * through a link made by this archive is refused (chained links escape that way).
   */
  private throughLink(name: string, base: string, target: string): void {
    const parts = base === '.' ? [] : base.split('/');
    const segments = target.split('/').filter((s) => s !== '' && s !== '.');
    segments.forEach((seg, i) => {
      if (seg === '..') return void parts.pop();
      parts.push(seg);
      if (i < segments.length - 1 && this.links.has(parts.join('/'))) {
        throw new ArchiveError(`Archive link "${name}" passes through another link (${parts.join('/')}).`);
      }
    });
  }

  /** Counts bytes as they are written (declared sizes may lie). */
  add(n: number): void {
    this.bytes += n;
    this.check(this.bytes);
  }

  /**
   * Checks the whole inflated stream of a tar (headers, padding, metadata, bytes past its end), less
   * room for the headers of the entries seen: what is no entry's data is bounded like the data.
   */
  inflated(total: number): void {
    this.check(total - STREAM_OVERHEAD * this.entries);
  }

  private check(bytes: number): void {
    if (bytes > this.limits.maxBytes) {
      throw new ArchiveError(`Archive expands to more than ${this.limits.maxBytes} bytes (max_extracted_size).`);
    }
    if (bytes > RATIO_FLOOR && bytes > this.archiveBytes * MAX_RATIO) {
      throw new ArchiveError(`Archive expands more than ${MAX_RATIO}× its size; refused as a possible archive bomb.`);
    }
  }
}

function normalise(name: string): string {
  const unix = name.replace(/\\/g, '/');
  if (unix.startsWith('/') || /^[A-Za-z]:/.test(unix)) throw new ArchiveError(`Archive entry has an absolute path: ${name}`);
  if (unix.split('/').includes('..')) throw new ArchiveError(`Archive entry escapes the model directory: ${name}`);
  const rel = path.posix.normalize(unix).replace(/\/$/, '');
  if (rel === '' || rel === '.') throw new ArchiveError(`Archive entry has an empty name: ${JSON.stringify(name)}`);
  return rel;
}
