// Archives whose links each look harmless as text but escape when followed one after another: a
// deep link `d1/…/d8/up` points back to the extraction root, a second link climbs from `up` with
// as many `..` as the text can absorb. Textually it stays inside; on disk it lands two levels above
// the extraction directory (the test's root: <root>/work/<extracted>/.. /..).
import { manifestJson, scaleModelBytes, writeTgz, writeZip, type TarEntry, type ZipEntry } from './hostile-archives.js';

const DEPTH = 8;
const DIRS = Array.from({ length: DEPTH }, (_, i) => `d${i + 1}`).join('/');
const SYMLINK = 0o120777;

/** Target of `<prefix>d1/…/d8/up` → the extraction root (its own depth in `..`). */
const upTarget = (prefixDepth: number) => Array(DEPTH + prefixDepth).fill('..').join('/');

/** From a link one level below `prefix`, through `up`, then two levels above the extraction root. */
const chained = (file: string) => `../${DIRS}/up/../../${file}`;

export type ChainTarget = 'manifest' | 'model';

/**
 * A zip whose manifest or model.onnx is a chained link to `<root>/<outsideFile>`. `upLast` writes the
 * `up` link after the link that passes through it, so only the check on disk can see the chain.
 */
export function writeZipChained(file: string, what: ChainTarget, outsideFile: string, upLast = false): string {
  const entries: ZipEntry[] = [{ name: `${DIRS}/up`, data: upTarget(0), mode: SYMLINK }];
  if (what === 'manifest') {
    entries.push({ name: 'MAR-INF/MANIFEST.json', data: chained(outsideFile), mode: SYMLINK });
    entries.push({ name: 'model.onnx', data: scaleModelBytes() });
  } else {
    entries.push({ name: 'MAR-INF/MANIFEST.json', data: manifestJson('h') });
    // model.onnx sits at the top: one `..` less than from MAR-INF/.
    entries.push({ name: 'model.onnx', data: chained(outsideFile).slice(3), mode: SYMLINK });
  }
  return writeZip(file, upLast ? [...entries.slice(1), entries[0]] : entries);
}

/** The same in the archiver's tgz layout (everything under `h/`), as symlinks. */
export function writeTgzChained(file: string, what: ChainTarget, outsideFile: string, upLast = false): string {
  const entries: TarEntry[] = [{ name: `h/${DIRS}/up`, type: 'symlink', linkname: upTarget(1) }];
  if (what === 'manifest') {
    entries.push({ name: 'h/MAR-INF/MANIFEST.json', type: 'symlink', linkname: chained(outsideFile) });
    entries.push({ name: 'h/model.onnx', data: scaleModelBytes() });
  } else {
    entries.push({ name: 'h/MAR-INF/MANIFEST.json', data: manifestJson('h') });
    entries.push({ name: 'h/model.onnx', type: 'symlink', linkname: chained(outsideFile).slice(3) });
  }
  return writeTgz(file, upLast ? [...entries.slice(1), entries[0]] : entries);
}

/** A tgz whose model.onnx is a hard link (targets are archive-root relative) through the `up` link. */
export function writeTgzChainedHardlink(file: string, outsideFile: string): string {
  return writeTgz(file, [
    { name: `h/${DIRS}/up`, type: 'symlink', linkname: upTarget(1) },
    { name: 'h/MAR-INF/MANIFEST.json', data: manifestJson('h') },
    { name: 'h/model.onnx', type: 'hardlink', linkname: `h/${DIRS}/up/../../${outsideFile}` },
  ]);
}
