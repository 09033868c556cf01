// Why this file exists: every node produces its own complete Vel message (start … finish), but the
// graph streams ONE message. This is the per-node filter between the two: it strips the node's
// framing (`start`, `finish`, `abort`) while reading its usage and outcome from them, keeps parallel
// nodes' steps from nesting, and closes whatever a node left open when it is cut off. It also holds
// `createIdNamespacer`: the translators namespace the ids they make, but tool call ids come straight
// from the provider, so two parallel nodes can both say `call_1`.
import type { Usage, VelEvent } from '@sluice/core';

/**
 * How the events of parallel nodes share the one graph stream. A Vel stream may have only one step
 * open at a time, and a step may not end while any text or reasoning block is open.
 *
 * - `atomic-steps` (default): each node's step is buffered and written as one contiguous block when
 *   the node finishes it; everything outside steps (tool outputs between Agents turns, errors, data
 *   parts) passes through at once. The message keeps its full step structure and no node can hold
 *   up another's output, but text inside a step appears when the step ends, not token by token.
 * - `live`: the nodes' `start-step`/`finish-step` are dropped and every event passes through as it
 *   arrives, so text streams token by token from all nodes at once (blocks interleave by id). The
 *   message has no step parts.
 */
export type InterleaveMode = 'atomic-steps' | 'live';

/** What the filter learned from a node's own stream. */
export interface NodeStreamOutcome {
  /** `finish.messageMetadata.usage` of the node's stream (its translator sums its model calls). */
  usage: Usage | undefined;
  /** The node's own `finish.finishReason`; `undefined` when its stream ended without `finish`. */
  finishReason: string | undefined;
  /** The node's stream ended in the abort order. */
  aborted: boolean;
  /** The first `errorText` the node's stream carried. */
  errorText: string | undefined;
}

interface OpenTool {
  toolName: string;
  inputText: string;
  /** `tool-input-start` seen, input not settled yet. */
  inputOpen: boolean;
}

/**
 * A function putting every id of an event (text/reasoning block, tool call, source, approval) under
 * `idPrefix`: an id not starting with `${idPrefix}-` gets that prefix. It copies an event only when
 * an id changes (in practice: tool call ids from the provider).
 *
 * @example
 * const namespace = createIdNamespacer('n1');
 * namespace({ type: 'tool-input-start', toolCallId: 'call_1', toolName: 'get_weather' }).toolCallId // 'n1-call_1'
 */
export function createIdNamespacer(idPrefix: string): (event: VelEvent) => VelEvent {
  const prefix = `${idPrefix}-`;
  const ns = (id: string) => (id.startsWith(prefix) ? id : prefix + id);
  return (event) => {
    switch (event.type) {
      case 'text-start':
      case 'text-delta':
      case 'text-end':
      case 'reasoning-start':
      case 'reasoning-delta':
      case 'reasoning-end':
        return event.id.startsWith(prefix) ? event : { ...event, id: ns(event.id) };
      case 'tool-input-start':
      case 'tool-input-delta':
      case 'tool-input-available':
      case 'tool-input-error':
      case 'tool-output-available':
      case 'tool-output-error':
      case 'tool-output-denied':
        return event.toolCallId.startsWith(prefix) ? event : { ...event, toolCallId: ns(event.toolCallId) };
      case 'tool-approval-request':
        return { ...event, approvalId: ns(event.approvalId), toolCallId: ns(event.toolCallId) };
      case 'source-url':
      case 'source-document':
        return event.sourceId.startsWith(prefix) ? event : { ...event, sourceId: ns(event.sourceId) };
      default:
        return event;
    }
  };
}

/** Block-opening chunks that need a step around them in `atomic-steps` mode. */
const STEP_CONTENT = new Set(['text-start', 'reasoning-start', 'tool-input-start']);

/**
 * Filters one node's Vel stream into the graph stream. Feed it every event of the node with
 * {@link NodeStreamFilter.accept}; it calls `emit` for what goes out (synchronously, so a flushed step
 * is contiguous), then {@link NodeStreamFilter.close} once the node's stream is over.
 */
export class NodeStreamFilter {
  readonly #mode: InterleaveMode;
  readonly #emit: (event: VelEvent) => void;
  #step: VelEvent[] | undefined;
  readonly #openText = new Set<string>();
  readonly #openReasoning = new Set<string>();
  readonly #tools = new Map<string, OpenTool>();
  /** Tools whose input is available and whose output has not arrived (executed tools owe one). */
  readonly #awaitingOutput = new Set<string>();
  #closed = false;
  readonly outcome: NodeStreamOutcome = { usage: undefined, finishReason: undefined, aborted: false, errorText: undefined };

