// Error bodies name no absolute path of the server machine: a message from deep inside (fs, ORT, a
// worker) is rewritten so the model directory becomes relative and work_dir / model_store become
// their key names. What the user typed (the url) is kept as given.
import path from 'node:path';
import type { ServerConfig } from '../../config/server-config.js';
import { registerFailed, ServerError } from '../../errors.js';

/** [absolute path, replacement]; the longest paths are replaced first. */
export type PathLabels = Array<[string, string]>;

export function redactPaths(message: string, labels: PathLabels, keep?: string): string {
  if (keep && message.includes(keep)) return message.split(keep).map((part) => redactPaths(part, labels)).join(keep);
  const sorted = labels.filter(([p]) => p.length > 1).sort((a, b) => b[0].length - a[0].length);
  let out = message;
  for (const [abs, label] of sorted) {
    // The model directory's own files read best without a prefix: `model.onnx`, not `./model.onnx`.
    out = out.split(abs + path.sep).join(label === '.' ? '' : label + path.sep).split(abs).join(label);
  }
  return out;
}

/** A registration's error without the server's absolute paths (model directory, work_dir, model_store). */
export function redactError(err: unknown, url: string, config: Pick<ServerConfig, 'workDir' | 'modelStore'>, modelDir?: string): unknown {
  const labels: PathLabels = [
    [path.resolve(config.workDir), '<work_dir>'],
    ...(config.modelStore ? [[path.resolve(config.modelStore), '<model_store>'] as [string, string]] : []),
  ];
  // Files of the model read relative to it; then an absolute path or URL the user typed is kept as
  // given (a short store name could match anywhere, so only those).
  const keep = path.isAbsolute(url) || url.includes('://') ? url : undefined;
  const clean = (m: string) => redactPaths(modelDir ? redactPaths(m, [[modelDir, '.']]) : m, labels, keep);
  if (err instanceof ServerError) {
    err.message = clean(err.message);
    return err;
  }
  return registerFailed(clean((err as Error)?.message ?? String(err)));
}
