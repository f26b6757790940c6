// Module resolution hook (runs on node's loader thread, registered by server-modules.ts): a bare
// specifier that cannot be resolved from the importing file is resolved once more from the worker's
// own location, so a handler in an archive extracted under work_dir finds the server's dependencies.
import type { InitializeHook, ResolveHook } from 'node:module';

let serverURL = '';

export const initialize: InitializeHook<{ parentURL: string }> = (data) => {
  serverURL = data.parentURL;
};

/** `onnxruntime-node`, `@scope/pkg/sub`: not relative, absolute, a `#` import or a URL (`node:`, `file:`). */
const isBare = (specifier: string) => !/^[./#]/.test(specifier) && !/^[A-Za-z][A-Za-z\d+.-]*:/.test(specifier);

export const resolve: ResolveHook = async (specifier, context, next) => {
  try {
    return await next(specifier, context);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND' || !isBare(specifier) || context.parentURL === serverURL) throw err;
    try {
      return await next(specifier, { ...context, parentURL: serverURL });
    } catch {
      throw err; // the handler's own error names its file, which is what its author needs
    }
  }
};
