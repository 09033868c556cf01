// The Agents SDK model translator over recorded provider streams, as the SDK hands them on (raw
// `model` events beside its own summaries): the same Vel stream and the same state (usage, finish
// reason, response id, model, skips) as the provider's translator fed the raw events directly.
import type { VelEvent } from '@sluice/core';
import { describe, expect, it } from 'vitest';
import { assertValidVelStream, fixtureFiles, readFixture } from '../testing/conformance.ts';
import type { VelTranslator } from '../translator.ts';
import { AgentsModelTranslator } from './agents-model-translator.ts';
import { OpenAIChatTranslator } from './openai-chat-translator.ts';
import { OpenAIResponsesTranslator } from './openai-responses-translator.ts';

function drive(translator: VelTranslator, native: readonly unknown[]): VelEvent[] {
  const events = native.flatMap((event) => translator.push(event));
  events.push(...translator.finish());
  return events;
}

/** What the Agents SDK yields for a model call: each raw event, and a text summary beside each text delta. */
function agentsEvents(native: readonly unknown[], source: string): unknown[] {
  const out: unknown[] = [{ type: 'response_started' }];
  for (const event of native) {
    out.push({ type: 'model', event, providerData: { rawModelEventSource: source } });
    const delta = (event as { type?: unknown; delta?: unknown }).type === 'response.output_text.delta' ? (event as { delta: string }).delta : undefined;
    if (delta !== undefined) out.push({ type: 'output_text_delta', delta, itemId: 'summary' });
  }
  // No usage in the summary: it would fill in for a raw stream without any (by design), and the
  // comparison is with what the raw stream says.
  out.push({ type: 'response_done', response: { id: 'summary-id', output: [] } });
  return out;
}

const FAMILIES = [
  {
    family: 'openai-responses',
    source: 'openai-responses',
    direct: () => new OpenAIResponsesTranslator({ idPrefix: 'p' }),
    enveloped: () => new OpenAIResponsesTranslator({ idPrefix: 'p', agentsEnvelope: true }),
  },
  {
    family: 'openai-chat',
    source: 'openai-chat-completions',
    direct: () => new OpenAIChatTranslator({ idPrefix: 'p' }),
    enveloped: () => new OpenAIChatTranslator({ idPrefix: 'p', agentsEnvelope: true }),
  },
] as const;

describe.each([
  ['AgentsModelTranslator (provider found from the events)', 'generic'],
  ['the provider translator with agentsEnvelope (provider known up front, as in the Vel plugin)', 'enveloped'],
] as const)('%s over recorded streams', (_name, kind) => {
  describe.each(FAMILIES)('$family', ({ family, source, direct, enveloped }) => {
    it.each(fixtureFiles(family))('%s: the provider translator\'s events and state', async (file) => {
      const native = readFixture(family, file);
      const reference = direct();
      const expected = drive(reference, native);
      const translator = kind === 'generic' ? new AgentsModelTranslator({ idPrefix: 'p' }) : enveloped();
      const events = drive(translator, agentsEvents(native, source));
      await assertValidVelStream(events);
      // The summaries add a step around the raw events; everything else is the provider translator's.
      expect(events.filter((e) => e.type !== 'start-step' && e.type !== 'finish-step')).toEqual(expected.filter((e) => e.type !== 'start-step' && e.type !== 'finish-step'));
      const { skipped, ...state } = translator.state;
      const { skipped: expectedSkipped, ...expectedState } = reference.state;
      expect(state).toEqual(expectedState);
      expect(skipped).toEqual(expectedSkipped);
    });
  });
});

describe('the Agents envelope', () => {
  const raw = (event: unknown) => ({ type: 'model', event, providerData: { rawModelEventSource: 'openai-responses' } });
  const text = [
    { type: 'response.created', response: { id: 'resp_raw', model: 'gpt-raw', output: [] } },
    { type: 'response.output_item.added', output_index: 0, item: { id: 'msg_1', type: 'message', content: [] } },
    { type: 'response.output_text.delta', item_id: 'msg_1', output_index: 0, content_index: 0, delta: 'Hi' },
  ];

  it.each([
    ['AgentsModelTranslator', () => new AgentsModelTranslator({ idPrefix: 'p' })],
    ['agentsEnvelope: true', () => new OpenAIResponsesTranslator({ idPrefix: 'p', agentsEnvelope: true })],
  ] as const)('%s: summaries open the step and fill in only what the raw events lacked; unknown envelope types are skipped', async (_name, make) => {
    const translator = make();
    const events = drive(translator, [
      { type: 'response_started' },
      ...text.map(raw),
      { type: 'output_text_delta', delta: 'Hi' },
      { type: 'agent_hint' },
      { type: 'response_done', response: { id: 'resp_summary', usage: { inputTokens: 3, outputTokens: 1, totalTokens: 4 }, providerData: { model: 'gpt-summary' } } },
    ]);
    await assertValidVelStream(events);
    // The text once (from the raw event, not again from the summary).
    expect(events.filter((e) => e.type === 'text-delta').map((e) => (e as { delta: string }).delta)).toEqual(['Hi']);
    // The raw stream named the response and model; the usage came only with the summary.
    expect(translator.state.responseId).toBe('resp_raw');
    expect(translator.state.model).toBe('gpt-raw');
    expect(translator.state.usage).toMatchObject({ inputTokens: 3, outputTokens: 1 });
    expect(translator.state.skipped.map((s) => s.reason)).toEqual(['unknown model stream event type "agent_hint"']);
  });
});
