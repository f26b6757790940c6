// How a worker tells a front what the batch that carried its request looked like: in the reply
// frame's message, so metrics need no extra frame. Only the first frame of a batch counts the batch
// (`first`), so batch sizes summed over all fronts count each batch once.
export interface BatchStats {
  /** Requests in the batch. */
  size: number;
  first: boolean;
  /** Time the request waited in the worker's queue, and the batch's run time (ms). */
  waitMs: number;
  runMs: number;
  /** CPU µs inside ORT's session.run during the batch, all threads (backend-worker/session-cpu.ts); absent from older workers. */
  sessionCpuUs?: number;
}

const PREFIX = 'Prediction success; ';

export function batchMessage(s: BatchStats): string {
  return `${PREFIX}batch=${s.size} first=${s.first ? 1 : 0} wait=${s.waitMs.toFixed(3)} run=${s.runMs.toFixed(3)}${s.sessionCpuUs === undefined ? '' : ` cpu=${Math.round(s.sessionCpuUs)}`}`;
}

export function parseBatchMessage(message: string): BatchStats | undefined {
  if (!message.startsWith(PREFIX)) return undefined;
  const m = /^batch=(\d+) first=([01]) wait=([\d.]+) run=([\d.]+)(?: cpu=(\d+))?$/.exec(message.slice(PREFIX.length));
  if (!m) return undefined;
  return { size: Number(m[1]), first: m[2] === '1', waitMs: Number(m[3]), runMs: Number(m[4]), ...(m[5] === undefined ? {} : { sessionCpuUs: Number(m[5]) }) };
}
