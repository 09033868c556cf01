// Why this file exists: one shape for every result (the table and bench-results.json are built
// from it), the targets in one list, and the list of row ids the smoke test holds the run to.

/** A target: `metric` of the row compared with `value`. */
export interface Target {
  /** `added`: the row's cost over its bare baseline; `median`: the row's own median. */
  metric: 'added' | 'median';
  op: '<=' | '>=';
  value: number;
  /** As printed, e.g. `≤ 5 µs`. */
  text: string;
}

/** One result row. Times are in `unit`; `added` is in `addedUnit` (default `unit`). */
export interface Row {
  id: string;
  group: 'per call' | 'per event' | 'translators' | 'vela' | 'memory' | 'limits' | 'allocations';
  scenario: string;
  /** Operations behind one sample: calls, events per stream, in-flight calls. */
  n: number;
  /** Samples the statistics are over. */
  samples: number;
  unit: string;
  median: number;
  p99: number;
  /** Interquartile range over the median. */
  spread: number;
  /** The id of the row (or the label of the measurement) this one is compared with. */
  baseline?: string;
  baselineMedian?: number;
  /** median / baseline median (for rates: baseline time / row time, i.e. still "× the cost"). */
  ratio?: number;
  added?: number;
  /**
   * ~95% confidence half-width of `added`, where it was measured in paired iterations; over several
   * rounds, at least as wide as the farthest round's median from `added`.
   */
  addedCi?: number;
  /** Measured in rounds: each round's median of the paired differences (`added` is their median). */
  addedRounds?: number[];
  addedUnit?: string;
  target?: Target;
  pass?: boolean;
  /** False when the target lies inside `added ± addedCi`: the run cannot tell PASS from MISS. */
  conclusive?: boolean;
  note?: string;
}

export function judge(row: Row): Row {
  const target = row.target;
  if (!target) return row;
  const value = target.metric === 'added' ? row.added : row.median;
  if (value === undefined || !Number.isFinite(value)) return { ...row, pass: false };
  const pass = target.op === '<=' ? value <= target.value : value >= target.value;
  const ci = target.metric === 'added' ? row.addedCi : undefined;
  const judged: Row = { ...row, pass };
  if (ci !== undefined) judged.conclusive = Math.abs(value - target.value) > ci;
  return judged;
}

export const PER_EVENT_SIZES = ['1k', '100k'] as const;
export type PerEventSize = (typeof PER_EVENT_SIZES)[number];

const SDKS = ['openai', 'agents', 'ai-sdk'] as const;
export type Sdk = (typeof SDKS)[number];

export const TRANSLATOR_ROWS = [
  'openai-chat.fixtures',
  'openai-chat.text',
  'openai-responses.fixtures',
  'openai-responses.text',
  'anthropic.fixtures',
  'anthropic.text',
  'gemini.fixtures',
  'gemini.text',
  'gemini.streamed-argument',
  'ai-sdk.text',
  'agents-model.text',
] as const;

/** Every row a full run produces, in table order. */
export const ROW_IDS: readonly string[] = [
  ...SDKS.flatMap((sdk) => [
    `call.${sdk}.bare`,
    ...(sdk === 'ai-sdk' ? [] : [`call.${sdk}.bare-signal`]),
    `call.${sdk}.none`,
    `call.${sdk}.full`,
    ...(sdk === 'ai-sdk' ? ['call.ai-sdk.vel-otel', 'call.ai-sdk.full-metrics', 'call.ai-sdk.middleware'] : []),
  ]),
  'call.pipeline.warm',
  'call.pipeline.cold',
  ...PER_EVENT_SIZES.flatMap((size) =>
    SDKS.flatMap((sdk) => [
      `event-${size}.${sdk}.bare`,
      ...(sdk === 'ai-sdk' ? [] : [`event-${size}.${sdk}.bare-signal`]),
      `event-${size}.${sdk}.none`,
      `event-${size}.${sdk}.vel`,
      `event-${size}.${sdk}.full`,
      ...(sdk === 'ai-sdk' ? [`event-${size}.ai-sdk.middleware`, `event-${size}.ai-sdk.middleware-transform`] : []),
    ]),
  ),
  ...TRANSLATOR_ROWS.map((id) => `translator.${id}`),
  'vela.floor',
  'vela.prepare',
  'vela.report',
  'vela.direct-ttfb',
  'vela.relay-ttfb',
  'vela.direct-throughput',
  'vela.relay-throughput',
  ...SDKS.flatMap((sdk) => [`memory.${sdk}.bare`, ...(sdk === 'ai-sdk' ? [] : [`memory.${sdk}.bare-signal`]), `memory.${sdk}.none`, `memory.${sdk}.full`]),
  'memory.flat',
  'limits.bare',
  'limits.concurrency',
  ...SDKS.flatMap((sdk) => [`alloc.${sdk}.bare`, `alloc.${sdk}.none`, `alloc.${sdk}.full`]),
];
