// Why this file exists: the per-call rows read several µs added where the pipeline's own start and
// report take under 1 µs in a loop. These two rows show where the difference comes from: the same
// pipeline calls, each timed alone, warm (back to back) and cold (after other work has replaced
// the CPU caches' contents, as the ~100 µs of SDK work between two calls does in an application).
import { createPipeline, type ActiveCall } from '@sluice/core';
import { measured, stats } from '../harness.ts';
import type { Row } from '../rows.ts';
import { MODEL } from '../setups.ts';

export interface ColdPipelineConfig {
  /**
   * Sweeps and calls run before the rounds, so the sweep's functions and the pipeline are compiled
   * by the optimizing tier first (otherwise the first rounds time the compiler too).
   */
  warmup: number;
  /** Calls timed per variant and round. */
  calls: number;
  /** Interleaved rounds (after one warm-up round). */
  rounds: number;
}

/** Data swept between cold calls: twice the machine kind's 1 MB L2 per core. */
const SWEEP_BYTES = 2 * 1024 * 1024;
/** Distinct small functions run between cold calls: far more machine code than a 64 KB L1i holds. */
const FUNCTIONS = 3_000;

/** What runs between two cold calls: a write to every cache line of the sweep, then every function. */
function makeSweep(): () => number {
  const data = new Float64Array(SWEEP_BYTES / 8);
  const code: Array<(x: number) => number> = [];
  for (let i = 0; i < FUNCTIONS; i++) code.push(new Function('x', `return (x * ${i + 1} + ${i % 7}) ^ (x >> ${i % 5});`) as (x: number) => number);
  let sink = 0;
  return () => {
    for (let i = 0; i < data.length; i += 8) sink += data[i]!++;
    for (const f of code) sink = f(sink & 1023);
    return sink;
  };
}

export async function coldPipelineRows(config: ColdPipelineConfig): Promise<Row[]> {
  const sluice = createPipeline();
  const sweep = makeSweep();
  const request = {};
  const call = (): number => {
    const started = performance.now();
    const active = sluice.startCallNow({ source: 'openai', api: 'chat_completions', stream: false, model: MODEL, request }) as ActiveCall;
    active.complete({ usage: undefined });
    return performance.now() - started;
  };
  const samples = { warm: [] as number[], cold: [] as number[] };
  let checksum = 0;
  try {
    for (let i = 0; i < config.warmup; i++) checksum += sweep() + call();
    for (let round = 0; round <= config.rounds; round++) {
      const order: Array<'warm' | 'cold'> = round % 2 === 0 ? ['warm', 'cold'] : ['cold', 'warm'];
      // No collection between phases: a full GC here slows the next few thousand calls of both
      // kinds (~3× on the warm ones), more than the phases differ.
      for (const name of order) {
        for (let i = 0; i < config.calls; i++) {
          if (name === 'cold') checksum += sweep();
          const ms = call();
          if (round > 0) samples[name].push(ms * 1_000);
        }
      }
    }
  } finally {
    await sluice.close();
  }
  if (Number.isNaN(checksum)) throw new Error('unreachable: keeps the sweep from being optimized away');
  const warm = stats(samples.warm);
  const cold = stats(samples.cold);
  const common = { group: 'per call' as const, n: 1, unit: 'µs/call' };
  return [
    {
      ...common,
      id: 'call.pipeline.warm',
      scenario: 'pipeline alone (startCallNow + complete, no plugins), warm: calls back to back',
      ...measured(warm),
      note: 'each call timed alone: two performance.now() reads included, in both rows',
    },
    {
      ...common,
      id: 'call.pipeline.cold',
      scenario: `pipeline alone, cold: ${SWEEP_BYTES / 1024 / 1024} MB of data written and ${FUNCTIONS.toLocaleString('en-US')} small functions run between calls (not timed)`,
      ...measured(cold, { id: 'call.pipeline.warm', stats: warm }),
      note: 'the same instructions, fetched and fed from memory instead of the CPU caches: what the per-call rows pay between two SDK requests',
    },
  ];
}
