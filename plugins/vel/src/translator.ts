// Why this file exists: the shape every translator shares — an array of Vel events per native
// event, `finish()`/`abort()` to close what is open, never a throw — and the bookkeeping (skip
// reasons, usage, finish reason) the plugin and the run translator read back.
import { randomUUID } from 'node:crypto';
import type { Usage, VelEvent } from '@sluice/core';
import { agentsEnvelopeEvent, fillFromAgentsResponse, unknownEnvelopeReason, type AgentsEnvelopeEvent } from './translators/agents-envelope.ts';
import { asRecord } from './fields.ts';
import { VelWriter, type VelFinishReason } from './vel-writer.ts';

export { asRecord, asString, prop, str } from './fields.ts';

/** A native event the translator did not turn into Vel, and why. */
export interface SkippedEvent {
  index: number;
  reason: string;
}

/** What a translator learned from the stream so far. */
export interface TranslatorState {
  usage: Usage | undefined;
  finishReason: VelFinishReason | undefined;
  responseId: string | undefined;
  model: string | undefined;
  /** Read-only: translators replace the list as they record (an empty stream shares one frozen list). */
  skipped: readonly SkippedEvent[];
}

/** The skip list of a translator that skipped nothing yet: shared, so an empty list costs no array per call. */
const NO_SKIPS: readonly SkippedEvent[] = Object.freeze([]);

/** A stateful translator for one response. */
export interface VelTranslator<Native = unknown> {
  /** Vel events for one native event (zero, one or many). Never throws. */
  push(native: Native): VelEvent[];
  /** Closes what is open and ends the stream (or, with a shared writer, the step). Idempotent. */
  finish(): VelEvent[];
  /** Ends the stream in the abort order. With a shared writer, the owner aborts instead. */
  abort(reason?: string): VelEvent[];
  /** Ends the stream after a failure: an `error` chunk, then the usual closing with finish reason `error`. */
  fail(errorText: string): VelEvent[];
  readonly state: TranslatorState;
}

/** Options every translator takes. */
export interface TranslatorOptions {
  /** Namespace of generated ids. Default: a random 8-character prefix. */
  idPrefix?: string;
  /** `start.messageId`. */
  messageId?: string;
  /**
   * Write into this writer instead of owning one (a run stream made of several model calls): the
   * translator then frames nothing and `finish()` ends only its step.
   */
  writer?: VelWriter;
  /** For an owned writer: every tool call is executed within this stream (see `VelWriterOptions.toolsExecuted`). */
  toolsExecuted?: boolean;
  /**
   * The events come in the Agents SDK's model stream envelope (`{ type: 'model', event }` around
   * each raw event of this translator's provider, beside the SDK's summaries): the raw events are
   * translated, `response_started` opens the step, `response_done` fills in what they did not say.
   * For an Agents model whose provider is known up front (Sluice's own); otherwise use
   * `AgentsModelTranslator`, which finds it from the events.
   */
  agentsEnvelope?: boolean;
}

/**
 * Bits of a translator's `#flags`: it made its writer (and frames the stream); it ended; it flushed
 * what it buffered; its events come in the Agents envelope.
 */
const OWNS_WRITER = 1;
const DONE = 2;
const SETTLED = 4;
const AGENTS_ENVELOPE = 8;

/** A random id prefix: parallel calls and graph nodes never share ids. */
export function randomIdPrefix(): string {
  return randomUUID().slice(0, 8);
}

/** Base class: subclasses implement {@link BaseTranslator.map}. */
export abstract class BaseTranslator<Native> implements VelTranslator<Native> {
  protected readonly writer: VelWriter;
  readonly state: TranslatorState;
  #index = 0;
  /** {@link OWNS_WRITER}, {@link DONE}, {@link SETTLED}, {@link AGENTS_ENVELOPE} bits: one field per translator in flight, not four. */
  #flags = 0;
  /** In the Agents envelope: the `response_done` summary's response, once it came. */
  #summary: unknown;

