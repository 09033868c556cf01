// Why this file exists: an integration drives one model call through the pipeline with this
// handle — events in, exactly one settlement out — so the exactly-once rule lives in one class
// rather than in every integration.
import { toCallError } from './call-error.ts';
import type { SluiceHooks } from './hooks.ts';
import { hookInUse } from './tap-guards.ts';
import type { Allow, ModelCall, Outcome, StreamEvent, StreamEventSource, VelEvent } from './model-call.ts';
import type { Usage } from './usage.ts';

const NO_VEL: readonly VelEvent[] = Object.freeze([]);

/** What an integration knows when a call completes. */
export interface CompletionInfo {
  usage: Usage | undefined;
  finishReason?: string | undefined;
  responseId?: string | undefined;
  responseModel?: string | undefined;
  costUsd?: number | undefined;
  response?: unknown;
}

/**
 * The calls of one pipeline in flight, as a list threaded through the calls themselves: a call links
 * itself in when it is made and out when it settles. A `Set` would do the same with a hash per call,
 * and V8 shrinks a Set's table in a runtime call each time it empties (~75 ns a call in a loop,
 * ~0.5 µs between two SDK requests when calls run one at a time); the links cost two fields.
 */
export class InFlightCalls {
  /** The call made last, whose `#prev` links lead to the first. */
  last: ActiveCall | undefined = undefined;
  size = 0;

  /** The calls in flight now, in the order they were made (a copy: settling one while iterating is safe). */
  toArray(): ActiveCall[] {
    return linkedBefore(this.last);
  }
}

/** `last` and the calls linked before it, first to last (reads the calls' private links: set by {@link ActiveCall}). */
let linkedBefore: (last: ActiveCall | undefined) => ActiveCall[];

/** The pipeline side an active call reports into. */
export interface CallSink {
  readonly hooks: SluiceHooks;
  /** The calls in flight; an active call is in it from its construction until it settles. */
  readonly inFlight: InFlightCalls;
  /** The call settled: it is no longer in flight (called just before its report). */
  callSettled(): void;
  report(call: ModelCall, outcome: Outcome): void;
}

/**
 * An allowed call in flight. Feed it native stream events with {@link ActiveCall.event} and end it
 * with exactly one of {@link ActiveCall.complete}, {@link ActiveCall.fail}, {@link ActiveCall.abort};
 * later settlements are ignored, so integrations can call them from every exit path.
 */
export class ActiveCall {
  readonly call: ModelCall;
  readonly allow: Allow;
  readonly #sink: CallSink;
  /** The sink's `onEvent` hook (the hooks object is frozen): one load per event instead of three. */
  readonly #onEvent: SluiceHooks['onEvent'];
  readonly #source: StreamEventSource;
  readonly #controller: AbortController;
  /** Unlinks the caller's abort signal, when there is one. */
  readonly #unlink: (() => void) | undefined;
  #firstEventAt = 0;
  #settled = false;
  /** Links of the sink's {@link InFlightCalls} while the call is in it. */
  #prev: ActiveCall | undefined;
  #next: ActiveCall | undefined = undefined;

  constructor(
    sink: CallSink,
    call: ModelCall,
    allow: Allow,
    source: StreamEventSource,
    controller: AbortController,
    unlink?: () => void,
  ) {
    this.#sink = sink;
    this.#onEvent = sink.hooks.onEvent;
    this.#controller = controller;
    this.call = call;
    this.allow = allow;
    this.#source = source;
    this.#unlink = unlink;
    const inFlight = sink.inFlight;
    const last = inFlight.last;
    this.#prev = last;
    if (last !== undefined) last.#next = this;
    inFlight.last = this;
    inFlight.size++;
  }

  static {
    linkedBefore = (last) => {
      const calls: ActiveCall[] = [];
      for (let active = last; active !== undefined; active = active.#prev) calls.push(active);
      return calls.reverse();
    };
  }

  /** True once the call has been reported. */
  get settled(): boolean {
    return this.#settled;
  }

  /** Passes one native stream event to `onEvent`. Synchronous; allocates one object when tapped. */
  event(native: unknown): StreamEvent | undefined {
    if (this.#firstEventAt === 0) this.#firstEventAt = performance.now();
    const hook = this.#onEvent;
    if (!hookInUse(hook)) return undefined;
    const event: StreamEvent = { source: this.#source, native, vel: NO_VEL };
    hook.call(this.call, event);
    return event;
  }

  /** Reports `completed`. */
  /**
   * For stream ends: the SDKs end a stream quietly when its request was aborted, so an end after the
   * call's signal aborted is an abort, not a completion. Reports `aborted` then and returns true.
   */
  abortedAtEnd(): boolean {
    if (!this.call.signal.aborted) return false;
    this.abort(abortReason(this.call.signal));
    return true;
  }

  complete(info: CompletionInfo): void {
    if (this.#settled) return;
    const outcome: Outcome = this.#timed({ status: 'completed', usage: info.usage, durationMs: 0 });
    if (info.finishReason !== undefined) outcome.finishReason = info.finishReason;
    if (info.responseId !== undefined) outcome.responseId = info.responseId;
    if (info.responseModel !== undefined) outcome.responseModel = info.responseModel;
    if (info.costUsd !== undefined) outcome.costUsd = info.costUsd;
    if (info.response !== undefined) outcome.response = info.response;
    this.#settle(outcome);
  }

  /** Reports `failed` — or `aborted` when the call's signal was aborted, since that is why it threw. */
  fail(error: unknown): void {
    if (this.#settled) return;
    if (this.call.signal.aborted) return this.abort(abortReason(this.call.signal));
    this.#settle(this.#timed({ status: 'failed', error: toCallError(error), cause: error, durationMs: 0 }));
  }

  /** Reports `aborted` and aborts the call's signal, which cancels the request if it is still open. */
  abort(reason: string): void {
    if (this.#settled) return;
    this.#settle(this.#timed({ status: 'aborted', reason, durationMs: 0 }));
    if (!this.#controller.signal.aborted) this.#controller.abort(new DOMException(reason, 'AbortError'));
  }

  /** Stamps an outcome's timings (written into it, not spread from a second object: this runs once per call). */
  #timed<O extends Outcome>(outcome: O): O {
    const createdAt = this.call.createdAt;
    outcome.durationMs = performance.now() - createdAt;
    if (this.#firstEventAt !== 0) outcome.timeToFirstTokenMs = this.#firstEventAt - createdAt;
    return outcome;
  }

  #settle(outcome: Outcome): void {
    this.#settled = true;
    this.#unlink?.();
    const sink = this.#sink;
    const prev = this.#prev;
    const next = this.#next;
    if (prev !== undefined) prev.#next = next;
    if (next !== undefined) next.#prev = prev;
    else sink.inFlight.last = prev;
    this.#prev = this.#next = undefined;
    sink.inFlight.size--;
    sink.callSettled();
    sink.report(this.call, outcome);
  }
}

/** A readable reason for an aborted signal (its `reason`, or a default). */
export function abortReason(signal: AbortSignal): string {
  const reason: unknown = signal.reason;
  if (reason instanceof Error) return reason.message || reason.name;
  if (typeof reason === 'string' && reason) return reason;
  return 'aborted';
}
