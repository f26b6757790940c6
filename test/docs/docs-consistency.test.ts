// The docs against the code: no merge-conflict markers anywhere in the sources or docs, every config
// key in docs/configuration.md's tables with its default, and the error table of docs/api.md equal to
// the error catalogue (every code, with its status and type).
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { KEYS, type KeySpec } from '../../frontend/config/keys.js';
import { CATALOGUE } from '../../frontend/errors.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SKIP = new Set(['node_modules', 'dist', '.git', '.device-carry', '.device-cuda']);
const TEXT = /\.(ts|mts|js|mjs|json|md|sh|yaml|yml|properties|proto|txt)$|^(Dockerfile|\.gitignore|\.npmrc|\.dockerignore|run)$/;

function* textFiles(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    if (SKIP.has(name)) continue;
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) yield* textFiles(p);
    else if (TEXT.test(name)) yield p;
  }
}

const doc = (name: string) => readFileSync(path.join(ROOT, 'docs', name), 'utf8');

/** Table rows (`| a | b | ... |`) as their cells. */
function rows(markdown: string): string[][] {
  return markdown
    .split('\n')
    .filter((l) => l.startsWith('|') && !/^\|[-| ]+\|$/.test(l))
    .map((l) => l.slice(1, -1).split(/(?<!\\)\|/).map((c) => c.trim()));
}

describe('docs match the code', () => {
  it('no merge-conflict markers in any source, test or doc', () => {
    const found: string[] = [];
    for (const file of textFiles(ROOT)) {
      readFileSync(file, 'utf8').split('\n').forEach((line, i) => {
        if (/^(<{7}|>{7})( |$)|^={7}$/.test(line)) found.push(`${path.relative(ROOT, file)}:${i + 1}: ${line}`);
      });
    }
    assert.deepEqual(found, []);
  });

  it('every config key is in configuration.md with its default, and every key there exists', () => {
    const keyRows = rows(doc('configuration.md')).filter((r) => r.length >= 3 && r[0].startsWith('`'));
    const documented = new Map<string, string>();
    for (const [keys, dflt] of keyRows) for (const [, k] of keys.matchAll(/`([a-z0-9_]+)`/g)) documented.set(k, dflt);
    const problems: string[] = [];
    for (const [key, spec] of Object.entries(KEYS) as Array<[string, KeySpec]>) {
      const dflt = documented.get(key);
      if (dflt === undefined) problems.push(`${key}: not documented`);
      else if (spec.default !== undefined && !dflt.includes(spec.default)) problems.push(`${key}: default ${spec.default}, documented "${dflt}"`);
    }
    const known = new Set(Object.keys(KEYS));
    // Rows of other tables (CLI flags, registration parameters) are not keys; this table's rows all are.
    const keysTable = doc('configuration.md').split('## Keys')[1].split('\n## ')[0];
    for (const [keys] of rows(keysTable).filter((r) => r[0].startsWith('`'))) {
      for (const [, k] of keys.matchAll(/`([a-z0-9_]+)`/g)) if (!known.has(k)) problems.push(`${k}: documented, not a key`);
    }
    assert.deepEqual(problems, []);
  });

  it('the error table of api.md is the catalogue: every code, its status and type', () => {
    const table = rows(doc('api.md')).filter((r) => /^`[A-Z_]+`$/.test(r[0]) && r.length === 4);
    const documented = new Map(table.map(([code, status, type]) => [code.slice(1, -1), { status, type }]));
    const problems: string[] = [];
    for (const [code, entry] of Object.entries(CATALOGUE)) {
      const d = documented.get(code);
      if (!d) problems.push(`${code}: not in the error table`);
      else if (!d.status.startsWith(String(entry.status)) && code !== 'HANDLER_ERROR') problems.push(`${code}: status ${entry.status}, documented ${d.status}`);
      else if (!d.type.includes(`\`${entry.type}\``) && code !== 'HANDLER_ERROR') problems.push(`${code}: type ${entry.type}, documented ${d.type}`);
    }
    for (const code of documented.keys()) if (!Object.hasOwn(CATALOGUE, code)) problems.push(`${code}: documented, not in the catalogue`);
    assert.deepEqual(problems, []);
  });
});
