// Restart delays after a worker dies: MMS's Fibonacci table, capped (semantics.md §9.2).
const DELAYS_S = [1, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233, 377, 610, 987, 1597];

export function restartDelayMs(attempt: number): number {
  return DELAYS_S[Math.min(attempt, DELAYS_S.length - 1)] * 1000;
}
