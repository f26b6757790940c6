// Restart delays after a worker dies: the first failure is restarted at once (a lone crash or kill
// should cost only the start-up time), then MMS's Fibonacci table, capped, so a crash loop backs off.
const DELAYS_S = [0, 1, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233, 377, 610, 987, 1597];

export function restartDelayMs(attempt: number): number {
  return DELAYS_S[Math.min(attempt, DELAYS_S.length - 1)] * 1000;
}
