// Rows measured in rounds: the warm-up runs once, every round is recorded, and a row's `added` and
// its half-width come from the rounds' medians; long streams are read side by side, a block each in
// turn. The assertions hold for any timings the runs take.
import { describe, expect, it } from 'vitest';
import { blockRows, timedRows, type BlockVariant, type TimedVariant } from './timed-rows.ts';

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

/** A long stream of `deltas` text deltas (the first read at open), logging every block it is asked for. */
function counter(name: string, deltas: number, log: string[], carried = deltas): BlockVariant {
  return {
    name,
    scenario: `${name} stream`,
    async open() {
      let left = carried - 1;
      return {
        async read(count: number) {
          const seen = Math.min(count, left);
          left -= seen;
          log.push(`${name}:${seen}`);
          // Some work per delta, so the timings are not all zero.
          let x = 0;
          for (let i = 0; i < seen * (name === 'bare' ? 50 : 150); i++) x += i;
          return x >= 0 ? seen : 0;
        },
        async drain() {
          left = 0;
        },
      };
    },
  };
}

describe('blockRows', () => {
  const blockSpec = { group: 'per event' as const, idPrefix: 'e', n: 101, block: 10, warmupBlocks: 2 };

  it('reads every stream to its end in turns of one block, records each block after the warm-up, one round per stream', async () => {
    const log: string[] = [];
    const rows = await blockRows({ ...blockSpec, streams: 3, variants: ['bare', 'a', 'b'].map((name) => counter(name, 101, log)) });
    // 100 deltas after the first: 10 full blocks and the empty read that finds the end, per stream.
    expect(log).toHaveLength(3 * 3 * 11);
    // Turns: every stream reads its block before any reads the next one.
    for (let turn = 0; turn < log.length / 3; turn++) {
      const names = log.slice(turn * 3, turn * 3 + 3).map((entry) => entry.split(':')[0]);
      expect(new Set(names)).toEqual(new Set(['bare', 'a', 'b']));
    }
    expect(rows.map((row) => row.id)).toEqual(['e.bare', 'e.a', 'e.b']);
    for (const row of rows) {
      expect(row.unit).toBe('ns/event');
      expect(row.n).toBe(101);
      expect(row.samples).toBe(3 * (10 - 2));
    }
    expect(rows[0]!.added).toBeUndefined();
    for (const row of rows.slice(1)) {
      const medians = row.addedRounds!;
      expect(medians).toHaveLength(3);
      expect(row.added).toBe([...medians].sort((x, y) => x - y)[1]);
      for (const median of medians) expect(Math.abs(median - row.added!)).toBeLessThanOrEqual(row.addedCi!);
    }
  });

  it('refuses streams that disagree on a block, or that carried another number of deltas', async () => {
    await expect(blockRows({ ...blockSpec, streams: 1, variants: [counter('bare', 101, []), counter('a', 101, [], 95)] })).rejects.toThrow(/a stream: 4 text deltas in block 9, the other streams 10|bare stream: 10 text deltas in block 9, the other streams 4/);
    await expect(blockRows({ ...blockSpec, streams: 1, variants: [counter('bare', 101, [], 91), counter('a', 101, [], 91)] })).rejects.toThrow('e: the streams carried 91 text deltas, expected 101');
  });
});
