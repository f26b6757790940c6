// The CPU that ORT's session.run takes, process-wide (the calling thread and ORT's intra-op pool), summed
// over the process's life: the worker puts each batch's share in its reply (protocol/batch-stats.ts), so
// the front's metrics can tell inference from the worker's own cost per request (docs/performance.md).
import type { Session } from './onnx-session.js';

let totalUs = 0;
let counting = false;

/** µs of CPU spent inside session.run since the process started; undefined where no session of this thread is counted (custom code, sessions on other threads). */
export const sessionCpuUs = (): number | undefined => (counting ? totalUs : undefined);

/**
 * Counts the CPU of each `session.run` of this session. onnxruntime-node runs the native call in a
 * setImmediate of its own: one queued just before it runs right before it, and the run's own promise
 * settles in the microtasks right after it, so the bracket holds the native run (and the wrapping of its
 * outputs) and not what the event loop did while the run waited for its turn.
 */
export function countSessionCpu(session: Session): Session {
  counting = true;
  const run = session.run.bind(session) as (...args: unknown[]) => ReturnType<Session['run']>;
  let from: NodeJS.CpuUsage | undefined;
  const open = () => {
    from = process.cpuUsage();
  };
  const close = () => {
    if (!from) return;
    const d = process.cpuUsage(from);
    totalUs += d.user + d.system;
    from = undefined;
  };
  (session as { run: unknown }).run = (...args: unknown[]) => {
    setImmediate(open);
    return run(...args).finally(close);
  };
  return session;
}
