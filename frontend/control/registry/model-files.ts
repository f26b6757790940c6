// Files a registration reads from the model directory besides the manifest: the custom handler (it
// must be there) and the warm-up request (read once, sent to each new worker). Both stay inside the
// directory, links followed.
import { readFile, realpath } from 'node:fs/promises';
import path from 'node:path';
import type { OutgoingItem } from '../../../protocol/messages.js';
import { invalidModel } from '../../errors.js';

/** The manifest's example request as the item each new worker runs before it takes traffic. */
export async function readWarmup(modelDir: string, warmup: { file: string; contentType?: string }): Promise<OutgoingItem> {
  const full = await fileInside(modelDir, warmup.file);
  if (!full) throw invalidModel(`Warm-up file not found in the model directory: ${warmup.file}`);
  const contentType = warmup.contentType ?? '';
  return {
    requestId: 'warmup',
    headers: contentType ? [['content-type', contentType]] : [],
    parameters: [{ name: 'body', contentType, value: await readFile(full) }],
  };
}

/** A custom handler (`file[:function]`) must be a file inside the model directory. */
export async function checkHandlerFile(modelDir: string, handler: string): Promise<void> {
  const file = handler.split(':')[0];
  const root = await realpath(modelDir);
  const full = await realpath(path.resolve(modelDir, file)).catch(() => undefined);
  if (!full) throw invalidModel(`Handler file not found in the model archive: ${file}`);
  if (!full.startsWith(root + path.sep)) throw invalidModel(`Handler path is outside the model directory: ${handler}`);
}

/** The real path of `file` when it exists inside `dir`, else undefined. */
async function fileInside(dir: string, file: string): Promise<string | undefined> {
  const root = await realpath(dir);
  const full = await realpath(path.resolve(dir, file)).catch(() => undefined);
  return full && full.startsWith(root + path.sep) ? full : undefined;
}
