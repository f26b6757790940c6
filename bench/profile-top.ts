// `node dist/bench/profile-top.js DIR [N]`: the top N functions by self time of each V8 CPU profile
// (*.cpuprofile, written by `--cpu-prof --cpu-prof-dir=DIR`, e.g. through MMS_FRONT_NODE_ARGS and
// MMS_WORKER_NODE_ARGS) as markdown tables, the way docs/performance-profile.md shows them.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
}

/** `file:function` of a frame: the file relative to dist/ or node_modules/, natives by name alone. */
function label(frame: ProfileNode['callFrame']): string {
  const name = frame.functionName || '(anonymous)';
  if (!frame.url) return name;
  const file = frame.url.replace(/^file:\/\//, '').replace(/\.js$/, '');
  const short = /node_modules\/(.+)$/.exec(file)?.[1] ?? /dist\/(.+)$/.exec(file)?.[1] ?? file;
  return `${short}:${name}`;
}

export function topFunctions(profile: Profile, n: number): { total: number; idle: number; rows: Array<[string, number]> } {
  const byId = new Map(profile.nodes.map((x) => [x.id, label(x.callFrame)]));
  const counts = new Map<string, number>();
  for (const id of profile.samples) {
    const l = byId.get(id) ?? '?';
    counts.set(l, (counts.get(l) ?? 0) + 1);
  }
  const idle = counts.get('(idle)') ?? 0;
  counts.delete('(idle)');
  return { total: profile.samples.length, idle, rows: [...counts].sort((a, b) => b[1] - a[1]).slice(0, n) };
}

const [dir, count = '12'] = process.argv.slice(2);
if (!dir) {
  process.stderr.write('usage: node dist/bench/profile-top.js DIR [N]\n');
  process.exit(2);
}
for (const file of readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).sort()) {
  const { total, idle, rows } = topFunctions(JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as Profile, Number(count));
  const busy = total - idle;
  if (busy === 0) continue;
  process.stdout.write(`\n${file}: ${total} samples, ${((idle / total) * 100).toFixed(1)}% idle\n\n| self, % of samples | % of busy samples | function |\n|---:|---:|---|\n`);
  for (const [name, k] of rows) process.stdout.write(`| ${((k / total) * 100).toFixed(1)} | ${((k / busy) * 100).toFixed(1)} | \`${name}\` |\n`);
}
