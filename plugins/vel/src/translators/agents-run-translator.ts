// Why this file exists: an Agents SDK run is several model calls with tool executions between them;
// the UI wants it as ONE message: a step per model call, each tool's output after the step that
// asked for it, handoffs visible, usage summed over the run.
import type { Usage } from '@sluice/core';
import { BaseTranslator, prop, str, type TranslatorOptions, type VelTranslator } from '../translator.ts';
import { AgentsModelTranslator } from './agents-model-translator.ts';

function addUsage(total: Usage | undefined, usage: Usage | undefined): Usage | undefined {
  if (!usage) return total;
  if (!total) return { ...usage };
  const sum = (a: number | undefined, b: number | undefined) => (a === undefined && b === undefined ? undefined : (a ?? 0) + (b ?? 0));
  return {
    inputTokens: sum(total.inputTokens, usage.inputTokens),
    outputTokens: sum(total.outputTokens, usage.outputTokens),
    totalTokens: sum(total.totalTokens, usage.totalTokens),
    cachedInputTokens: sum(total.cachedInputTokens, usage.cachedInputTokens),
    cacheWriteInputTokens: sum(total.cacheWriteInputTokens, usage.cacheWriteInputTokens),
    reasoningTokens: sum(total.reasoningTokens, usage.reasoningTokens),
  };
}

function outputOf(item: unknown): unknown {
  const output = prop(item, 'output');
  if (output !== undefined) return output;
  const raw = prop(prop(item, 'rawItem'), 'output');
  return str(raw, 'type') === 'text' ? str(raw, 'text') : raw;
}

/** Translates a streamed Agents SDK run (`RunStreamEvent`s) into one Vel message. */
export class AgentsRunTranslator extends BaseTranslator<unknown> {
  #call: AgentsModelTranslator | undefined;
  /** The current call sent `response_done`; the Responses model still sends its raw terminal event after it. */
  #callDone = false;
  #calls = 0;

  constructor(options: TranslatorOptions = {}) {
    super({ ...options, toolsExecuted: true });
  }

  /** Model calls seen so far. */
  get modelCalls(): number {
    return this.#calls;
  }

  #endCall(): void {
    const call = this.#call;
    if (!call) return;
    call.settle();
    this.state.usage = addUsage(this.state.usage, call.state.usage);
    this.state.responseId = call.state.responseId ?? this.state.responseId;
    this.state.model = call.state.model ?? this.state.model;
    this.state.finishReason = call.state.finishReason;
    this.recordSkipped(...call.state.skipped);
    this.writer.finishStep();
    this.#call = undefined;
    this.#callDone = false;
  }

  protected map(event: unknown, index: number): void {
    switch (str(event, 'type')) {
      case 'raw_model_stream_event': {
        const data = prop(event, 'data');
        if (this.#callDone && str(data, 'type') === 'response_started') this.#endCall();
        if (!this.#call) {
          this.#call = new AgentsModelTranslator({ writer: this.writer });
          this.#calls++;
        }
        this.#call.feed(data);
        if (str(data, 'type') === 'response_done') this.#callDone = true;
        return;
      }
      case 'run_item_stream_event': {
        // Run items come after their model call: its step ends before tool outputs are shown.
        this.#endCall();
        const item = prop(event, 'item');
        const raw = prop(item, 'rawItem');
        const callId = str(raw, 'callId');
        switch (str(event, 'name')) {
          case 'tool_called':
          case 'handoff_requested':
            // Normally streamed by the model call already; a non-streamed model shows it only here.
            if (callId && !this.writer.hasTool(callId) && str(raw, 'type') === 'function_call') {
              this.writer.toolInputFromText(callId, str(raw, 'name') ?? 'unknown', str(raw, 'arguments') ?? '{}');
            }
            return;
          case 'tool_output':
          case 'handoff_occurred':
            if (callId) this.writer.toolOutput(callId, outputOf(item));
            return;
          default:
            this.skip(index, `run item ${String(str(event, 'name'))} is already part of the model stream`);
            return;
        }
      }
      case 'agent_updated_stream_event': {
        this.#endCall();
        const name = str(prop(event, 'agent'), 'name');
        if (name) this.writer.data('agent', { name });
        return;
      }
      default:
        this.skip(index, `unknown run stream event type ${JSON.stringify(str(event, 'type'))}`);
    }
  }

  protected override beforeFinish(): void {
    this.#endCall();
    this.state.finishReason = this.state.finishReason === 'tool-calls' ? 'other' : (this.state.finishReason ?? 'stop');
  }
}

/** A translator for a whole streamed Agents SDK run. */
export function createAgentsRunTranslator(options?: TranslatorOptions): VelTranslator {
  return new AgentsRunTranslator(options);
}
