// Shared by the config tests: config files written to a temp dir that is also the cwd while the
// tests run, since loadConfig falls back to ./config.properties.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before } from 'node:test';
import { loadConfig, type ServerConfig } from '../../frontend/config/server-config.js';

/** The temp dir (set by the before hook); a live binding, so importers see it once set. */
export let dir: string;
let originalCwd: string;
let counter = 0;

/** Registers the hooks that create the temp dir, chdir into it, and remove it afterwards. */
export function useTempConfigDir(): void {
  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'mms-config-'));
    // loadConfig falls back to ./config.properties: run from an empty directory so the repo's cwd never leaks in.
    originalCwd = process.cwd();
    process.chdir(dir);
  });

  after(() => {
    process.chdir(originalCwd);
    rmSync(dir, { recursive: true, force: true });
  });
}

/** Writes a fresh config.properties-style file and returns its absolute path. */
export function props(...lines: string[]): string {
  const file = path.join(dir, `config-${++counter}.properties`);
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

/** loadConfig with just a file and an explicit (default empty) environment. */
export function fromFile(lines: string[], env: NodeJS.ProcessEnv = {}): ServerConfig {
  return loadConfig({ configFile: props(...lines), env });
}
