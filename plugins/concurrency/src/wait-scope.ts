// Why this file exists: a call leaves its queue for three reasons — the caller aborted, `maxWaitMs`
// passed, the limiter closed — and each must surface differently (abort reason, `queue_timeout`
// denial, closed error). One wait per waiting call carries all three, and this class tells them
// apart afterwards, for both limiters. It is made only for calls that must wait, and stays light
// (it is its own abort watcher; an AbortSignal is built only when asked for): the in-process
// limiter keeps tens of thousands of them when queues are long.
import { onCallAbort } from '@sluice/core';
import { ConcurrencyClosedError, queueTimeoutError } from './errors.ts';
import type { LimitLevel } from './limits.ts';

const TIMED_OUT = Symbol('queue wait timed out');

/**
 * The wait of one call for all its slots. It ends early when the call's signal aborts, when
 * `maxWaitMs` passes, or on {@link WaitScope.close}; {@link WaitScope.end} stops all three, so nothing
 * ends it once the call holds its slots.
 */
export class WaitScope implements EventListenerObject {
  readonly #callSignal: AbortSignal;
  readonly #maxWaitMs: number | undefined;
  readonly #plugin: string;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #aborted = false;
  #ended = false;
  #reason: unknown;
  #controller: AbortController | undefined;

  constructor(callSignal: AbortSignal, maxWaitMs: number | undefined, plugin: string) {
    this.#callSignal = callSignal;
    this.#maxWaitMs = maxWaitMs;
    this.#plugin = plugin;
    if (callSignal.aborted) {
      this.#aborted = true;
      this.#reason = callSignal.reason;
      return;
    }
    // Kept by the call's controller, not as an event listener on its signal (see `onCallAbort`).
    onCallAbort(callSignal, this);
    if (maxWaitMs !== undefined) this.#timer = setTimeout(() => this.#abort(TIMED_OUT), maxWaitMs);
  }

  /** True once the wait must end. */
  get aborted(): boolean {
    return this.#aborted;
  }

  /** Aborts when the wait must end (built on first use). */
  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#aborted) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  /** The call's signal aborted (the EventListener interface: the scope watches itself). */
  handleEvent(): void {
    if (this.#ended) return;
    this.#abort(this.#callSignal.reason);
  }

  /** Ends the wait because the limiter closed. */
  close(plugin: string): void {
    this.#abort(new ConcurrencyClosedError(plugin));
  }

  /**
   * The wait is over (slots held or given up): clear the timer; a later abort of the call is
   * ignored. The scope stays the call's abort watcher, which lives no longer than the call: a
   * removal would cost more per waiting call (Node's `removeEventListener` ~0.5 µs) than it frees.
   */
  end(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#ended = true;
  }

  /** Runs once when the wait must end before {@link WaitScope.end}: subclasses leave their line here. */
  protected onAbort(): void {}

  /**
   * What to throw now that the wait was cut short while waiting for `level`: the call's own abort
   * reason (the pipeline then reports `aborted`), a `queue_timeout` denial, or the closed error.
   */
  failure(level: LimitLevel): unknown {
    if (this.#callSignal.aborted) return this.#callSignal.reason;
    if (this.#reason === TIMED_OUT) return queueTimeoutError(level, this.#maxWaitMs ?? 0, this.#plugin);
    return this.#reason;
  }

  #abort(reason: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    this.#controller?.abort(reason);
    if (!this.#ended) this.onAbort();
  }
}
