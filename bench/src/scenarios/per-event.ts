// Why this file exists: rows 2 of the issue — what Sluice adds per streamed event, over the bare
// SDK's own per-event cost, at 1k and 100k text deltas per stream: (wrapped − bare) / deltas.
import { withTrace } from '@openai/agents';
import { createFakeLanguageModel, createFakeOpenAI } from '../fakes.ts';
import type { PerEventSize, Row, Target } from '../rows.ts';
import { agentsVariant, aiSdkMiddlewareVariant, aiSdkVariant, openAIVariant, type OpsVariant, type SdkOps } from '../sdk-ops.ts';
import { createSetup, SETUP_LABEL, type Setup } from '../setups.ts';
import { noteCallerSignal, timedRows, type TimedVariant } from '../timed-rows.ts';
import { formatNumber } from '../table.ts';

export interface PerEventConfig {
  /** Deltas per stream, iterations, and whether each run starts from a collected heap, per size row. */
  sizes: Record<PerEventSize, { deltas: number; warmup: number; iterations: number; rounds?: number; gcBefore?: boolean }>;
}

const VEL_TARGET: Target = { metric: 'added', op: '<=', value: 250, text: '≤ 250 ns' };
const FULL_TARGET: Target = { metric: 'added', op: '<=', value: 500, text: '≤ 500 ns' };

function variants(label: string, make: (variant: OpsVariant) => SdkOps, setups: Record<'none' | 'vel' | 'full', Setup>, expected: number, withSignal: boolean): TimedVariant[] {
  const run = (ops: SdkOps) => async () => {
    const deltas = await ops.stream();
    if (deltas !== expected) throw new Error(`${label}: expected ${expected} deltas, got ${deltas}`);
  };
  return [
    { name: 'bare', scenario: `${label}, bare`, run: run(make('bare')) },
    ...(withSignal ? [{ name: 'bare-signal', scenario: `${label}, bare, caller passes an AbortSignal`, run: run(make('bare-signal')) }] : []),
    { name: 'none', scenario: `${label}, ${SETUP_LABEL.none}`, run: run(make(setups.none)) },
    { name: 'vel', scenario: `${label}, ${SETUP_LABEL.vel}`, run: run(make(setups.vel)), target: VEL_TARGET },
    { name: 'full', scenario: `${label}, ${SETUP_LABEL.full}`, run: run(make(setups.full)), target: FULL_TARGET },
  ];
}

export async function perEventRows(config: PerEventConfig): Promise<Row[]> {
  const setups = { none: createSetup('none'), vel: createSetup('vel'), full: createSetup('full') };
  const rows: Row[] = [];
  try {
    for (const [size, { deltas, warmup, iterations, rounds, gcBefore }] of Object.entries(config.sizes) as Array<[PerEventSize, PerEventConfig['sizes'][PerEventSize]]>) {
      const fake = createFakeOpenAI({ deltas });
      const model = createFakeLanguageModel({ deltas });
      const common = { group: 'per event' as const, n: deltas, unit: 'ns/event', factor: 1e6, warmup, iterations, rounds: rounds ?? 1, gcBefore: gcBefore ?? false, between: () => setups.full.tidy() };
      rows.push(...noteCallerSignal(await timedRows({ ...common, idPrefix: `event-${size}.openai`, variants: variants('openai chat stream', (v) => openAIVariant(fake, v), setups, deltas, true) })));
      rows.push(
        ...noteCallerSignal(
          await withTrace('bench', () =>
            timedRows({ ...common, idPrefix: `event-${size}.agents`, variants: variants('Agents SDK Responses model stream', (v) => agentsVariant(fake, v), setups, deltas, true) }),
          ),
        ),
      );
      const aiVariants = variants('AI SDK streamText', (v) => aiSdkVariant(model, v), setups, deltas, false);
      const empty = aiSdkMiddlewareVariant(model, 'empty');
      const transform = aiSdkMiddlewareVariant(model, 'transform');
      aiVariants.push(
        { name: 'middleware', scenario: 'AI SDK streamText, middleware {} (peer)', run: () => empty.stream() },
        { name: 'middleware-transform', scenario: 'AI SDK streamText, identity TransformStream wrapStream (peer)', run: () => transform.stream() },
      );
      const aiRows = await timedRows({ ...common, idPrefix: `event-${size}.ai-sdk`, variants: aiVariants });
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
