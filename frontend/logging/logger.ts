// Structured logs through pino: JSON lines by default, human-readable with pretty mode (a terminal,
// or `--log-config` / MMS_LOG_FORMAT=pretty). One root logger, passed down; children add a component.
import { pino, type Logger } from 'pino';

export type { Logger };

export interface LogOptions {
  level?: string;
  pretty?: boolean;
  /** Log file; stdout when unset. */
  file?: string;
}

/** Log lines are written once this many bytes wait, */
export const LOG_BATCH_BYTES = 4096;
/** or after this long. */
export const LOG_FLUSH_MS = 100;

export function createLogger(options: LogOptions = {}): Logger {
  const level = options.level ?? process.env.MMS_LOG_LEVEL ?? 'info';
  const pretty = options.pretty ?? (process.env.MMS_LOG_FORMAT ? process.env.MMS_LOG_FORMAT === 'pretty' : false);
  if (pretty) {
    return pino({
      level,
      transport: { target: 'pino-pretty', options: { destination: options.file ?? 1, colorize: !options.file && process.stdout.isTTY, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } },
    });
  }
  // Lines are gathered and written 4 KiB (or 100 ms) at a time, not a write each: the access log
  // writes a line per request, and a write per line cost a front a large part of its no-op rate.
  // pino flushes what is gathered when the process exits (not on SIGKILL: up to 100 ms of lines).
  return pino({ level, base: { pid: process.pid } }, pino.destination({ dest: options.file ?? 1, sync: false, mkdir: true, minLength: LOG_BATCH_BYTES, periodicFlush: LOG_FLUSH_MS }));
}
