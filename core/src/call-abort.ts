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

/** Call controllers by their signal: what an integration's sending client finds from a request's signal. */
const CONTROLLERS = new WeakMap<AbortSignal, CallAbortController>();

/** A new call controller whose signal {@link callControllerOf} knows. */
export function createCallAbortController(): CallAbortController {
  const controller = new CallAbortController();
  CONTROLLERS.set(controller.signal, controller);
  return controller;
}

/** The call controller whose signal `signal` is, or undefined for any other signal. */
export function callControllerOf(signal: AbortSignal): CallAbortController | undefined {
  return CONTROLLERS.get(signal);
}
