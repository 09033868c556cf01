// Why this file exists: a call's signal must cancel the HTTP request that carries the call, and wake
// whatever waits on the call (a limiter's queue). A listener on the signal per request or per wait
// costs a Listener, a closure and the signal's event bookkeeping (~200–400 bytes per call in flight,
// and Node's `addEventListener` on the hot path). The call's own controller can instead abort the
// request it is bound to and tell its watchers directly: every abort of a call goes through that
// controller (the caller's signal is forwarded to it, `ActiveCall.abort` calls it).

/** Told once when a call aborts (the shape of an `EventListenerObject`, so one object can be both). */
export interface CallAbortWatcher {
  handleEvent(): void;
}

/** A call's AbortController: aborting it also aborts the request bound to it and tells its watchers. */
export class CallAbortController extends AbortController {
  #request: AbortController | undefined;
  /** One watcher as itself (the common case: a call waits in one queue), more as a list. */
  #watchers: CallAbortWatcher | CallAbortWatcher[] | undefined;

  /** Binds the request being sent for this call (a retry's request replaces the one before). */
  bindRequest(request: AbortController): void {
    this.#request = request;
  }

  /** Tells `watcher` when the call aborts; it is kept until the call ends (no removal). */
  watch(watcher: CallAbortWatcher): void {
    const watchers = this.#watchers;
    if (watchers === undefined) this.#watchers = watcher;
    else if (Array.isArray(watchers)) watchers.push(watcher);
    else this.#watchers = [watchers, watcher];
  }

  override abort(reason?: unknown): void {
    super.abort(reason);
    const request = this.#request;
    this.#request = undefined;
    // The reason goes along (the call's signal carries the default one when none was given).
    request?.abort(this.signal.reason);
    const watchers = this.#watchers;
    this.#watchers = undefined;
    if (watchers === undefined) return;
    if (Array.isArray(watchers)) for (const watcher of watchers) notify(watcher);
    else notify(watchers);
  }
}

/** As an event listener's throw: the other watchers still run, the error surfaces uncaught. */
function notify(watcher: CallAbortWatcher): void {
  try {
    watcher.handleEvent();
  } catch (error) {
    queueMicrotask(() => {
      throw error;
    });
  }
}

/**
 * Where a call's signal names its controller: a symbol-keyed own property, which only this module
 * can read (a WeakMap entry per call costs more: ~0.5 µs per call with many calls alive, its
 * ephemerons walked by every GC).
 */
const CALL_CONTROLLER = Symbol('sluice.callController');
type CallSignal = AbortSignal & { [CALL_CONTROLLER]?: CallAbortController };

/**
 * A new call controller whose signal {@link callControllerOf} knows. A plain store under the
 * module's symbol, not `Object.defineProperty` (a runtime call: ~270 ns per call against ~60–85 in
 * a loop); only this module holds the symbol, so nothing else can read or replace it.
 */
export function createCallAbortController(): CallAbortController {
  const controller = new CallAbortController();
  (controller.signal as CallSignal)[CALL_CONTROLLER] = controller;
  return controller;
}

/** The call controller whose signal `signal` is, or undefined for any other signal. */
export function callControllerOf(signal: AbortSignal): CallAbortController | undefined {
  return (signal as CallSignal)[CALL_CONTROLLER];
}

/**
 * Calls `watcher.handleEvent()` once when `signal` aborts (not when it already has: check first).
 * For a call's signal (`call.signal`) the watcher is kept by the call's controller — no event
 * listener, which matters to a plugin holding tens of thousands of waiting calls; for any other
 * signal it is a `once` abort listener. Either way it stays until the signal is dropped: make
 * `handleEvent` a no-op once it no longer matters.
 */
export function onCallAbort(signal: AbortSignal, watcher: CallAbortWatcher): void {
  const controller = callControllerOf(signal);
  if (controller) controller.watch(watcher);
  else signal.addEventListener('abort', watcher, { once: true });
}
