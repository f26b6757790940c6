// Chooses the handler named by the manifest: a built-in one by name, or (runtime `node`) the
// archive's own JS module, CommonJS or ES module, exporting initialize/handle or a class/object with them.
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Handler } from './handler-api.js';
import { BUILT_IN } from './handlers/built-in.js';
import { resolveBareImportsFromServer } from './server-modules.js';
import { BUILT_IN_HANDLERS, type BuiltInHandler, type Runtime } from '../protocol/manifest.js';

export async function loadHandler(runtime: Runtime, handler: string, modelDir: string): Promise<Handler> {
  if (runtime === 'onnx') {
    const name = handler || 'onnx';
    const make = Object.hasOwn(BUILT_IN, name) ? BUILT_IN[name as BuiltInHandler] : undefined;
    if (!make) throw new Error(`Unknown built-in handler "${handler}" (known: ${BUILT_IN_HANDLERS.join(', ')}).`);
    return await make();
  }
  const [file, fn = 'handle'] = handler.split(':');
  const full = path.resolve(modelDir, file);
  if (!full.startsWith(modelDir + path.sep)) throw new Error(`Handler path is outside the model directory: ${handler}`);
  resolveBareImportsFromServer();
  const mod = (await import(pathToFileURL(full).href)) as Record<string, unknown>;
  return fromModule(mod, fn, handler);
}

function fromModule(mod: Record<string, unknown>, fn: string, name: string): Handler {
  const candidates = [mod, mod.default as Record<string, unknown> | undefined];
  for (const c of candidates) {
    if (!c) continue;
    if (typeof c[fn] === 'function') {
      return {
        initialize: typeof c.initialize === 'function' ? (ctx) => (c.initialize as Handler['initialize'])!(ctx) : undefined,
        handle: (batch, ctx) => (c[fn] as Handler['handle'])(batch, ctx),
        gather: typeof c.gather === 'function' ? (input, ctx) => (c.gather as NonNullable<Handler['gather']>)(input, ctx) : undefined,
      };
    }
  }
  const Ctor = mod.default ?? mod;
  if (typeof Ctor === 'function') {
    const instance = new (Ctor as new () => Handler)();
    if (typeof instance.handle === 'function') return instance;
  }
  throw new Error(`Handler module ${name} exports no "${fn}" function and no class with handle().`);
}
