// Why this file exists: rows 1 of the issue — what one non-streamed call costs through Sluice, over
// the bare SDK call, for the `openai` client, an Agents SDK model and an AI SDK model.
import { withTrace } from '@openai/agents';
import { createFakeLanguageModel, createFakeOpenAI } from '../fakes.ts';
import type { Row, Target } from '../rows.ts';
import { agentsVariant, aiSdkMiddlewareVariant, aiSdkVariant, openAIVariant, type OpsVariant, type SdkOps } from '../sdk-ops.ts';
import { createSetup, SETUP_LABEL, type Setup } from '../setups.ts';
import { noteCallerSignal, timedRows, type TimedVariant } from '../timed-rows.ts';

export interface PerCallConfig {
  warmup: number;
  /** Recorded iterations per SDK, split into `rounds` (see `TimedRowsSpec.rounds`). */
  iterations: number;
  rounds: number;
}

const NONE_TARGET: Target = { metric: 'added', op: '<=', value: 5, text: '≤ 5 µs' };
const FULL_TARGET: Target = { metric: 'added', op: '<=', value: 25, text: '≤ 25 µs' };

function variants(label: string, make: (variant: OpsVariant) => SdkOps, setups: { none: Setup; full: Setup }, withSignal: boolean): TimedVariant[] {
  const bare = make('bare');
  const withNone = make(setups.none);
  const withFull = make(setups.full);
  const list: TimedVariant[] = [{ name: 'bare', scenario: `${label}, bare`, run: () => bare.call() }];
  if (withSignal) {
    const bareSignal = make('bare-signal');
    list.push({ name: 'bare-signal', scenario: `${label}, bare, caller passes an AbortSignal`, run: () => bareSignal.call() });
  }
  list.push(
    { name: 'none', scenario: `${label}, ${SETUP_LABEL.none}`, run: () => withNone.call(), target: NONE_TARGET },
    { name: 'full', scenario: `${label}, ${SETUP_LABEL.full}`, run: () => withFull.call(), target: FULL_TARGET },
  );
  return list;
}

export async function perCallRows(config: PerCallConfig): Promise<Row[]> {
  const fake = createFakeOpenAI();
  const model = createFakeLanguageModel();
  const setups = { none: createSetup('none'), full: createSetup('full'), velOtel: createSetup('vel-otel'), metrics: createSetup('full-metrics') };
  const tidy = () => {
    for (const setup of Object.values(setups)) setup.tidy();
  };
  const common = { group: 'per call' as const, n: 1, unit: 'µs/call', factor: 1_000, warmup: config.warmup, iterations: config.iterations, rounds: config.rounds, between: tidy };
  try {
    const rows: Row[] = [];
    rows.push(
      ...noteCallerSignal(await timedRows({ ...common, idPrefix: 'call.openai', variants: variants('openai chat.completions.create', (v) => openAIVariant(fake, v), setups, true) })),
    );
    rows.push(
      ...noteCallerSignal(
        await withTrace('bench', () =>
          timedRows({ ...common, idPrefix: 'call.agents', variants: variants('Agents SDK Responses model getResponse', (v) => agentsVariant(fake, v), setups, true) }),
        ),
      ),
    );
    const middleware = aiSdkMiddlewareVariant(model, 'empty');
    const withMetrics = aiSdkVariant(model, setups.metrics);
    const withVelOtel = aiSdkVariant(model, setups.velOtel);
    rows.push(
      ...(await timedRows({
        ...common,
        idPrefix: 'call.ai-sdk',
        variants: [
          ...variants('AI SDK generateText', (v) => aiSdkVariant(model, v), setups, false),
          { name: 'vel-otel', scenario: `AI SDK generateText, ${SETUP_LABEL['vel-otel']}`, run: () => withVelOtel.call() },
          { name: 'full-metrics', scenario: `AI SDK generateText, ${SETUP_LABEL['full-metrics']}`, run: () => withMetrics.call() },
          { name: 'middleware', scenario: 'AI SDK generateText, wrapLanguageModel middleware {} (peer)', run: () => middleware.call() },
        ],
      })),
    );
    return rows;
  } finally {
    for (const setup of Object.values(setups)) await setup.close();
  }
}
