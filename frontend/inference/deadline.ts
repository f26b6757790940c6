// A request's deadline and its client's departure, as the worker router takes them (SubmitOptions):
// `X-Request-Deadline-Ms: <n>` gives the request n milliseconds from its arrival; past it, it is
// answered 504 and, if still queued, never runs. A client that disconnects before its answer cancels
// it the same way (docs/api.md, "Deadlines and cancellation").
import type { Context } from 'koa';
import { MAX_TIMER_MS } from '../config/keys.js';
import { badRequest } from '../errors.js';
import { DEADLINE_ITEM_HEADER, type OutgoingItem } from '../../protocol/messages.js';
import type { SubmitOptions } from './router-options.js';

export const DEADLINE_HEADER = 'x-request-deadline-ms';

/** The deadline the header asks for (performance.now() time), undefined without one; 400 if malformed. */
export function headerDeadline(value: string | string[] | undefined, arrivedAt: number): number | undefined {
  if (value === undefined) return undefined;
  const text = Array.isArray(value) ? value[value.length - 1] : value;
  const ms = /^\s*\d{1,10}\s*$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(ms) || ms < 1 || ms > MAX_TIMER_MS) {
    throw badRequest(`Header X-Request-Deadline-Ms must be a whole number of milliseconds between 1 and ${MAX_TIMER_MS}, got ${JSON.stringify(text.slice(0, 40))}.`);
  }
  return arrivedAt + ms;
}

/** The request's submit options: its header's deadline, and its cancellation if the client leaves unanswered. */
export function requestOptions(ctx: Context, arrivedAt: number): SubmitOptions {
  const deadline = headerDeadline(ctx.req.headers[DEADLINE_HEADER], arrivedAt);
  const res = ctx.res;
  return {
    deadline,
    whenGone: (cancel) => {
      if (res.destroyed) {
        cancel();
        return () => undefined;
      }
      // 'close' comes after the answer too (then writableFinished is set) or when the connection drops.
      const onClose = () => {
        if (!res.writableFinished) cancel();
      };
      res.once('close', onClose);
      return () => res.off('close', onClose);
    },
  };
}

/**
 * The item with the deadline as `x-mms-deadline` (epoch ms) in place of any such header the client
 * sent: the worker skips it past that time too, even if it never reads the cancel in time.
 */
export function withDeadlineHeader(item: OutgoingItem, deadline: number | undefined): OutgoingItem {
  if (deadline === undefined && !item.headers.some(([h]) => h === DEADLINE_ITEM_HEADER)) return item;
  const headers = item.headers.filter(([h]) => h !== DEADLINE_ITEM_HEADER);
  if (deadline !== undefined) headers.push([DEADLINE_ITEM_HEADER, String(Math.round(Date.now() + deadline - performance.now()))]);
  return { ...item, headers };
}
