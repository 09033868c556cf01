// Why this file exists: a call leaves its queue for three reasons — the caller aborted, `maxWaitMs`
// passed, the limiter closed — and each must surface differently (abort reason, `queue_timeout`
// denial, closed error). One signal per waiting call carries all three, and this class tells them
// apart afterwards, for both limiters.
import { ConcurrencyClosedError, queueTimeoutError } from './errors.ts';
import type { LimitLevel } from './limits.ts';

const TIMED_OUT = Symbol('queue wait timed out');

/**
 * The wait of one call for all its slots. `signal` aborts when the call's signal aborts, when
 * `maxWaitMs` passes, or on {@link WaitScope.close}; {@link WaitScope.end} stops all three, so nothing
 * aborts it once the call holds its slots.
 */
export class WaitScope {
  readonly #controller = new AbortController();
  readonly #callSignal: AbortSignal;
  readonly #maxWaitMs: number | undefined;
  readonly #plugin: string;
  #timer: ReturnType<typeof setTimeout> | undefined;
  readonly #onCallAbort = () => this.#controller.abort(this.#callSignal.reason);

  constructor(callSignal: AbortSignal, maxWaitMs: number | undefined, plugin: string) {
    this.#callSignal = callSignal;
    this.#maxWaitMs = maxWaitMs;
    this.#plugin = plugin;
    if (callSignal.aborted) this.#controller.abort(callSignal.reason);
    else callSignal.addEventListener('abort', this.#onCallAbort, { once: true });
    if (maxWaitMs !== undefined && !this.#controller.signal.aborted) {
      this.#timer = setTimeout(() => this.#controller.abort(TIMED_OUT), maxWaitMs);
    }
  }

  /** Aborts when the wait must end. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** Ends the wait because the limiter closed. */
  close(plugin: string): void {
    this.#controller.abort(new ConcurrencyClosedError(plugin));
  }

  /** The wait is over (slots held or given up): stop listening and clear the timer. */
  end(): void {
    this.#callSignal.removeEventListener('abort', this.#onCallAbort);
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /**
   * What to throw now that the wait was cut short while waiting for `level`: the call's own abort
   * reason (the pipeline then reports `aborted`), a `queue_timeout` denial, or the closed error.
   */
  failure(level: LimitLevel): unknown {
    if (this.#callSignal.aborted) return this.#callSignal.reason;
    const reason: unknown = this.#controller.signal.reason;
    if (reason === TIMED_OUT) return queueTimeoutError(level, this.#maxWaitMs ?? 0, this.#plugin);
    return reason;
  }
}
