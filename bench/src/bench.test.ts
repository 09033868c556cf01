// Every benchmark scenario at tiny N, so none can rot: each row exists and holds finite numbers.
// No timing assertion — timings belong to `npm run bench` on a quiet machine, not to CI.
import { describe, expect, it } from 'vitest';
import { ROW_IDS } from './rows.ts';
import { runBench, SMOKE } from './run.ts';
import { markdownTables, textTable } from './table.ts';

describe('benchmarks (smoke: every scenario at tiny N)', () => {
  it('produces every row of the full run, each with finite numbers, and a JSON result', async () => {
    const result = await runBench(SMOKE);
    expect(result.rows.map((row) => row.id)).toEqual(ROW_IDS);
    for (const row of result.rows) {
      const numbers: Record<string, number | undefined> = { n: row.n, samples: row.samples, median: row.median, p99: row.p99, spread: row.spread, ratio: row.ratio, added: row.added };
      for (const [name, value] of Object.entries(numbers)) {
        if (value === undefined) continue;
        expect(Number.isFinite(value), `${row.id}.${name} = ${value}`).toBe(true);
      }
      expect(row.samples, row.id).toBeGreaterThan(0);
      if (row.baseline !== undefined) expect(Number.isFinite(row.ratio), `${row.id}.ratio`).toBe(true);
      if (row.target) expect(typeof row.pass, `${row.id}.pass`).toBe('boolean');
    }
    const json = JSON.parse(JSON.stringify(result)) as typeof result;
    expect(json.rows).toHaveLength(ROW_IDS.length);
    expect(json.machine.cores).toBeGreaterThan(0);
    expect(textTable(result.rows)).toContain('per call');
    expect(markdownTables(result.rows)).toContain('| scenario |');
  }, 60_000);
});
