// Archive bombs registered over the Management API of a real server, the controller's peak memory
// measured: a 2 MB tar.gz holding one 2 GiB entry (from the model store and from an allowed URL), a
// tar.gz gzipped once more, a zip whose central directory understates a 2 GiB entry, a zip of
// overlapping entries and one declaring a million entries are refused with a 400 JSON error while the
// controller stays below 300 MB, and a good model serves afterwards.
// The test server runs in this process, so the controller's pid is ours: VmHWM (the peak RSS) is
// reset before each registration through /proc/<pid>/clear_refs and read once it is answered.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createReadStream, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { TWO_GIB, writeNestedTgzBomb, writeTgzBomb, writeZipCountBomb, writeZipLyingBomb } from '../helpers/archive-bombs.js';
import { writeGoodZip, writeZipBomb } from '../helpers/hostile-archives.js';
import { postJson, request, serverWithOwnDirs, v2Request } from '../helpers/server.js';

const LIMIT_MB = 300;

const statusKb = (field: 'VmRSS' | 'VmHWM'): number =>
  Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${process.pid}/status`, 'utf8'))![1]);

/** Sets VmHWM back to the current RSS (Linux ≥ 4.0), so the peak read afterwards is this call's. */
const resetPeak = (): void => writeFileSync(`/proc/${process.pid}/clear_refs`, '5');

describe('archive bombs', { timeout: 60_000 }, () => {
  // allowed_urls covers this test's origin on any port, under /bombs/ only.
  const dirs = serverWithOwnDirs('mms-bombs-', { allowed_urls: 'http://127\\.0\\.0\\.1:\\d+/bombs/.*' });
  let origin: http.Server;
  let base: string;

  before(async () => {
    origin = http.createServer((req, res) => {
      const name = path.basename(new URL(req.url ?? '/', 'http://x').pathname);
      const file = createReadStream(path.join(dirs.store, name));
      file.on('error', () => res.writeHead(404).end());
      file.on('open', () => file.pipe(res));
    });
    await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(origin.address() as AddressInfo).port}/bombs`;
  });
  after(async () => {
    origin.closeAllConnections();
    await new Promise((resolve) => origin.close(resolve));
  });

  /** Registers `url`, expects a 400 JSON refusal; returns the controller's peak RSS meanwhile (and its RSS before), in MB. */
  const refused = async (url: string, message: RegExp): Promise<string> => {
    resetPeak();
    const before = statusKb('VmHWM');
    const r = await request(`${dirs.server.managementUrl}/models?url=${encodeURIComponent(url)}&model_name=h&initial_workers=0&synchronous=true`, { method: 'POST' });
    const peak = statusKb('VmHWM');
    assert.equal(r.status, 400, `${url}: ${JSON.stringify(r.body)}`);
    assert.match(r.headers.get('content-type') ?? '', /application\/json/);
    assert.equal(r.body.errorCode, 'INVALID_MODEL');
    assert.equal(r.body.type, 'InvalidModelException');
    assert.match(r.body.message, message);
    assert.equal((await request(`${dirs.server.managementUrl}/models/h`)).status, 404);
    assert.deepEqual(dirs.workDirEntries(), [], 'nothing is left in work_dir');
    const mb = peak / 1024;
    assert.ok(mb < LIMIT_MB, `${url}: the controller's peak RSS was ${mb.toFixed(0)} MB (from ${(before / 1024).toFixed(0)} MB), over ${LIMIT_MB} MB`);
    return `${mb.toFixed(0)} MB (${(before / 1024).toFixed(0)} MB before)`;
  };

  it('a 2 MB tar.gz holding a 2 GiB entry is refused from the model store and from an allowed URL', async (t) => {
    const bomb = writeTgzBomb(path.join(dirs.store, 'bomb.tar.gz'));
    assert.ok(bomb.size < 3 * 1024 * 1024, `${bomb.size} bytes on disk`);
    assert.equal(bomb.expanded, TWO_GIB);
    const bombMessage = /expands more than 200× its size; refused as a possible archive bomb\. \(bomb\.tar\.gz\)/;
    const fromStore = await refused('bomb.tar.gz', bombMessage);
    const fromUrl = await refused(`${base}/bomb.tar.gz`, bombMessage);
    t.diagnostic(`tar.gz bomb (${bomb.size} bytes): controller peak RSS ${fromStore} from the store, ${fromUrl} from a URL`);
  });

  it('a tar.gz whose tar is gzipped once more (the 2 GiB entry inside) is refused', async (t) => {
    const bomb = writeNestedTgzBomb(path.join(dirs.store, 'nested.tar.gz'));
    const peak = await refused('nested.tar.gz', /Invalid tar archive: it holds another compressed stream/);
    t.diagnostic(`nested tar.gz bomb (${bomb.size} bytes): controller peak RSS ${peak}`);
  });

  it('a zip whose central directory declares 1 MiB for an entry of 2 GiB is refused', async (t) => {
    const bomb = writeZipLyingBomb(path.join(dirs.store, 'lying.mar'));
    assert.ok(bomb.size < 3 * 1024 * 1024, `${bomb.size} bytes on disk`);
    // Stopped at the entry's declared size, not only once the whole archive passes a limit.
    const peak = await refused('lying.mar', /"zeros\.bin" inflates past the 1048576 bytes it declares/);
    t.diagnostic(`lying zip bomb (${bomb.size} bytes): controller peak RSS ${peak}`);
  });

  it('a zip of 2048 overlapping 1 MiB entries is refused', async (t) => {
    const bomb = writeZipBomb(path.join(dirs.store, 'overlap.mar'), 2048);
    const peak = await refused('overlap.mar', /expands more than 200× its size/);
    t.diagnostic(`overlapping zip bomb (${bomb.size} bytes): controller peak RSS ${peak}`);
  });

  it('a zip whose end records declare 1,000,000 entries is refused before its central directory is read', async () => {
    writeZipCountBomb(path.join(dirs.store, 'count.mar'));
    await refused('count.mar', /Archive has 1000000 entries, more than 10000 \(max_archive_entries\)/);
  });

  it('the server still registers and serves a good model afterwards', async () => {
    writeGoodZip(path.join(dirs.store, 'good.mar'), 'good');
    const r = await request(`${dirs.server.managementUrl}/models?url=good.mar&initial_workers=1&synchronous=true`, { method: 'POST' });
    assert.deepEqual([r.status, r.body], [200, { status: 'Workers scaled' }]);
    const p = await postJson(`${dirs.server.inferenceUrl}/predictions/good`, v2Request('x', [1, 4], [1, 2, 3, 4.5]));
    assert.equal(p.status, 200, JSON.stringify(p.body));
    assert.deepEqual(p.body.outputs, [{ name: 'y', datatype: 'FP32', shape: [1, 4], data: [2, 4, 6, 9] }]);
    assert.equal((await request(`${dirs.server.managementUrl}/models/good`, { method: 'DELETE' })).status, 200);
    assert.deepEqual(dirs.workDirEntries(), []);
  });
});
