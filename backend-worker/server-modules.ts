// Lets a custom handler import the server's own dependencies by their bare names (docs/archives.md
// "Custom JS handlers"): an archive is extracted under work_dir, where no node_modules exists. ES
// `import` goes through a resolve hook; CommonJS `require` ignores such hooks on Node 20, so the
// frontend puts the same folders on the worker's NODE_PATH (frontend/control/workers/worker-node-path.ts).
import { register } from 'node:module';

let registered = false;

export function resolveBareImportsFromServer(): void {
  if (registered) return;
  registered = true;
  register('./server-modules-hook.js', import.meta.url, { data: { parentURL: import.meta.url } });
}
