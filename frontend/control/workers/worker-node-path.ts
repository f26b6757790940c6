// A worker's NODE_PATH: the caller's own entries, then every node_modules folder above the worker's
// code, which is where node would look for the server's dependencies. `require()` in a custom handler
// extracted under work_dir (no node_modules there) falls back to them; ES imports use the worker's
// resolve hook instead (backend-worker/server-modules.ts).
import { existsSync } from 'node:fs';
import path from 'node:path';

export function withServerNodePath(env: NodeJS.ProcessEnv, workerDir: string): NodeJS.ProcessEnv {
  const dirs: string[] = [];
  for (let dir = workerDir; ; dir = path.dirname(dir)) {
    // node's own lookup skips node_modules/node_modules as well.
    if (path.basename(dir) !== 'node_modules' && existsSync(path.join(dir, 'node_modules'))) dirs.push(path.join(dir, 'node_modules'));
    if (path.dirname(dir) === dir) break;
  }
  const own = env.NODE_PATH ? env.NODE_PATH.split(path.delimiter).filter(Boolean) : [];
  return { ...env, NODE_PATH: [...own, ...dirs.filter((d) => !own.includes(d))].join(path.delimiter) };
}
