// Why this file exists: rows 2 of the issue — what Sluice adds per streamed event, over the bare
// SDK's own per-event cost, at 1k and 100k text deltas per stream: (wrapped − bare) / deltas. 1k
// streams are timed whole; 100k streams are read side by side in blocks (see `blockRows`).
import { withTrace } from '@openai/agents';
import { createFakeLanguageModel, createFakeOpenAI } from '../fakes.ts';
import { PER_EVENT_SIZES, type PerEventSize, type Row, type Target } from '../rows.ts';
import { agentsVariant, aiSdkMiddlewareVariant, aiSdkVariant, openAIVariant, type OpsVariant, type SdkOps } from '../sdk-ops.ts';
import { createSetup, SETUP_LABEL, type Setup } from '../setups.ts';
import { blockRows, noteCallerSignal, timedRows, type BlockVariant, type TimedVariant } from '../timed-rows.ts';
import { formatNumber } from '../table.ts';

/** Whole streams, interleaved, in rounds after a warm-up (see `timedRows`). */
export interface WholeStreams {
  deltas: number;
  warmup: number;
  iterations: number;
  rounds?: number;
}

/** Long streams, one per variant and round, read side by side in blocks (see `blockRows`). */
export interface BlockStreams {
  deltas: number;
  block: number;
  warmupBlocks: number;
  streams: number;
}

export interface PerEventConfig {
  sizes: { '1k': WholeStreams; '100k': BlockStreams };
}

/** A row's variant before it is timed: its name, scenario and target, and the SDK operations it times (whole streams or blocks). */
type OpsRow = Omit<TimedVariant, 'run'> & { ops: SdkOps };

const VEL_TARGET: Target = { metric: 'added', op: '<=', value: 250, text: '≤ 250 ns' };
const FULL_TARGET: Target = { metric: 'added', op: '<=', value: 500, text: '≤ 500 ns' };

/** One SDK's variants as operations: the bare SDK, (optionally) with a caller's signal, and the pipeline variants. */
function variantOps(label: string, make: (variant: OpsVariant) => SdkOps, setups: Record<'none' | 'vel' | 'full', Setup>, withSignal: boolean): OpsRow[] {
  return [
    { name: 'bare', scenario: `${label}, bare`, ops: make('bare') },
    ...(withSignal ? [{ name: 'bare-signal', scenario: `${label}, bare, caller passes an AbortSignal`, ops: make('bare-signal') }] : []),
    { name: 'none', scenario: `${label}, ${SETUP_LABEL.none}`, ops: make(setups.none) },
    { name: 'vel', scenario: `${label}, ${SETUP_LABEL.vel}`, ops: make(setups.vel), target: VEL_TARGET },
    { name: 'full', scenario: `${label}, ${SETUP_LABEL.full}`, ops: make(setups.full), target: FULL_TARGET },
  ];
}

/** The AI SDK's own stream middlewares, as peers of its rows. */
function aiSdkPeers(model: ReturnType<typeof createFakeLanguageModel>): OpsRow[] {
  return [
    { name: 'middleware', scenario: 'AI SDK streamText, middleware {} (peer)', ops: aiSdkMiddlewareVariant(model, 'empty') },
    { name: 'middleware-transform', scenario: 'AI SDK streamText, identity TransformStream wrapStream (peer)', ops: aiSdkMiddlewareVariant(model, 'transform') },
  ];
}

/** Whole streams: each run reads one to the end and checks it carried `expected` deltas. */
function wholeStreams(list: OpsRow[], expected: number): TimedVariant[] {
  return list.map(({ ops, ...variant }) => ({
    ...variant,
    run: async () => {
      const deltas = await ops.stream();
      if (deltas !== expected) throw new Error(`${variant.scenario}: expected ${expected} deltas, got ${deltas}`);
    },
  }));
}

/** Long streams: each is opened and then read in blocks. */
function blockStreams(list: OpsRow[]): BlockVariant[] {
  return list.map(({ ops, ...variant }) => ({ ...variant, open: () => ops.hold() }));
}

/**
 * One SDK's rows at one size: whole 1k streams through `timedRows`, 100k streams in blocks. The
 * bare-signal row gets its note.
 */
function sizeRows(size: PerEventSize, config: PerEventConfig['sizes'], sdk: string, list: OpsRow[], between: () => void): Promise<Row[]> {
  const idPrefix = `event-${size}.${sdk}`;
  if (size === '100k') {
    const { deltas, block, warmupBlocks, streams } = config['100k'];
    return blockRows({ group: 'per event', idPrefix, n: deltas, block, warmupBlocks, streams, between, variants: blockStreams(list) }).then(noteCallerSignal);
  }
  const { deltas, warmup, iterations, rounds } = config['1k'];
  return timedRows({ group: 'per event', idPrefix, n: deltas, unit: 'ns/event', factor: 1e6, warmup, iterations, rounds: rounds ?? 1, between, variants: wholeStreams(list, deltas) }).then(noteCallerSignal);
}

export async function perEventRows(config: PerEventConfig): Promise<Row[]> {
  const setups = { none: createSetup('none'), vel: createSetup('vel'), full: createSetup('full') };
  const rows: Row[] = [];
  try {
    const between = () => setups.full.tidy();
    for (const size of PER_EVENT_SIZES) {
      const { deltas } = config.sizes[size];
      const fake = createFakeOpenAI({ deltas });
      const model = createFakeLanguageModel({ deltas });
      rows.push(...(await sizeRows(size, config.sizes, 'openai', variantOps('openai chat stream', (v) => openAIVariant(fake, v), setups, true), between)));
      rows.push(...(await withTrace('bench', () => sizeRows(size, config.sizes, 'agents', variantOps('Agents SDK Responses model stream', (v) => agentsVariant(fake, v), setups, true), between))));
      const aiVariants = [...variantOps('AI SDK streamText', (v) => aiSdkVariant(model, v), setups, false), ...aiSdkPeers(model)];
      const aiRows = await sizeRows(size, config.sizes, 'ai-sdk', aiVariants, between);
      // Vel + OTel must be at least 5× cheaper per event than the AI SDK's own no-op stream middleware.
      const peerRow = aiRows.find((r) => r.id.endsWith('.middleware-transform'));
      const peer = peerRow?.added;
      for (const row of aiRows) {
        if (row.id.endsWith('.full') && peer !== undefined && row.added !== undefined) {
          const fiveTimes = row.added * 5 <= peer;
          const noise = (peerRow?.addedCi ?? 0) + 5 * (row.addedCi ?? 0);
          const withinNoise = Math.abs(peer - 5 * row.added) <= noise;
          // A ratio means nothing when either cost is not above zero: say what was measured instead.
          const comparison =
            row.added > 0 && peer > 0
              ? `${(peer / row.added).toFixed(1)}× cheaper than the TransformStream middleware`
              : `${formatNumber(row.added)} ns vs ${formatNumber(peer)} ns per event for the TransformStream middleware`;
          row.note = `${comparison} (target ≥ 5×: ${fiveTimes ? 'PASS' : 'MISS'}${withinNoise ? ', within noise' : ''})`;
          if (!fiveTimes) row.pass = false;
          if (withinNoise) row.conclusive = false;
        }
      }
      rows.push(...aiRows);
    }
    return rows;
  } finally {
    for (const setup of Object.values(setups)) await setup.close();
  }
}
