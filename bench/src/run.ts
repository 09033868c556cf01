// Why this file exists: one entry point for every scenario, at full size (`npm run bench`) or tiny
// (the smoke test), so the rows the smoke test checks are produced by exactly the code that
// produces the published numbers.
import { cpus } from 'node:os';
import { setTracingDisabled } from '@openai/agents';
import type { Row } from './rows.ts';
import { allocationRows, type AllocationsConfig } from './scenarios/allocations.ts';
import { coldPipelineRows, type ColdPipelineConfig } from './scenarios/cold-pipeline.ts';
import { limitsRows, type LimitsConfig } from './scenarios/limits.ts';
import { memoryRows, type MemoryConfig } from './scenarios/memory.ts';
import { perCallRows, type PerCallConfig } from './scenarios/per-call.ts';
import { perEventRows, type PerEventConfig } from './scenarios/per-event.ts';
import { translatorRows, type TranslatorsConfig } from './scenarios/translators.ts';
import { velaRows, type VelaConfig } from './scenarios/vela.ts';

export interface BenchConfig {
  perCall: PerCallConfig;
  /** Part of the per-call scenario: the pipeline alone, warm and cold. */
  coldPipeline: ColdPipelineConfig;
  perEvent: PerEventConfig;
  translators: TranslatorsConfig;
  vela: VelaConfig;
  memory: MemoryConfig;
  limits: LimitsConfig;
  allocations: AllocationsConfig;
}

/** `npm run bench`: a few minutes on 2 cores. */
export const FULL: BenchConfig = {
  perCall: { warmup: 10_000, iterations: 10_000, rounds: 10 },
  coldPipeline: { warmup: 3_000, calls: 5_000, rounds: 3 },
  perEvent: {
    sizes: {
      '1k': { deltas: 1_000, warmup: 30, iterations: 400, rounds: 8 },
      '100k': { deltas: 100_000, block: 1_000, warmupBlocks: 2, streams: 3 },
    },
  },
  translators: { textDeltas: 1_000, minEventsPerSample: 20_000, warmup: 20, iterations: 30 },
  vela: { warmup: 200, iterations: 1_000, streams: 200, deltasPerStream: 100, throughputRounds: 3 },
  memory: { inFlight: 2_000, rounds: 3, completed: 100_000, checkpoint: 10_000 },
  limits: { calls: 100_000, tenants: 10_000, rounds: 3 },
  allocations: { warmup: 2_000, calls: 10_000, samplingInterval: 1_024 },
};

/** Every scenario at tiny N: for the smoke test, so no scenario can rot. */
export const SMOKE: BenchConfig = {
  perCall: { warmup: 2, iterations: 6, rounds: 2 },
  coldPipeline: { warmup: 2, calls: 10, rounds: 1 },
  perEvent: {
    sizes: {
      '1k': { deltas: 20, warmup: 1, iterations: 4, rounds: 2 },
      '100k': { deltas: 50, block: 10, warmupBlocks: 1, streams: 1 },
    },
  },
  translators: { textDeltas: 20, minEventsPerSample: 50, warmup: 1, iterations: 2 },
  vela: { warmup: 1, iterations: 3, streams: 4, deltasPerStream: 5, throughputRounds: 1 },
  memory: { inFlight: 10, rounds: 1, completed: 60, checkpoint: 20 },
  limits: { calls: 200, tenants: 20, rounds: 1 },
  allocations: { warmup: 2, calls: 20, samplingInterval: 1_024 },
};

export const SCENARIOS = ['per-call', 'per-event', 'translators', 'vela', 'memory', 'limits', 'allocations'] as const;
export type Scenario = (typeof SCENARIOS)[number];

/** The machine the numbers were taken on. */
export interface Machine {
  node: string;
  cpu: string;
  cores: number;
  platform: string;
}

export function machine(): Machine {
  const list = cpus();
  return { node: process.version, cpu: list[0]?.model.trim() ?? 'unknown', cores: list.length, platform: `${process.platform} ${process.arch}` };
}

export interface BenchResult {
  machine: Machine;
  startedAt: string;
  durationS: number;
  config: BenchConfig;
  rows: Row[];
}

/** Runs the scenarios (all by default) in order; `onRows` sees each scenario's rows as they are done. */
export async function runBench(config: BenchConfig, options: { only?: readonly Scenario[]; onRows?: (scenario: Scenario, rows: Row[], seconds: number) => void } = {}): Promise<BenchResult> {
  setTracingDisabled(true); // the Agents SDK would otherwise export traces to OpenAI
  const startedAt = new Date().toISOString();
  const started = performance.now();
  const run: Record<Scenario, () => Promise<Row[]>> = {
    'per-call': async () => [...(await perCallRows(config.perCall)), ...(await coldPipelineRows(config.coldPipeline))],
    'per-event': () => perEventRows(config.perEvent),
    translators: () => translatorRows(config.translators),
    vela: () => velaRows(config.vela),
    memory: () => memoryRows(config.memory),
    limits: () => limitsRows(config.limits),
    allocations: () => allocationRows(config.allocations),
  };
  const rows: Row[] = [];
  for (const scenario of options.only ?? SCENARIOS) {
    const t = performance.now();
    const produced = await run[scenario]();
    rows.push(...produced);
    options.onRows?.(scenario, produced, (performance.now() - t) / 1000);
  }
  return { machine: machine(), startedAt, durationS: (performance.now() - started) / 1000, config, rows };
}
