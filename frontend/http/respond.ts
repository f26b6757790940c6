// JSON bodies as MMS writes them: 2-space indent and a trailing newline.
import type { Context } from 'koa';

export function sendJson(ctx: Context, status: number, body: unknown): void {
  ctx.status = status;
  ctx.type = 'application/json';
  ctx.body = `${JSON.stringify(body, null, 2)}\n`;
}
