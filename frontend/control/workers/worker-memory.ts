// Resident memory of worker processes, read from /proc (0 where it cannot be read).
import { readFile } from 'node:fs/promises';

const PAGE = 4096;

export async function readWorkerMemory(pids: Array<number | undefined>): Promise<number[]> {
  return Promise.all(
    pids.map(async (pid) => {
      if (!pid) return 0;
      try {
        const statm = await readFile(`/proc/${pid}/statm`, 'utf8');
        return Number(statm.split(' ')[1]) * PAGE;
      } catch {
        return 0;
      }
    }),
  );
}
