// Why this file exists: an Agents SDK model stream carries the provider's raw events (`type:
// 'model'`) beside its own summaries (`output_text_delta`, `response_done`). The raw events are the
// complete truth (reasoning, tool-call deltas), so they are translated by the provider's translator;
// the summaries are used only for models that do not expose raw events.
import { asRecord, asString, BaseTranslator, prop, str, type TranslatorOptions, type TranslatorState, type VelTranslator } from '../translator.ts';
import { agentsEnvelopeEvent, fillFromAgentsResponse, unknownEnvelopeReason } from './agents-envelope.ts';
import { OpenAIChatTranslator } from './openai-chat-translator.ts';
import { OpenAIResponsesTranslator } from './openai-responses-translator.ts';

type Inner = OpenAIChatTranslator | OpenAIResponsesTranslator;

function innerFor(source: unknown, raw: unknown, options: TranslatorOptions, state: TranslatorState): Inner | undefined {
  const type = str(raw, 'type');
  if (source === 'openai-responses' || (type !== undefined && (type.startsWith('response.') || type === 'error'))) return new OpenAIResponsesTranslator(options, state);
  if (source === 'openai-chat-completions' || str(raw, 'object') === 'chat.completion.chunk' || Array.isArray(prop(raw, 'choices'))) return new OpenAIChatTranslator(options, state);
  return undefined;
}

/**
 * Translates one Agents SDK model call's stream events (`StreamEvent` of `@openai/agents`), finding
 * the provider from the raw events. When the provider is known up front, a provider translator with
 * `agentsEnvelope: true` does the same with one object less per call.
 */
export class AgentsModelTranslator extends BaseTranslator<unknown> {
  #inner: Inner | undefined;
  #done: unknown;

  protected map(event: unknown, index: number): void {
    // Plain property loads (see `asRecord`): this runs twice per token (raw event + summary).
    const record = asRecord(event);
    switch (agentsEnvelopeEvent(record)) {
      case 'raw': {
        const raw = record!.event;
        // The inner translator writes into this one's writer (which carries the id prefix and message
        // id) and records into this one's state (usage, finish reason, skips).
        this.#inner ??= innerFor(prop(prop(event, 'providerData'), 'rawModelEventSource'), raw, { writer: this.writer }, this.state);
        if (!this.#inner) return this.skip(index, 'raw model event of an unknown provider shape');
        this.#inner.feed(raw);
        return;
      }
      case 'text-summary':
        // With raw events, the same text arrives in them; only models without raw events need this.
        if (!this.#inner) this.writer.textDelta(asString(record!.itemId) ?? '0', asString(record!.delta) ?? '');
        return;
      case 'started':
        this.writer.startStep();
        return;
      case 'done':
        this.#done = prop(event, 'response');
        return;
      default:
        this.skip(index, unknownEnvelopeReason(event));
    }
  }

  protected override beforeFinish(): void {
    const done = this.#done;
    if (this.#inner) {
      this.#inner.settle();
    } else if (done !== undefined) {
      // No raw events: tool calls and usage come from the summary.
      let toolCalls = 0;
      for (const item of (prop(done, 'output') as unknown[] | undefined) ?? []) {
        if (str(item, 'type') !== 'function_call') continue;
        toolCalls++;
        const callId = str(item, 'callId') ?? this.writer.nextId('call');
        if (!this.writer.hasTool(callId)) this.writer.toolInputFromText(callId, str(item, 'name') ?? 'unknown', str(item, 'arguments') ?? '{}');
      }
      this.state.finishReason = toolCalls > 0 ? 'tool-calls' : 'stop';
    }
    if (done !== undefined) fillFromAgentsResponse(this.state, done);
  }
}

/** A translator for one Agents SDK model call stream. */
export function createAgentsModelTranslator(options?: TranslatorOptions): VelTranslator {
  return new AgentsModelTranslator(options);
}
