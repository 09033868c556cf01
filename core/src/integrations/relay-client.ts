// Why this file exists: the Agents and openai integrations send every call with an `openai` client
// made the same way: a copy of the app's client (or a relay client built from an Allow's relay
// settings: the relay's base URL and single-use key, no SDK-level retries) whose requests are bound
// to the call's own abort controller instead of the SDK's `AbortSignal.any` and abort listeners.
import OpenAI, { APIUserAbortError, OpenAIError } from 'openai';
import { callControllerOf } from '../call-abort.ts';
import { SluiceConfigError } from '../errors.ts';
import type { RelaySettings } from '../model-call.ts';

type FetchWithTimeout = OpenAI['fetchWithTimeout'];
/** The SDK's hook for rewriting a request's options (protected in its types; meant for overriding). */
type PrepareOptions = (this: OpenAI, options: Parameters<OpenAI['buildRequest']>[0]) => Promise<void>;

/**
 * Makes `client` — a copy only Sluice sends with, every request carrying one call's `call.signal` —
 * abort its requests from the call's own controller (bound per request, see `call-abort.ts`; a
 * signal that is not a call's gets one listener). Given a caller signal, the SDK otherwise
 * composes it with each request's controller by `AbortSignal.any` (two weak references and a
 * finalization registration per request, and a composite `aborted` check — several per stream
 * chunk — that walks its sources): 4–5 µs and 1.2–1.5 KB per call, 0.3–0.6 µs per chunk. The SDK keeps
 * that weak bookkeeping so a long-lived caller signal does not hold finished requests; a call's
 * signal lives exactly as long as its call, so a direct binding holds nothing longer. The SDK
 * supports this override: with its own `fetchWithTimeout` replaced it gives the request a plain
 * controller and leaves the caller's signal to the override.
 */
function linkCallSignals(client: OpenAI): OpenAI {
  const inherited: FetchWithTimeout = client.fetchWithTimeout;
  const fetchWithTimeout: FetchWithTimeout = function (this: OpenAI, url, init, ms, controller) {
    const signal = init?.signal;
    if (!signal) return inherited.call(this, url, init, ms, controller);
    // The reason goes along, as the composite signal would carry it: the SDK ends a stream quietly
    // when its body fails with its own signal's reason.
    if (signal.aborted) controller.abort(signal.reason);
    else {
      // A call's signal: its controller aborts the request itself. Any other signal: a listener.
      const call = callControllerOf(signal);
      if (call) call.bindRequest(controller);
      else signal.addEventListener('abort', () => controller.abort(signal.reason), { once: true });
    }
    // A copy without the signal (the SDK's own method would listen to it): a spread, which V8
    // clones fast, where rest destructuring copies key by key.
    return inherited.call(this, url, { ...init, signal: undefined }, ms, controller);
  };
  Object.defineProperty(client, 'fetchWithTimeout', { value: fetchWithTimeout, configurable: true, writable: true });
  // With workload identity the call's signal stays the request's signal: X.509 federation refuses
  // a signal in fetch options (and takes over the request's controller itself).
  if ((client as unknown as { _options: { workloadIdentity?: unknown } })._options.workloadIdentity !== undefined) return client;
  const prepare = client as unknown as { prepareOptions: PrepareOptions };
  const inheritedPrepare = prepare.prepareOptions;
  // A call's signal rides to `fetchWithTimeout` in the fetch options, not as the request's
  // `signal`: given a caller signal, the SDK also adds an abort listener to it while it reads every
  // non-streamed body (and removes it after): Node's `addEventListener`, ~0.5 KB and ~1.8 µs per
  // call. Its controller aborts the request, which fails the body read; the integrations turn that
  // failure into the SDK's own `APIUserAbortError` (see `callAbortError`), as the listener would.
  // Before sending, the SDK still checks the request's signal (now the call's) and throws its abort error.
  const prepareOptions: PrepareOptions = function (this: OpenAI, options) {
    const signal = options.signal;
    if (signal && callControllerOf(signal)) {
      // The SDK's types leave `signal` out of fetch options; at run time they are spread over the
      // request's init last, so the call's signal is the init's (what `fetchWithTimeout` reads).
      options.fetchOptions = { ...options.fetchOptions, signal } as typeof options.fetchOptions;
      options.signal = undefined;
    }
    return inheritedPrepare.call(this, options);
  };
  Object.defineProperty(client, 'prepareOptions', { value: prepareOptions, configurable: true, writable: true });
  return client;
}

/**
 * What a request of an aborted call rejects with, as the bare SDK would: a failure that is not the
 * SDK's own (the body read cut by the call's controller, with the abort's reason) becomes
 * `APIUserAbortError`, which the SDK throws when a caller's signal aborts a request at any point.
 */
export function callAbortError(error: unknown, signal: AbortSignal): unknown {
  return signal.aborted && !(error instanceof OpenAIError) ? new APIUserAbortError() : error;
}

/**
 * The client Sluice sends calls with when no relay applies: a copy of `client` (its fetch, timeout,
 * retries, headers) whose requests are tied to the call's signal (see `linkCallSignals`). The
 * app's own client is not changed.
 */
export function sendingClient(client: OpenAI): OpenAI {
  return linkCallSignals(client.withOptions({}));
}

/**
 * The client to send one call with: derived from `base` (keeping its fetch, timeout, headers) with
 * the relay's URL and key, or `base` itself — a {@link sendingClient} — when there is no relay.
 */
export function openAIClientFor(base: OpenAI | undefined, relay: RelaySettings | undefined): OpenAI {
  if (!relay) {
    if (!base) {
      throw new SluiceConfigError(
        'client',
        'no plugin supplied relay settings for this call and no default client was configured; pass `client: new OpenAI(...)` or register an authorizing plugin',
      );
    }
    return base;
  }
  const options = {
    baseURL: relay.baseURL,
    apiKey: relay.apiKey,
    // A relay key is valid once: an SDK retry would be refused. A retry is a new pipeline call.
    maxRetries: 0,
    ...(relay.headers ? { defaultHeaders: relay.headers } : {}),
  };
  return linkCallSignals(base ? base.withOptions(options) : new OpenAI(options));
}
