// The memory this server may use: the container's cgroup limit (v1 or v2, as libuv reads it) when
// there is one below the host's memory, else the host's memory. The default model_memory_budget is a
// share of it, leaving room for the controller, the inference fronts and the page cache.
import os from 'node:os';

/** Share of the memory limit the models' workers get by default. */
export const DEFAULT_BUDGET_SHARE = 0.9;

export function memoryLimit(): number {
  const total = os.totalmem();
  // process.constrainedMemory: the cgroup limit, 0 or undefined (or a huge number) when unlimited.
  const constrained = (process as { constrainedMemory?: () => number | undefined }).constrainedMemory?.() ?? 0;
  return constrained > 0 && constrained < total ? constrained : total;
}

export function defaultMemoryBudget(limit = memoryLimit()): number {
  return Math.floor(limit * DEFAULT_BUDGET_SHARE);
}