  /**
   * @param state Record into this state instead of a new one: a translator that hands every event
   *   to another (sharing its writer) shares its state too, so what the inner one learns is the
   *   outer one's without a copy.
   */
  constructor(options: TranslatorOptions = {}, state?: TranslatorState) {
    this.state = state ?? { usage: undefined, finishReason: undefined, responseId: undefined, model: undefined, skipped: NO_SKIPS };
    if (options.writer === undefined) this.#flags = OWNS_WRITER;
    this.writer =
      options.writer ??
      new VelWriter({ idPrefix: options.idPrefix ?? randomIdPrefix(), ...(options.messageId ? { messageId: options.messageId } : {}), ...(options.toolsExecuted ? { toolsExecuted: true } : {}) });
    if (options.agentsEnvelope) this.#flags |= AGENTS_ENVELOPE;
    if (this.#flags & OWNS_WRITER) this.writer.start();
  }

  /** Maps one native event to writer calls. May throw: the base class turns a throw into a skip. */
  protected abstract map(native: Native, index: number): void;

  /** Called once before the stream (or step) is closed: flush buffered tool calls and the like. */
  protected beforeFinish(): void {}

  protected skip(index: number, reason: string): void {
    this.recordSkipped({ index, reason });
  }

  /** Appends to `state.skipped` (a composing translator passes on its parts' skips). */
  protected recordSkipped(...events: SkippedEvent[]): void {
    if (events.length === 0) return;
    const skipped = this.state.skipped;
    // The first skip replaces the shared empty list with one of its own length: `[]` grown by push()
    // reserves 17 slots (~150 bytes) for the call's life, and most streams skip one or two events.
    if (skipped.length === 0) this.state.skipped = events;
    else (skipped as SkippedEvent[]).push(...events);
  }

  push(native: Native): VelEvent[] {
    this.feed(native);
    return this.writer.take();
  }

  /**
   * For composition: maps one native event into the (shared) writer without taking the batch —
   * the owner of the writer takes it. Never throws.
   */
  feed(native: Native): void {
    // One load of the flags per event: the envelope and the end are both in it.
    const flags = this.#flags;
    if (flags & AGENTS_ENVELOPE) {
      // The envelope's own events are not counted: skip indexes are those of the raw events, as if fed directly.
      const record = asRecord(native);
      const kind = agentsEnvelopeEvent(record);
      if (kind !== 'raw') return this.#envelopeEvent(kind, record, native);
      native = record!.event as Native;
    }
    const index = this.#index++;
    if (flags & DONE) {
      this.skip(index, 'event after the end of the stream');
      return;
    }
    try {
      this.map(native, index);
    } catch (error) {
      this.skip(index, `malformed event: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  #envelopeEvent(kind: Exclude<AgentsEnvelopeEvent, 'raw'>, record: Record<string, unknown> | undefined, event: unknown): void {
    if (this.#flags & DONE) return this.skip(this.#index, 'event after the end of the stream');
    switch (kind) {
      case 'text-summary':
        return; // the same text arrives in the raw events
      case 'started':
        return this.writer.startStep();
      case 'done':
        this.#summary = record!.response;
        return;
      default:
        this.skip(this.#index, unknownEnvelopeReason(event));
    }
  }

  /** For composition: flushes what the translator buffers (pending tool calls) into the writer, once. */
  settle(): void {
    if (this.#flags & SETTLED) return;
    this.#flags |= SETTLED;
    try {
      this.beforeFinish();
      if (this.#summary !== undefined) fillFromAgentsResponse(this.state, this.#summary);
    } catch (error) {
      this.skip(this.#index, `could not flush at finish: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  finish(): VelEvent[] {
    if (this.#flags & DONE) return [];
    this.settle();
    this.#flags |= DONE;
    if (this.#flags & OWNS_WRITER) {
      this.writer.finish(this.state.finishReason ?? 'other', { usage: this.state.usage, model: this.state.model, responseId: this.state.responseId });
    } else {
      this.writer.finishStep();
    }
    return this.writer.take();
  }

  fail(errorText: string): VelEvent[] {
    if (this.#flags & DONE) return [];
    this.writer.error(errorText);
    // Flush first: a translator's own finish reason, set as it settles, must not replace `error`.
    this.settle();
    this.state.finishReason = 'error';
    return this.finish();
  }

  abort(reason = 'aborted'): VelEvent[] {
    if (this.#flags & DONE) return [];
    this.#flags |= DONE;
    if (this.#flags & OWNS_WRITER) this.writer.abort(reason, { usage: this.state.usage, model: this.state.model, responseId: this.state.responseId });
    return this.writer.take();
  }
}
