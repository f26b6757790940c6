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

export function createLogger(options: LogOptions = {}): Logger {
  const level = options.level ?? process.env.MMS_LOG_LEVEL ?? 'info';
  const pretty = options.pretty ?? (process.env.MMS_LOG_FORMAT ? process.env.MMS_LOG_FORMAT === 'pretty' : false);
  if (pretty) {
    return pino({
      level,
      transport: { target: 'pino-pretty', options: { destination: options.file ?? 1, colorize: !options.file && process.stdout.isTTY, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } },
    });
  }
  return pino({ level, base: { pid: process.pid } }, pino.destination({ dest: options.file ?? 1, sync: false, mkdir: true }));
}
