// Figures for the chaos summary: percentiles, rounding, and the server log's lines per level.
import { readFileSync } from 'node:fs';

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

export const round = (n: number, d = 1) => (Number.isFinite(n) ? Math.round(n * 10 ** d) / 10 ** d : null);

/** Lines per level in the server's log (pino levels: 40 warn, 50 error, 60 fatal). */
export function logLevels(file: string): Record<string, number> {
  const names: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };
  const counts: Record<string, number> = {};
  try {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      if (!line) continue;
      const level = names[(JSON.parse(line) as { level: number }).level] ?? 'other';
      counts[level] = (counts[level] ?? 0) + 1;
    }
  } catch {
    // no log
  }
  return counts;
}
