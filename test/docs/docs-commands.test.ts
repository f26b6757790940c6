// The command blocks of README.md and docs/*.md refer only to what a checkout has after `npm ci`, or to
// what the block itself makes: repository paths exist, every `model-archiver --model-path` directory
// exists or is made first, the gRPC client loads a .proto that is there, podman builds keep the
// image's HEALTHCHECK, and tensor requests written inline fill their shapes. (Each block was also run
// by hand on a fresh clone; this keeps the parts that drift from drifting.)
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const DOCS = ['README.md', ...readdirSync(path.join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];

interface Block {
  where: string;
  lang: string;
  text: string;
}

function blocks(): Block[] {
  const out: Block[] = [];
  for (const file of DOCS) {
    const text = readFileSync(path.join(ROOT, file), 'utf8');
    for (const m of text.matchAll(/^```(sh|bash|console|js)\n([\s\S]*?)^```/gm)) {
      out.push({ where: `${file}:${text.slice(0, m.index).split('\n').length}`, lang: m[1], text: m[2] });
    }
  }
  return out;
}

const commands = () => blocks().filter((b) => b.lang !== 'js');
/** Directories a block makes (`mkdir -p a b/c`), without `./` and trailing slashes. */
const made = (b: Block) => [...b.text.matchAll(/mkdir -p ([^&;|\n]+)/g)].flatMap((m) => m[1].trim().split(/\s+/)).map(clean);
const clean = (p: string) => p.replace(/^\.\//, '').replace(/\/+$/, '');

describe('docs command blocks', { timeout: 30_000 }, () => {
  it('name repository paths that exist (sources, fixtures, build output, installed packages)', () => {
    const missing: string[] = [];
    for (const b of blocks()) {
      for (const m of b.text.matchAll(/(?<=^|[\s'"=@(])(?:\.\/)?((?:test|node_modules|dist|docker|protocol|scripts)\/[^\s'"),;]+)/g)) {
        if (!existsSync(path.join(ROOT, m[1]))) missing.push(`${b.where}: ${m[1]}`);
      }
    }
    assert.deepEqual(missing, []);
  });

  it('pack model directories that exist or that the block makes', () => {
    const missing: string[] = [];
    for (const b of commands()) {
      for (const m of b.text.matchAll(/model-archiver [^\n]*--model-path (\S+)/g)) {
        const dir = clean(m[1]);
        if (!made(b).includes(dir) && !existsSync(path.join(ROOT, dir))) missing.push(`${b.where}: ${m[1]}`);
      }
    }
    assert.deepEqual(missing, []);
  });

  it("load the gRPC service's .proto from where the checkout has it", () => {
    const loads = blocks().flatMap((b) => [...b.text.matchAll(/loadSync\('([^']+)'/g)].map((m) => ({ where: b.where, file: m[1] })));
    assert.ok(loads.length > 0, 'api.md has a gRPC client example');
    for (const { where, file } of loads) assert.ok(existsSync(path.join(ROOT, file)), `${where}: ${file} is not in the checkout`);
  });

  it('build images with podman in the docker format (OCI images drop the HEALTHCHECK)', () => {
    const oci = commands().flatMap((b) => b.text.split('\n').filter((l) => /\bpodman build\b/.test(l) && !/--format docker/.test(l)).map((l) => `${b.where}: ${l}`));
    assert.deepEqual(oci, []);
  });

  it('send inline tensor requests whose data fill their shapes', () => {
    const wrong: string[] = [];
    for (const b of commands()) {
      for (const m of b.text.matchAll(/'(\{"inputs"[^']*\})'/g)) {
        for (const input of (JSON.parse(m[1]) as { inputs: Array<{ name: string; shape: number[]; data: unknown[] }> }).inputs) {
          const size = input.shape.reduce((a, n) => a * n, 1);
          if (input.data.flat(Infinity).length !== size) wrong.push(`${b.where}: ${input.name} has ${input.data.flat(Infinity).length} values for shape [${input.shape}]`);
        }
      }
    }
    assert.deepEqual(wrong, []);
  });
});
