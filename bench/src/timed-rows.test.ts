// Rows measured in rounds: the warm-up runs once, every round is recorded, and a row's `added` and
// its half-width come from the rounds' medians. The assertions hold for any timings the runs take.
import { describe, expect, it } from 'vitest';
import { timedRows, type TimedVariant } from './timed-rows.ts';

function counted(names: string[]): { variants: TimedVariant[]; runs: Map<string, number> } {
  const runs = new Map<string, number>();
  const variants = names.map((name) => ({
    name,
    scenario: name,
    run: async () => {
      runs.set(name, (runs.get(name) ?? 0) + 1);
      // Some work whose amount changes from run to run, so the rounds' medians differ.
      let x = 0;
      for (let i = 0; i < ((runs.get(name)! * 7919) % 5000) * (name === 'bare' ? 1 : 3); i++) x += i;
      return x;
    },
  }));
  return { variants, runs };
}

const spec = { group: 'per call' as const, idPrefix: 't', n: 1, unit: 'µs/call', factor: 1_000 };

describe('timedRows', () => {
  it('over rounds: the warm-up runs once, added is the median of the rounds\' medians and its half-width covers each', async () => {
    const { variants, runs } = counted(['bare', 'a', 'b']);
    const rows = await timedRows({ ...spec, variants, warmup: 2, iterations: 9, rounds: 3 });
    expect([...runs.values()]).toEqual([11, 11, 11]);
    expect(rows[0]!.added).toBeUndefined();
    for (const row of rows.slice(1)) {
      expect(row.samples).toBe(9);
      const medians = row.addedRounds!;
      expect(medians).toHaveLength(3);
      expect(row.added).toBe([...medians].sort((x, y) => x - y)[1]);
      for (const median of medians) expect(Math.abs(median - row.added!)).toBeLessThanOrEqual(row.addedCi!);
    }
  });

  it('rounds split the recorded iterations, rounding up', async () => {
    const { variants, runs } = counted(['bare', 'a']);
    const rows = await timedRows({ ...spec, variants, warmup: 0, iterations: 5, rounds: 2 });
    expect(runs.get('a')).toBe(6);
    expect(rows[1]!.samples).toBe(6);
    expect(rows[1]!.addedRounds).toHaveLength(2);
  });

  it('one round: the notch of the paired differences, no per-round medians', async () => {
    const { variants } = counted(['bare', 'a']);
    const rows = await timedRows({ ...spec, variants, warmup: 1, iterations: 8 });
    expect(rows[1]!.addedRounds).toBeUndefined();
    expect(Number.isFinite(rows[1]!.added)).toBe(true);
    expect(rows[1]!.addedCi).toBeGreaterThanOrEqual(0);
  });
});