  /**
   * @param mode how steps are kept from nesting, see {@link InterleaveMode}
   * @param emit receives each event for the graph stream, in order
   */
  constructor(mode: InterleaveMode, emit: (event: VelEvent) => void) {
    this.#mode = mode;
    this.#emit = emit;
  }

  /** True when the node's stream carried an `error` chunk or finished with reason `error`. */
  get failed(): boolean {
    return this.outcome.errorText !== undefined || this.outcome.finishReason === 'error';
  }

  /** Tracks what is open, so {@link NodeStreamFilter.close} can close it. */
  #track(event: VelEvent): void {
    switch (event.type) {
      case 'text-start':
        this.#openText.add(event.id);
        break;
      case 'text-end':
        this.#openText.delete(event.id);
        break;
      case 'reasoning-start':
        this.#openReasoning.add(event.id);
        break;
      case 'reasoning-end':
        this.#openReasoning.delete(event.id);
        break;
      case 'tool-input-start':
        this.#tools.set(event.toolCallId, { toolName: event.toolName, inputText: '', inputOpen: true });
        break;
      case 'tool-input-delta': {
        const tool = this.#tools.get(event.toolCallId);
        if (tool) tool.inputText += event.inputTextDelta;
        break;
      }
      case 'tool-input-available':
        this.#tools.delete(event.toolCallId);
        this.#awaitingOutput.add(event.toolCallId);
        break;
      case 'tool-input-error':
        this.#tools.delete(event.toolCallId);
        break;
      case 'tool-output-available':
      case 'tool-output-error':
      case 'tool-output-denied':
        this.#awaitingOutput.delete(event.toolCallId);
        break;
    }
  }

  #out(event: VelEvent): void {
    this.#track(event);
    if (this.#step) this.#step.push(event);
    else if (this.#mode === 'atomic-steps' && STEP_CONTENT.has(event.type)) {
      // A block outside any step of its node: give it a step of its own, so it cannot be open
      // while another node's step ends.
      this.#step = [{ type: 'start-step' }, event];
    } else this.#emit(event);
  }

  #flushStep(): void {
    const step = this.#step;
    if (!step) return;
    this.#step = undefined;
    step.push({ type: 'finish-step' });
    for (const event of step) this.#emit(event);
  }

  /** Takes one event of the node's stream. Never throws. */
  accept(event: VelEvent): void {
    if (this.#closed) return;
    switch (event.type) {
      case 'start':
        return;
      case 'finish': {
        this.outcome.finishReason = event.finishReason;
        const metadata = event.messageMetadata as { usage?: Usage } | undefined;
        if (metadata?.usage) this.outcome.usage = metadata.usage;
        return;
      }
      case 'abort':
        this.outcome.aborted = true;
        return;
      case 'start-step':
        if (this.#mode === 'atomic-steps' && !this.#step) this.#step = [event];
        return;
      case 'finish-step':
        if (this.#mode === 'atomic-steps') this.#flushStep();
        return;
      case 'error':
        this.outcome.errorText ??= event.errorText;
        this.#out(event);
        return;
      default:
        this.#out(event);
    }
  }

  /**
   * Ends the node's part of the graph stream: closes open text and reasoning blocks, fails tool
   * inputs that never completed, on `abort` fails tools still owing an output (the abort order),
   * and ends a buffered step. A node whose stream closed everything itself gets nothing extra.
   */
  close(kind: 'end' | 'abort', reason = 'aborted'): void {
    if (this.#closed) return;
    for (const id of this.#openText) this.#out({ type: 'text-end', id });
    for (const id of this.#openReasoning) this.#out({ type: 'reasoning-end', id });
    for (const [toolCallId, tool] of this.#tools) {
      if (tool.inputOpen) {
        this.#out({ type: 'tool-input-error', toolCallId, toolName: tool.toolName, input: tool.inputText, errorText: 'the node ended before the tool input was complete' });
      }
    }
    if (kind === 'abort') for (const toolCallId of this.#awaitingOutput) this.#out({ type: 'tool-output-error', toolCallId, errorText: `aborted: ${reason}` });
    this.#flushStep();
    this.#closed = true;
  }
}
