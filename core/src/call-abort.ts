// Why this file exists: a call's signal must cancel the HTTP request that carries the call. A
// listener on the signal per request costs a Listener, a closure and the signal's event bookkeeping
// (~200 bytes per call in flight, and Node's `addEventListener` on the hot path). The call's own
// controller can instead abort the request it is bound to directly: every abort of a call goes
// through that controller (the caller's signal is forwarded to it, `ActiveCall.abort` calls it).

/** A call's AbortController: aborting it also aborts the request bound to it, if any. */
export class CallAbortController extends AbortController {
  #request: AbortController | undefined;

  /** Binds the request being sent for this call (a retry's request replaces the one before). */
  bindRequest(request: AbortController): void {
    this.#request = request;
  }

  override abort(reason?: unknown): void {
    super.abort(reason);
    const request = this.#request;
    this.#request = undefined;
    // The reason goes along (the call's signal carries the default one when none was given).
    request?.abort(this.signal.reason);
  }
}

/**
 * Where a call's signal names its controller: a symbol-keyed own property, which only this module
 * can read (a WeakMap entry per call costs more: ~0.5 µs per call with many calls alive, its
 * ephemerons walked by every GC).
 */
const CALL_CONTROLLER = Symbol('sluice.callController');
type CallSignal = AbortSignal & { [CALL_CONTROLLER]?: CallAbortController };

/** A new call controller whose signal {@link callControllerOf} knows. */
export function createCallAbortController(): CallAbortController {
  const controller = new CallAbortController();
  Object.defineProperty(controller.signal, CALL_CONTROLLER, { value: controller });
  return controller;
}

/** The call controller whose signal `signal` is, or undefined for any other signal. */
export function callControllerOf(signal: AbortSignal): CallAbortController | undefined {
  return (signal as CallSignal)[CALL_CONTROLLER];
}
