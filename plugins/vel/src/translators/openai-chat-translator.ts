// Why this file exists: Chat Completions streams (`ChatCompletionChunk`) are spoken by OpenAI and by
// every "OpenAI-compatible" API (Azure, DeepSeek, xAI, Groq, Mistral…), each bending the shape a
// little: reasoning under two names, content as an array of parts, tool calls without an index or
// an id, usage on its own chunk or on the last one, filter-result chunks with no choices. This maps
// all of them to Vel while the writer keeps the stream valid.
import { usageFromChatCompletions } from '@sluice/core';
import { toVelFinishReason } from '../finish-reasons.ts';
import { asRecord, asString, BaseTranslator, prop, str, type TranslatorOptions, type VelTranslator } from '../translator.ts';
import type { VelFinishReason } from '../vel-writer.ts';

/** The writer keys of the message's text and reasoning blocks (the writer namespaces and de-duplicates the ids). */
const TEXT = 'text';
const REASONING = 'reasoning';
/** Name of a tool call whose chunks never carried one. */
const UNKNOWN_TOOL = 'unknown_tool';

/** A tool call being streamed: arguments arrive in pieces and are settled once, when the choice finishes. */
interface StreamedToolCall {
  toolCallId: string;
  /** Whether `toolCallId` came from the provider (false: synthesized). */
  providerId: boolean;
  toolName: string | undefined;
  args: string;
  /** `tool-input-start` written (it needs the name, which may come after the first arguments). */
  started: boolean;
  settled: boolean;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function integer(value: unknown, key: string): number | undefined {
  const v = prop(value, key);
  return typeof v === 'number' && Number.isInteger(v) ? v : undefined;
}

/** Choice 0: the first choice whose `index` (or, without an integer one, its position) is 0. */
function choiceZero(choices: readonly unknown[]): unknown {
  for (let position = 0; position < choices.length; position++) {
    const choice = choices[position];
    const index = asRecord(choice)?.index;
    if ((typeof index === 'number' && Number.isInteger(index) ? index : position) === 0) return choice;
  }
  return undefined;
}

/**
 * Translates Chat Completions stream chunks (OpenAI and compatible APIs) into Vel.
 *
 * - Only choice 0 is the message; a chunk carrying only other choices is skipped with a reason.
 * - Reasoning (`reasoning_content` or `reasoning`, Mistral `thinking` parts) is written before the
 *   chunk's text; a text block is closed when reasoning resumes and vice versa, so the parts of the
 *   UI message keep the order the model produced them in.
 * - `refusal` is written as text (the user should read it). When the choice finishes with `stop`
 *   and the refusal was the only thing the model produced (no content, no tool call), the finish
 *   reason is `content-filter`: the model declined, and an app branching on the reason should know.
 * - Tool calls are keyed by `index`; without one, by their id; without either, a chunk continues
 *   the last open call unless it names a new tool. A call without id gets `writer.nextId('call')`.
 *   Inputs are settled (parsed; invalid JSON → `tool-input-error`) when the choice's
 *   `finish_reason` arrives, or at `finish()`.
 * - `{ error }` chunks become an `error` event and finish reason `error`.
 */
export class OpenAIChatTranslator extends BaseTranslator<unknown> {
  readonly #calls: StreamedToolCall[] = [];
  /** Created with the first tool call: most streams have none, and an empty Map is ~150 bytes per call in flight. */
  #callByIndex: Map<number, StreamedToolCall> | undefined;
  #callById: Map<string, StreamedToolCall> | undefined;
  #lastCall: StreamedToolCall | undefined;
  #providerReason: VelFinishReason | undefined;
  #errored = false;
  #sawRefusal = false;
  /** Content text or a tool call: anything but a refusal. */
  #sawAnswer = false;

  protected map(chunk: unknown, index: number): void {
    if (!isRecord(chunk)) throw new Error(`expected a chunk object, got ${chunk === null ? 'null' : typeof chunk}`);
    const error = chunk.error;
    if (error !== undefined && error !== null) {
      const message = typeof error === 'string' ? error : (str(error, 'message') ?? JSON.stringify(error));
      this.writer.error(message);
      this.#errored = true;
      this.#updateFinishReason();
      return;
    }
    // Plain property loads from here on: this runs once per token (see `asRecord`).
    const id = asString(chunk.id);
    if (id) this.state.responseId = id;
    const model = asString(chunk.model);
    if (model) this.state.model = model;

    // Usage rides on its own chunk (`choices: []`) or on the last choice chunk; Groq also nests it in `x_groq`.
    const usage = isRecord(chunk.usage) ? chunk.usage : asRecord(chunk.x_groq)?.usage;
    const hasUsage = isRecord(usage);
    if (hasUsage) this.state.usage = usageFromChatCompletions(usage);

    const choices: readonly unknown[] = Array.isArray(chunk.choices) ? chunk.choices : [];
    const choice = choiceZero(choices);
    if (choice === undefined) {
      if (hasUsage) return;
      if (chunk.prompt_filter_results !== undefined) this.skip(index, 'Azure prompt filter results: no message content');
      else if (choices.length > 0) this.skip(index, 'only choice 0 is the message; this chunk carries other choices only');
      else this.skip(index, 'chunk without choice 0, usage or error');
      return;
    }
    this.#mapChoice(choice, index);
  }

