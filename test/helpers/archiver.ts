// The real `model-archiver` CLI as a child process, and a look inside the .mar files it writes.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import unzipper from 'unzipper';

const CLI = fileURLToPath(new URL('../../model-archiver/cli.js', import.meta.url));

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function archiver(args: string[]): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { timeout: 30_000 }, (err, stdout, stderr) => {
      const status = (err as { code?: unknown } | null)?.code;
      const code = !err ? 0 : typeof status === 'number' ? status : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

/** Entry names (sorted) and the parsed manifest of a .mar (zip). */
export async function zipListing(file: string): Promise<{ names: string[]; manifest: any }> {
  const d = await unzipper.Open.file(file);
  const m = d.files.find((f) => f.path === 'MAR-INF/MANIFEST.json');
  assert.ok(m, 'the zip has MAR-INF/MANIFEST.json');
  return { names: d.files.map((f) => f.path).sort(), manifest: JSON.parse((await m.buffer()).toString('utf8')) };
}
