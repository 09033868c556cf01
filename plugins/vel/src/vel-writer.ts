// Why this file exists: every translator must keep the same stream invariants (DESIGN.md §5) —
// one start, balanced steps and blocks, one input and one output per tool, the abort order. The
// writer enforces them by construction, so a translator only maps native events to writer calls.
import type { Usage, VelEvent } from '@sluice/core';

/** The finish reasons of the Vel protocol (AI SDK `FinishReason`). */
export type VelFinishReason = 'stop' | 'length' | 'content-filter' | 'tool-calls' | 'error' | 'other';

/** What `finish.messageMetadata` carries. */
export interface VelMessageMetadata {
  usage?: Usage;
  model?: string;
  responseId?: string;
}

/** Options of {@link VelWriter}. */
export interface VelWriterOptions {
  /** Prefix of every text/reasoning id (and of synthesized tool call ids), so parallel streams never collide. */
  idPrefix: string;
  /** `start.messageId`. */
  messageId?: string;
  /** Emit `start`/`finish` (default). A run stream composing several calls turns this off for its steps. */
  frame?: boolean;
  /**
   * Every tool call in this stream is executed within it (an Agents SDK run executes the model's
   * function calls and streams their outputs), so each owes an output. Default: only provider-executed tools.
   */
  toolsExecuted?: boolean;
}

interface ToolState {
  toolName: string;
  providerExecuted: boolean;
  dynamic: boolean;
  /** `tool-input-start` sent, input not yet available. */
  inputOpen: boolean;
  inputText: string;
  /** Input available; an output is owed when the tool is executed (provider or run). */
  awaitingOutput: boolean;
  done: boolean;
}

/** Iterated where a writer has no tools yet (never written to). */
const NO_TOOLS: ReadonlyMap<string, ToolState> = new Map();

/** A writer's phases, in order: nothing written, `start` written, a step open, `finish` written. */
type Phase = 0 | 1 | 2 | 3;
const NEW = 0;
const STARTED = 1;
const IN_STEP = 2;
const FINISHED = 3;

/** Builds a valid Vel stream incrementally. Methods append to the current batch; {@link VelWriter.take} returns it. */
export class VelWriter {
  readonly #prefix: string;
  readonly #messageId: string | undefined;
  readonly #frame: boolean;
  readonly #toolsExecuted: boolean;
  /** Events written since the last `take()`; created on the first write, so a take() after nothing costs one empty array. */
  #batch: VelEvent[] | undefined;
  /** Where the stream is: one field, not three booleans (a writer lives as long as its call). */
  #phase: Phase = NEW;
  /**
   * Open text blocks. Most streams have one at a time, so the first lives in two fields and a Map
   * is made only for blocks opened while others are: a Map and a Set cost ~0.5 KB per call in
   * flight, and the fields spare a Map lookup per delta. Invariant: the slot's block, when there is
   * one, was opened before every block in the Map (a block goes to the slot only when the Map is
   * empty), so closing slot first, then the Map, keeps the opening order.
   */
  #textKey: string | undefined;
  #textId: string | undefined;
  #moreText: Map<string, string> | undefined;
  /** Created on first use (most streams have no reasoning or no tools): an empty Map costs ~150 bytes per call in flight. */
  #openReasoning: Map<string, string> | undefined;
  #tools: Map<string, ToolState> | undefined;
  /** Block ids given out: the first in a field, a Set from the second on. */
  #firstId: string | undefined;
  #usedIds: Set<string> | undefined;
  #seq = 0;

  constructor(options: VelWriterOptions) {
    this.#prefix = options.idPrefix;
    this.#messageId = options.messageId;
    this.#frame = options.frame ?? true;
    this.#toolsExecuted = options.toolsExecuted ?? false;
  }

  /** True once `finish` (or the end of a frameless stream) was written: later calls write nothing. */
  get finished(): boolean {
    return this.#phase === FINISHED;
  }

  /** True while a step is open. */
  get inStep(): boolean {
    return this.#phase === IN_STEP;
  }

  /** Returns the events written since the last call. */
  take(): VelEvent[] {
    const batch = this.#batch ?? [];
    this.#batch = undefined;
    return batch;
  }

  #out(event: VelEvent): void {
    if (this.#batch === undefined) this.#batch = [event];
    else this.#batch.push(event);
  }