  #mapChoice(choice: unknown, index: number): void {
    const delta = asRecord(asRecord(choice)?.delta);
    const reasoning = asString(delta?.reasoning_content) || asString(delta?.reasoning);
    if (reasoning) this.#reasoning(reasoning);

    const content = delta?.content;
    if (typeof content === 'string') this.#text(content, true);
    else if (Array.isArray(content)) {
      for (const part of content) this.#contentPart(part, index);
    }

    const refusal = asString(delta?.refusal);
    if (refusal) {
      this.#sawRefusal = true;
      this.#text(refusal, false);
    }

    const toolCalls = delta?.tool_calls;
    if (Array.isArray(toolCalls)) for (const call of toolCalls) this.#toolCallDelta(call);
    // The legacy `function_call` delta: one call per message, under its own key.
    const legacyCall = delta?.function_call;
    if (isRecord(legacyCall)) this.#toolCallDelta({ index: -1, function: legacyCall });
    const audio = delta?.audio;
    if (audio !== undefined && audio !== null) this.skip(index, 'audio deltas are not translated');

    const finishReason = asString(asRecord(choice)?.finish_reason);
    if (finishReason) {
      this.#settleToolCalls();
      this.#providerReason = toVelFinishReason(finishReason);
      this.#updateFinishReason();
    }
  }

  /** A Mistral-style content part: `{ type: 'text', text }` or `{ type: 'thinking', thinking: [{ type: 'text', text }] }`. */
  #contentPart(part: unknown, index: number): void {
    if (typeof part === 'string') return this.#text(part, true);
    const type = str(part, 'type');
    if (type === 'text') return this.#text(str(part, 'text') ?? '', true);
    if (type === 'thinking') {
      const thinking = prop(part, 'thinking');
      if (typeof thinking === 'string') return this.#reasoning(thinking);
      if (Array.isArray(thinking)) for (const inner of thinking) this.#reasoning(typeof inner === 'string' ? inner : (str(inner, 'text') ?? ''));
      return;
    }
    this.skip(index, `content part of type ${JSON.stringify(type)} is not translated`);
  }

  #text(delta: string, isAnswer: boolean): void {
    if (delta === '') return;
    if (isAnswer) this.#sawAnswer = true;
    this.writer.reasoningEnd(REASONING);
    this.writer.textDelta(TEXT, delta);
  }

  #reasoning(delta: string): void {
    if (delta === '') return;
    this.writer.textEnd(TEXT);
    this.writer.reasoningDelta(REASONING, delta);
  }

  #toolCallDelta(raw: unknown): void {
    const index = integer(raw, 'index');
    const id = str(raw, 'id') || undefined;
    const fn = prop(raw, 'function');
    const name = str(fn, 'name') || undefined;
    const args = str(fn, 'arguments') ?? '';

    let call = this.#findCall(index, id, name);
    if (!call) {
      call = { toolCallId: id ?? this.writer.nextId('call'), providerId: id !== undefined, toolName: name, args: '', started: false, settled: false };
      this.#calls.push(call);
      (this.#callById ??= new Map()).set(call.toolCallId, call);
    }
    if (index !== undefined) (this.#callByIndex ??= new Map()).set(index, call);
    this.#lastCall = call;
    this.#sawAnswer = true;
    if (call.settled) return;
    call.toolName ??= name;
    if (!call.started && call.toolName !== undefined) {
      call.started = true;
      this.writer.toolInputStart(call.toolCallId, call.toolName);
      if (call.args !== '') this.writer.toolInputDelta(call.toolCallId, call.args);
    }
    if (args !== '') {
      call.args += args;
      if (call.started) this.writer.toolInputDelta(call.toolCallId, args);
    }
  }

  /** The call a tool-call delta continues, or undefined for a new call. */
  #findCall(index: number | undefined, id: string | undefined, name: string | undefined): StreamedToolCall | undefined {
    const known = id === undefined ? undefined : this.#callById?.get(id);
    if (known) return known;
    if (index === undefined) {
      // Without index or id (Mistral continuation chunks): the last open call, unless this names a new tool.
      const last = this.#lastCall;
      if (id === undefined && last && !last.settled && !(name && last.toolName)) return last;
      return undefined;
    }
    const call = this.#callByIndex?.get(index);
    if (!call || id === undefined || !call.providerId) return call;
    // A new id at a known index: some compatible APIs number every call 0. The previous call is complete.
    this.#settle(call);
    return undefined;
  }

  #settle(call: StreamedToolCall): void {
    if (call.settled) return;
    call.settled = true;
    this.writer.toolInputFromText(call.toolCallId, call.toolName ?? UNKNOWN_TOOL, call.args);
  }

  #settleToolCalls(): void {
    for (const call of this.#calls) this.#settle(call);
  }

  #updateFinishReason(): void {
    if (this.#errored) this.state.finishReason = 'error';
    else if (this.#providerReason === 'stop' && this.#sawRefusal && !this.#sawAnswer) this.state.finishReason = 'content-filter';
    else this.state.finishReason = this.#providerReason;
  }

  protected override beforeFinish(): void {
    this.#settleToolCalls();
    this.#updateFinishReason();
  }
}

/** A translator for one Chat Completions stream (OpenAI and compatible APIs). */
export function createOpenAIChatTranslator(options?: TranslatorOptions): VelTranslator {
  return new OpenAIChatTranslator(options);
}
