// One client request fanned out into many submits (a pipeline's items in every stage, an embeddings
// request's texts): the client's departure, watched once, or the caller's own stop cancels every submit
// not yet answered, so no worker runs what nobody waits for.
import type { SubmitOptions } from './router-options.js';

export interface SharedCancel {
  /** The options each submit takes: the request's deadline, and a cancel joined to all the others. */
  options: SubmitOptions;
  /** Cancels every submit not yet answered, and any later one at once. */
  cancelAll: () => void;
  /** Whether cancelAll ran (the client left, or the caller stopped). */
  readonly stopped: boolean;
  /** Stops watching the client (the request is answered). */
  forget: () => void;
}

export function sharedCancel(o: SubmitOptions, extra: Pick<SubmitOptions, 'admitted'> = {}): SharedCancel {
  const cancels = new Set<() => void>();
  let stopped = false;
  const cancelAll = () => {
    stopped = true;
    for (const cancel of [...cancels]) cancel();
  };
  const forget = o.whenGone?.(cancelAll);
  const whenGone = (cancel: () => void) => {
    if (stopped) {
      cancel();
      return () => undefined;
    }
    cancels.add(cancel);
    return () => void cancels.delete(cancel);
  };
  return {
    options: { deadline: o.deadline, ...extra, whenGone },
    cancelAll,
    get stopped() {
      return stopped;
    },
    forget: () => forget?.(),
  };
}