  /** A fresh namespaced id (for sources, synthesized tool call ids). */
  nextId(kind: string): string {
    return `${this.#prefix}-${kind}-${++this.#seq}`;
  }

  start(): void {
    if (this.#phase !== NEW) return;
    this.#phase = STARTED;
    if (this.#frame) this.#out(this.#messageId ? { type: 'start', messageId: this.#messageId } : { type: 'start' });
  }

  startStep(): void {
    if (this.#phase === FINISHED) return;
    this.start();
    if (this.#phase === IN_STEP) return;
    this.#phase = IN_STEP;
    this.#out({ type: 'start-step' });
  }

  /** A block id unique in this stream: the native key, namespaced; reused keys get a suffix. */
  #blockId(kind: 't' | 'r', key: string): string {
    let id = `${this.#prefix}-${kind}-${key}`;
    if (this.#firstId === undefined) {
      this.#firstId = id;
      return id;
    }
    const used = (this.#usedIds ??= new Set([this.#firstId]));
    if (used.has(id)) id = `${id}-${++this.#seq}`;
    used.add(id);
    return id;
  }

  #openTextId(key: string): string | undefined {
    return key === this.#textKey ? this.#textId : this.#moreText?.get(key);
  }

  textDelta(key: string, delta: string): void {
    if (this.#phase === FINISHED || delta === '') return;
    this.startStep();
    let id = this.#openTextId(key);
    if (id === undefined) {
      id = this.#blockId('t', key);
      if (this.#textKey === undefined && (this.#moreText === undefined || this.#moreText.size === 0)) {
        this.#textKey = key;
        this.#textId = id;
      } else {
        (this.#moreText ??= new Map()).set(key, id);
      }
      this.#out({ type: 'text-start', id });
    }
    this.#out({ type: 'text-delta', id, delta });
  }

  textEnd(key: string): void {
    let id: string | undefined;
    if (key === this.#textKey) {
      id = this.#textId;
      this.#textKey = this.#textId = undefined;
    } else {
      id = this.#moreText?.get(key);
      if (id === undefined) return;
      this.#moreText!.delete(key);
    }
    this.#out({ type: 'text-end', id: id! });
  }

  /** Opens a reasoning block even before any delta (a block may carry only a signature or a redacted summary). */
  reasoningStart(key: string): void {
    if (this.#phase === FINISHED || this.#openReasoning?.has(key)) return;
    this.startStep();
    const id = this.#blockId('r', key);
    (this.#openReasoning ??= new Map()).set(key, id);
    this.#out({ type: 'reasoning-start', id });
  }

  reasoningDelta(key: string, delta: string): void {
    if (this.#phase === FINISHED || delta === '') return;
    this.reasoningStart(key);
    this.#out({ type: 'reasoning-delta', id: this.#openReasoning!.get(key)!, delta });
  }

  reasoningEnd(key: string): void {
    const id = this.#openReasoning?.get(key);
    if (id === undefined) return;
    this.#openReasoning!.delete(key);
    this.#out({ type: 'reasoning-end', id });
  }

  /** Whether a tool call id is known to this stream. */
  hasTool(toolCallId: string): boolean {
    return this.#tools?.has(toolCallId) ?? false;
  }

  /** The arguments text accumulated from `tool-input-delta`s. */
  toolInputText(toolCallId: string): string {
    return this.#tools?.get(toolCallId)?.inputText ?? '';
  }

  toolInputStart(toolCallId: string, toolName: string, options: { providerExecuted?: boolean; dynamic?: boolean } = {}): void {
    if (this.#phase === FINISHED || this.#tools?.has(toolCallId)) return;
    this.startStep();
    (this.#tools ??= new Map()).set(toolCallId, { toolName, providerExecuted: options.providerExecuted ?? false, dynamic: options.dynamic ?? false, inputOpen: true, inputText: '', awaitingOutput: false, done: false });
    this.#out({ type: 'tool-input-start', toolCallId, toolName, ...(options.providerExecuted ? { providerExecuted: true } : {}), ...(options.dynamic ? { dynamic: true } : {}) });
  }

  toolInputDelta(toolCallId: string, delta: string): void {
    const tool = this.#tools?.get(toolCallId);
    if (this.#phase === FINISHED || !tool?.inputOpen || delta === '') return;
    tool.inputText += delta;
    this.#out({ type: 'tool-input-delta', toolCallId, inputTextDelta: delta });
  }

  /**
   * The complete input. `expectOutput`: the tool is executed within this stream (provider-executed
   * tools, or every tool of an Agents run), so exactly one output or output error will follow.
   */
  toolInputAvailable(toolCallId: string, toolName: string, input: unknown, options: { providerExecuted?: boolean; dynamic?: boolean; expectOutput?: boolean } = {}): void {
    if (this.#phase === FINISHED) return;
    let tool = this.#tools?.get(toolCallId);
    if (tool && !tool.inputOpen) return; // the input was already settled
    if (!tool) {
      this.startStep();
      tool = { toolName, providerExecuted: options.providerExecuted ?? false, dynamic: options.dynamic ?? false, inputOpen: false, inputText: '', awaitingOutput: false, done: false };
      (this.#tools ??= new Map()).set(toolCallId, tool);
    }
    tool.inputOpen = false;
    tool.awaitingOutput = options.expectOutput ?? (tool.providerExecuted || this.#toolsExecuted);
    tool.done = !tool.awaitingOutput;
    this.#out({
      type: 'tool-input-available',
      toolCallId,
      toolName: tool.toolName,
      input,
      ...(tool.providerExecuted ? { providerExecuted: true } : {}),
      ...(tool.dynamic ? { dynamic: true } : {}),
    });
  }

  /** The input as JSON text: parsed into `tool-input-available`, or `tool-input-error` when it is not JSON. */
  toolInputFromText(toolCallId: string, toolName: string, text: string, options: { providerExecuted?: boolean; dynamic?: boolean; expectOutput?: boolean } = {}): void {
    const source = text.trim() === '' ? '{}' : text;
    let input: unknown;
    try {
      input = JSON.parse(source);
    } catch (error) {
      this.toolInputError(toolCallId, toolName, text, `invalid tool input JSON: ${error instanceof Error ? error.message : String(error)}`);
      return;
    }
    this.toolInputAvailable(toolCallId, toolName, input, options);
  }

  toolInputError(toolCallId: string, toolName: string, input: unknown, errorText: string): void {
    if (this.#phase === FINISHED) return;
    let tool = this.#tools?.get(toolCallId);
    if (tool && !tool.inputOpen) return;
    if (!tool) {
      this.startStep();
      tool = { toolName, providerExecuted: false, dynamic: false, inputOpen: false, inputText: '', awaitingOutput: false, done: true };
      (this.#tools ??= new Map()).set(toolCallId, tool);
    }
    tool.inputOpen = false;
    tool.awaitingOutput = false;
    tool.done = true;
    this.#out({ type: 'tool-input-error', toolCallId, toolName: tool.toolName, input, errorText, ...(tool.providerExecuted ? { providerExecuted: true } : {}) });
  }

  /** Whether the tool's input is complete and it still owes an output. */
  awaitingOutput(toolCallId: string): boolean {
    return this.#tools?.get(toolCallId)?.awaitingOutput ?? false;
  }

  toolOutput(toolCallId: string, output: unknown): void {
    const tool = this.#tools?.get(toolCallId);
    if (this.#phase === FINISHED || !tool?.awaitingOutput) return;
    tool.awaitingOutput = false;
    tool.done = true;
    this.#out({ type: 'tool-output-available', toolCallId, output, ...(tool.providerExecuted ? { providerExecuted: true } : {}), ...(tool.dynamic ? { dynamic: true } : {}) });
  }

  toolOutputError(toolCallId: string, errorText: string): void {
    const tool = this.#tools?.get(toolCallId);
    if (this.#phase === FINISHED || !tool?.awaitingOutput) return;
    tool.awaitingOutput = false;
    tool.done = true;
    this.#out({ type: 'tool-output-error', toolCallId, errorText, ...(tool.providerExecuted ? { providerExecuted: true } : {}), ...(tool.dynamic ? { dynamic: true } : {}) });
  }

  sourceUrl(url: string, title?: string, sourceId?: string): void {
    if (this.#phase === FINISHED) return;
    this.startStep();
    this.#out({ type: 'source-url', sourceId: sourceId ?? this.nextId('src'), url, ...(title ? { title } : {}) });
  }

  sourceDocument(mediaType: string, title: string, filename?: string, sourceId?: string): void {
    if (this.#phase === FINISHED) return;
    this.startStep();
    this.#out({ type: 'source-document', sourceId: sourceId ?? this.nextId('src'), mediaType, title, ...(filename ? { filename } : {}) });
  }

  file(url: string, mediaType: string): void {
    if (this.#phase === FINISHED) return;
    this.startStep();
    this.#out({ type: 'file', url, mediaType });
  }

  /** A custom `data-<name>` part (e.g. `data-agent` when an Agents run hands off). */
  data(name: string, data: unknown, id?: string): void {
    if (this.#phase === FINISHED) return;
    this.start();
    this.#out({ type: `data-${name}`, data, ...(id ? { id } : {}) } as VelEvent);
  }

  error(errorText: string): void {
    if (this.#phase === FINISHED) return;
    this.start();
    this.#out({ type: 'error', errorText: errorText || 'unknown error' });
  }

  /** Closes open text and reasoning blocks and fails tool inputs that never completed. */
  #closeBlocks(): void {
    if (this.#textId !== undefined) this.#out({ type: 'text-end', id: this.#textId });
    this.#textKey = this.#textId = undefined;
    if (this.#moreText) {
      for (const id of this.#moreText.values()) this.#out({ type: 'text-end', id });
      this.#moreText.clear();
    }
    if (this.#openReasoning) {
      for (const id of this.#openReasoning.values()) this.#out({ type: 'reasoning-end', id });
      this.#openReasoning.clear();
    }
    for (const [toolCallId, tool] of this.#tools ?? NO_TOOLS) {
      if (tool.inputOpen) this.toolInputError(toolCallId, tool.toolName, tool.inputText, 'the stream ended before the tool input was complete');
    }
  }

  /** Ends the current step (closing its blocks). Tools still owing an output keep waiting (a run's tool runs after its step). */
  finishStep(): void {
    if (this.#phase !== IN_STEP) return;
    this.#closeBlocks();
    this.#phase = STARTED;
    this.#out({ type: 'finish-step' });
  }

  /** Ends the stream: open blocks closed, owed outputs failed, `finish` with reason and metadata. */
  finish(finishReason: VelFinishReason | undefined, metadata: VelMessageMetadata = {}): void {
    if (this.#phase === FINISHED) return;
    this.start();
    this.#closeBlocks();
    for (const [toolCallId, tool] of this.#tools ?? NO_TOOLS) if (tool.awaitingOutput) this.toolOutputError(toolCallId, 'the stream ended before the tool result arrived');
    this.finishStep();
    this.#phase = FINISHED;
    if (!this.#frame) return;
    const messageMetadata = compactMetadata(metadata);
    this.#out({ type: 'finish', ...(finishReason ? { finishReason } : {}), ...(messageMetadata ? { messageMetadata } : {}) });
  }

  /** Abort order: close open blocks → `tool-output-error` for open tools → `finish-step` → `abort` → `finish`. */
  abort(reason: string, metadata: VelMessageMetadata = {}): void {
    if (this.#phase === FINISHED) return;
    this.start();
    this.#closeBlocks();
    for (const [toolCallId, tool] of this.#tools ?? NO_TOOLS) if (tool.awaitingOutput) this.toolOutputError(toolCallId, `aborted: ${reason}`);
    this.finishStep();
    this.#phase = FINISHED;
    if (!this.#frame) return;
    this.#out({ type: 'abort', reason });
    const messageMetadata = compactMetadata(metadata);
    this.#out({ type: 'finish', finishReason: 'other', ...(messageMetadata ? { messageMetadata } : {}) });
  }
}

function compactMetadata(metadata: VelMessageMetadata): VelMessageMetadata | undefined {
  const out: VelMessageMetadata = {};
  if (metadata.usage) {
    const usage: Partial<Usage> = {};
    for (const [key, value] of Object.entries(metadata.usage)) if (typeof value === 'number') (usage as Record<string, number>)[key] = value;
    out.usage = usage as Usage;
  }
  if (metadata.model) out.model = metadata.model;
  if (metadata.responseId) out.responseId = metadata.responseId;
  return Object.keys(out).length > 0 ? out : undefined;
}
