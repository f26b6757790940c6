// The bench's --cpu-affinity goal: each pinned series against its unpinned twin, round by round; the
// pinned series stays out of the batching and gRPC comparisons of the unpinned configuration.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { goals } from '../../bench/lib/goals.js';
import { machine } from '../../bench/lib/machine.js';
import type { Results, Sample, Series } from '../../bench/lib/report.js';

const sample = (rps: number): Sample => ({ rps, p50: 1, p99: 2, errors: 0, non2xx: 0, requests: rps });
const series = (name: string, rps: number[], extra: Partial<Series>): Series =>
  ({ name, model: 'cls', points: [{ concurrency: 64, ...sample(rps[0]), samples: rps.map(sample) }], workers: 2, fronts: 0, ...extra });
const run = (list: Series[]): Omit<Results, 'goals' | 'ratios'> => ({ machine: machine(), durationS: 1, rounds: 2, inProcessLoop: { itemsPerSecond: 0 }, series: list });

describe('bench goals: cpu_affinity', { timeout: 10_000 }, () => {
  it('takes pinned / unpinned per round and is met only when pinning wins at every point', () => {
    const plain = series('ours cls, 2 workers, batching off', [1000, 1000], { batch: 1 });
    const pinned = series('ours cls pinned, 2 workers, batching off', [1100, 900], { batch: 1, pinned: true });
    const pinnedOn = series('ours cls pinned, 2 workers, batching on (8)', [1500, 1500], { batch: 8, pinned: true });
    const g = goals(run([plain, pinned, pinnedOn]), { device: false, fronts: 0, deviceWorkers: 1 });
    const pin = g.goals.find((x) => x.goal.startsWith('cpu_affinity=true'));
    assert.ok(pin);
    // Per round 1.1 and 0.9: the median 1.00×; the batching-on pinned series has no unpinned twin.
    assert.equal(pin.measured, '1.00× (cls pinned, 2 workers, batching off, c=64)');
    assert.equal(pin.met, true);
    const batching = g.goals.find((x) => x.goal.startsWith('batching on'));
    // Against the pinned batching-off series (1500/1100, 1500/900), not the unpinned one (1.50×).
    assert.match(batching!.measured, /ours cls pinned, 2 workers, batching on \(8\) \/ batching off at c=64: 1\.52×/);
  });

  it('is not met when a pinned point is slower, and absent without pinned series', () => {
    const plain = series('ours cls, 2 workers, batching off', [1000, 1000], { batch: 1 });
    const pinned = series('ours cls pinned, 2 workers, batching off', [900, 950], { batch: 1, pinned: true });
    const pin = goals(run([plain, pinned]), { device: false, fronts: 0, deviceWorkers: 1 }).goals.find((x) => x.goal.startsWith('cpu_affinity=true'));
    assert.equal(pin?.met, false);
    assert.equal(goals(run([plain]), { device: false, fronts: 0, deviceWorkers: 1 }).goals.find((x) => x.goal.startsWith('cpu_affinity=true')), undefined);
  });
});
