// Why this file exists: the Agents SDK hands a model's stream on in an envelope — each raw provider
// event as `{ type: 'model', event }`, beside its own summaries (`response_started`,
// `output_text_delta`, `response_done`). Both the Agents model translator (provider found from the
// events) and a provider translator told of the envelope (provider known up front) read it the same way.
import { usageFromAgents } from '@sluice/core';
import { prop, str } from '../fields.ts';
import type { TranslatorState } from '../translator.ts';

/** What an envelope event is, for a translator of the raw events inside. */
export type AgentsEnvelopeEvent = 'raw' | 'started' | 'text-summary' | 'done' | 'unknown';

/** Classifies one Agents SDK model stream event (a `type` string compare, no allocation). */
export function agentsEnvelopeEvent(record: Record<string, unknown> | undefined): AgentsEnvelopeEvent {
  switch (record?.type) {
    case 'model':
      return 'raw';
    case 'output_text_delta':
      return 'text-summary';
    case 'response_started':
      return 'started';
    case 'response_done':
      return 'done';
    default:
      return 'unknown';
  }
}

/** Why an envelope event of an unknown type was skipped. */
export function unknownEnvelopeReason(event: unknown): string {
  return `unknown model stream event type ${JSON.stringify(str(event, 'type'))}`;
}

/** The summary response (`response_done`) fills in what the raw events did not say: id, usage, model. */
export function fillFromAgentsResponse(state: TranslatorState, response: unknown): void {
  state.responseId ??= str(response, 'id');
  state.usage ??= usageFromAgents(prop(response, 'usage'));
  state.model ??= str(prop(response, 'providerData'), 'model');
}
