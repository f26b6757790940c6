// A stand-in for nvidia-smi on machines without a GPU: a real executable that prints what a real
// nvidia-smi printed for each query (recorded on the GPU machine, docs/gpu.md), or fails. Every file
// it makes is under one temp dir per test process, removed when the process exits.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** nvidia-smi's answer on an H200 host, one line per GPU; `--query-gpu=index,name,memory.total,memory.used`. */
export const h200Rows = (n: number): string => Array.from({ length: n }, (_, i) => `${i}, NVIDIA H200, 143771 MiB, ${i * 100} MiB`).join('\n');

export interface FakeAnswers {
  /** GPU_QUERY's output; undefined: the tool fails (exit 9, as when no driver is loaded). */
  gpus?: string;
  usage?: string;
  /** A file the per-process query prints (a test writes worker pids into it once they exist). */
  appsFile?: string;
}

let root: string | undefined;

/** This process's temp dir for fakes, made on first use and removed at exit (tests call the fake from anywhere). */
function scratch(): string {
  if (!root) {
    const dir = (root = mkdtempSync(path.join(os.tmpdir(), 'mms-fake-smi-')));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  }
  return root;
}

/** A path for the per-process query's answer (FakeAnswers.appsFile), removed with the fakes. */
export const fakeAppsFile = (): string => path.join(mkdtempSync(path.join(scratch(), 'apps-')), 'apps.csv');

/** Writes the executable; returns its path. */
export function fakeNvidiaSmi(a: FakeAnswers): string {
  const dir = mkdtempSync(path.join(scratch(), 'smi-'));
  const file = path.join(dir, 'nvidia-smi');
  const answer = (text: string | undefined) => (text === undefined ? "echo 'NVIDIA-SMI has failed' >&2; exit 9" : `cat <<'EOF'\n${text}\nEOF\n`);
  writeFileSync(file, `#!/bin/sh
case "$1" in
  --query-gpu=index,name,memory.total,memory.used) ${answer(a.gpus)} ;;
  --query-gpu=index,memory.used,memory.total,utilization.gpu) ${answer(a.usage ?? '')} ;;
  --query-compute-apps=pid,used_memory) ${a.appsFile ? `cat '${a.appsFile}' 2>/dev/null` : ''} ;;
  *) echo "unexpected query $*" >&2; exit 2 ;;
esac
`);
  chmodSync(file, 0o755);
  return file;
}
