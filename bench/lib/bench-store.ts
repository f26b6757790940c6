// The bench's model store: the no-op JS model (the serving path alone) and the cls tensor model.
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CLS_FILE } from './model-inputs.js';
import { DIST } from './processes.js';

/** A temp model store holding `noop` and `cls`; the caller removes it. */
export function makeStore(): string {
  const store = mkdtempSync(path.join(os.tmpdir(), 'mms-bench-'));
  const write = (name: string, manifest: object, files: Record<string, string>) => {
    mkdirSync(path.join(store, name, 'MAR-INF'), { recursive: true });
    writeFileSync(path.join(store, name, 'MAR-INF', 'MANIFEST.json'), JSON.stringify(manifest));
    for (const [to, from] of Object.entries(files)) copyFileSync(from, path.join(store, name, to));
  };
  write('noop', { runtime: 'node', model: { modelName: 'noop', handler: 'noop.mjs' } }, { 'noop.mjs': path.join(DIST, '..', 'bench', 'fixtures', 'noop.mjs') });
  write('cls', { runtime: 'onnx', model: { modelName: 'cls', handler: 'onnx' } }, { 'model.onnx': CLS_FILE });
  return store;
}
