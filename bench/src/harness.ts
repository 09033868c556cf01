// Why this file exists: a row is only worth printing next to its bare baseline when both were
// measured in the same run, interleaved, after the same warm-up — machine noise (turbo, GC, a
// neighbour) then hits every variant alike. This is that measuring loop, plus the statistics.
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** One variant of a scenario: `bare` is the baseline the others are compared with. */
export interface Variant {
  name: string;
  /** One operation (a call, a whole stream). */
  run(): Promise<unknown> | unknown;
}

/** How to interleave. */
export interface InterleaveOptions {
  /** Iterations (every variant once each) before recording. */
  warmup: number;
  /** Recorded iterations. */
  iterations: number;
  /** Between iterations, outside the timing (reset exporters, GC). */
  between?: (iteration: number) => void | Promise<void>;
}

/**
 * Run orders in which every variant directly follows every other one equally often (a Williams
 * design: n orders for an even n, 2n for an odd n). A run pays part of what the run before it left
 * behind — garbage to collect, caches to refill — so with a plain rotation a variant that mostly
 * follows a heavy one looks slower than it is: two copies of the same code measured ~1–2 µs apart
 * per call that way.
 */
export function balancedOrders(n: number): number[][] {
  if (n <= 1) return [Array.from({ length: n }, (_, i) => i)];
  // 0, 1, n−1, 2, n−2, …: the differences between neighbours take every value 1..n−1 once (mod n).
  const first = Array.from({ length: n }, (_, i) => (i === 0 ? 0 : i % 2 === 1 ? (i + 1) / 2 : n - i / 2));
  const rows = Array.from({ length: n }, (_, r) => first.map((v) => (v + r) % n));
  return n % 2 === 0 ? rows : [...rows, ...rows.map((row) => [...row].reverse())];
}

/**
 * Runs every variant once per iteration, in orders balanced for what each run leaves to the next
 * ({@link balancedOrders}), timing each run on its own. Returns the durations in milliseconds per variant.
 */
export async function interleave(variants: readonly Variant[], options: InterleaveOptions): Promise<Map<string, number[]>> {
  const samples = new Map<string, number[]>(variants.map((v) => [v.name, []]));
  const total = options.warmup + options.iterations;
  const orders = balancedOrders(variants.length);
  for (let iteration = 0; iteration < total; iteration++) {
    const record = iteration >= options.warmup;
    const order = orders[iteration % orders.length]!;
    for (let k = 0; k < variants.length; k++) {
      const variant = variants[order[k]!]!;
      const started = performance.now();
      await variant.run();
      const elapsed = performance.now() - started;
      if (record) samples.get(variant.name)!.push(elapsed);
    }
    await options.between?.(iteration);
  }
  return samples;
}

/** Sorted copy. */
function sorted(values: readonly number[]): number[] {
  return [...values].sort((a, b) => a - b);
}

/** Linear-interpolated quantile of sorted values. */
function quantileOf(sortedValues: readonly number[], q: number): number {
  if (sortedValues.length === 0) return Number.NaN;
  const position = (sortedValues.length - 1) * q;
  const lower = Math.floor(position);
  const upper = Math.ceil(position);
  const a = sortedValues[lower]!;
  const b = sortedValues[upper]!;
  return a + (b - a) * (position - lower);
}

/** Median, p99 and interquartile range of a sample. */
export interface Stats {
  n: number;
  median: number;
  p99: number;
  q1: number;
  q3: number;
  min: number;
  max: number;
}

export function stats(values: readonly number[]): Stats {
  const s = sorted(values);
  return {
    n: s.length,
    median: quantileOf(s, 0.5),
    p99: quantileOf(s, 0.99),
    q1: quantileOf(s, 0.25),
    q3: quantileOf(s, 0.75),
    min: s[0] ?? Number.NaN,
    max: s[s.length - 1] ?? Number.NaN,
  };
}

/** IQR as a fraction of the median: the row's spread. */
export function relativeIqr(s: Stats): number {
  return s.median === 0 ? 0 : (s.q3 - s.q1) / s.median;
}

/** A row's measured fields from its samples' statistics and, given its baseline's, how it compares (ratio and added). */
export function measured(
  s: Stats,
  baseline?: { id: string; stats: Stats },
): { samples: number; median: number; p99: number; spread: number; baseline?: string; baselineMedian?: number; ratio?: number; added?: number } {
  const fields = { samples: s.n, median: s.median, p99: s.p99, spread: relativeIqr(s) };
  if (baseline === undefined) return fields;
  const b = baseline.stats.median;
  return { ...fields, baseline: baseline.id, baselineMedian: b, ratio: s.median / b, added: s.median - b };
}

/** Scales every value (ms per op → µs per call, ns per event). */
export function scale(values: readonly number[], factor: number): number[] {
  return values.map((v) => v * factor);
}

let gcFunction: (() => void) | undefined;

/** A full garbage collection: `global.gc` under `--expose-gc`, else enabled at runtime (vitest). */
export function forceGc(): void {
  if (!gcFunction) {
    const exposed = (globalThis as { gc?: () => void }).gc;
    if (typeof exposed === 'function') gcFunction = exposed;
    else {
      setFlagsFromString('--expose-gc');
      gcFunction = runInNewContext('gc') as () => void;
    }
  }
  gcFunction();
}

/**
 * The heap spaces that hold JavaScript objects. The others hold what the JIT makes — machine code
 * (`code_space`) and bytecode with its metadata (`trusted_space`), each with a large-object twin —
 * which grows and shrinks as V8 compiles functions and flushes the bytecode of functions it has
 * not run for a few collections: ~0.3 KB per call either way while 2,000 streams are opened, for
 * every variant, bare too. That is not memory a call holds.
 */
const DATA_SPACES = new Set(['new_space', 'old_space', 'large_object_space', 'new_large_object_space']);

/** Bytes used by JavaScript objects (see {@link DATA_SPACES}). */
function dataHeapUsed(): number {
  let used = 0;
  for (const space of getHeapSpaceStatistics()) if (DATA_SPACES.has(space.space_name)) used += space.space_used_size;
  return used;
}

/**
 * Heap of JavaScript objects after full collections with event-loop turns between them:
 * FinalizationRegistry callbacks (the `openai` SDK and Node's `AbortSignal.any` register one per
 * request) run in tasks after a GC, and what they release is only collected by the next GC. Code
 * and bytecode are not counted (see {@link DATA_SPACES}).
 */
export async function settledHeap(): Promise<number> {
  for (let i = 0; i < 3; i++) {
    forceGc();
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  forceGc();
  return dataHeapUsed();
}
