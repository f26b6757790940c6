// Paths of the test fixtures in the source tree (tests run from dist/, fixtures are not compiled).
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const FIXTURES = fileURLToPath(new URL('../../../test/fixtures/', import.meta.url));

/** A model directory served by the JS handler fixture `handlers/<file>` (runtime node). */
export function writeHandlerModelDir(dir: string, name: string, file = 'echo.mjs'): string {
  mkdirSync(path.join(dir, 'MAR-INF'), { recursive: true });
  copyFileSync(path.join(FIXTURES, 'handlers', file), path.join(dir, file));
  const manifest = { runtime: 'node', model: { modelName: name, handler: file, modelVersion: '1.0' } };
  writeFileSync(path.join(dir, 'MAR-INF', 'MANIFEST.json'), JSON.stringify(manifest));
  return dir;
}
