// Why this file exists: `createPipeline` owns the hooks, the plugins and the life of every model
// call up to the point where an integration sends the request (authorization, denial, failure
// closed), and keeps the reports in flight so `close()` can wait for them.
import { ActiveCall, abortReason, InFlightCalls, type CallSink } from './active-call.ts';
import { createCallAbortController, type CallAbortController } from './call-abort.ts';
import { newCallId } from './call-id.ts';
import { ExecutionDeniedError, SluiceClosedError, SluiceConfigError, SluicePluginError } from './errors.ts';
import { createHooks, type SluiceHooks } from './hooks.ts';
import { redactSecrets, toCallError } from './call-error.ts';
import type {
  Allow,
  CallSource,
  Denial,
  ModelApi,
  ModelCall,
  ModelSlot,
  Decision,
  Outcome,
  StreamEventSource,
} from './model-call.ts';
import { currentScope, withScope, type ExecutionScope } from './scope.ts';
import { guardFailClosed, guardIsolated, hookInUse, type InterceptableHook } from './tap-guards.ts';

/** A plugin: taps hooks by name in `apply` (the webpack pattern), optionally flushes in `close`. */
export interface SluicePlugin {
  /** Tap name for every hook the plugin taps; named in errors. */
  readonly name: string;
  apply(hooks: SluiceHooks, pipeline: Pipeline): void;
  /** Flush and release what the plugin owns. Called once by `pipeline.close()`, last plugin first. */
  close?(): Promise<void>;
}

/** Options of {@link createPipeline}. */
export interface PipelineOptions {
  plugins?: readonly SluicePlugin[];
  /**
   * Receives errors thrown by taps of isolated hooks (`onEvent`, `onReport`, `onDeny`) and by
   * plugins' `close()`. Default: one line on `console.error` with secrets redacted.
   */
  onPluginError?: (error: SluicePluginError) => void;
}

/** What an integration knows about a call before it is prepared. */
export interface CallInit {
  source: CallSource;
  api: ModelApi;
  stream: boolean;
  model: string;
  slot?: ModelSlot | undefined;
  /** Default: the scope of {@link withScope} around the call. */
  scope?: ExecutionScope | undefined;
  estimatedCostUsd?: number | undefined;
  /** The caller's abort signal. */
  signal?: AbortSignal | null | undefined;
  request?: unknown;
  attributes?: Record<string, unknown>;
}

/** A pipeline: hooks plus plugins, shared by every integration that wraps a model. */
export interface Pipeline {
  readonly hooks: SluiceHooks;
  readonly plugins: readonly SluicePlugin[];
  /** Registers a plugin (an orchestrator may add plugins after creation). */
  use(plugin: SluicePlugin): Pipeline;
  /** Runs `fn` with `scope` as the execution scope of every model call made inside it. */
  withScope<T>(scope: ExecutionScope, fn: () => T): T;
  /**
   * For integrations: runs beforePrepare → prepare → onAllow. Resolves to the allowed call, or
   * rejects with `ExecutionDeniedError` (after onDeny and onReport(denied)), `SluicePluginError`
   * (after onReport(failed)) or the abort reason (after onReport(aborted)).
   */
  startCall(init: CallInit): Promise<ActiveCall>;
  /**
   * {@link Pipeline.startCall} for integrations on a hot path: the allowed call itself when every
   * pre-request hook answered in this turn (no plugin tapped them, or synchronous taps, or a limiter
   * with free slots), otherwise a promise of it. Never throws: every failure is a rejection, after
   * the same reports as `startCall`'s.
   */
  startCallNow(init: CallInit): ActiveCall | Promise<ActiveCall>;
  /** Resolves when every report started so far has been handled by all `onReport` taps. */
  idle(): Promise<void>;
  /**
   * Graceful shutdown: new calls are refused (`SluiceClosedError`), calls in flight get
   * `drainTimeoutMs` (default 10 s) to finish and are then aborted (reported `aborted`), pending
   * reports are awaited, and plugins are closed last-first (flushing their outboxes). Idempotent.
   */
  close(options?: CloseOptions): Promise<void>;
  /** Calls allowed and not yet settled. */
  readonly activeCalls: number;
}

/** Options of {@link Pipeline.close}. */
export interface CloseOptions {
  /** How long calls in flight may take to finish before they are aborted. Default 10,000 ms. */
  drainTimeoutMs?: number;
}

const EVENT_SOURCE: Record<CallSource, Record<ModelApi, StreamEventSource>> = {
  agents: { chat_completions: 'agents.model', responses: 'agents.model' },
  openai: { chat_completions: 'openai.chat', responses: 'openai.responses' },
  'ai-sdk': { chat_completions: 'ai-sdk', responses: 'ai-sdk' },
};

function defaultPluginErrorHandler(error: SluicePluginError): void {
  console.error(`[sluice] ${redactSecrets(error.message)}`);
}

function assertPlugin(plugin: unknown, field: string): asserts plugin is SluicePlugin {
  const p = plugin as Partial<SluicePlugin> | null | undefined;
  if (typeof p !== 'object' || p === null) throw new SluiceConfigError(field, `expected a plugin object { name, apply }, got ${p === null ? 'null' : typeof p}`);
  if (typeof p.name !== 'string' || p.name.length === 0) throw new SluiceConfigError(`${field}.name`, 'expected a non-empty string');
  if (typeof p.apply !== 'function') throw new SluiceConfigError(`${field}.apply`, `expected a function (hooks, pipeline) => void, got ${typeof p.apply}`);
  if (p.close !== undefined && typeof p.close !== 'function') throw new SluiceConfigError(`${field}.close`, 'expected a function or undefined');
}

/**
 * Forwards the caller's abort to the call's controller (at once when it already happened). Returns
 * the unlink to call when the call settles — a closure only when there is a listener to remove (most
 * calls have no caller signal).
 */
function linkCallerSignal(parent: AbortSignal | undefined, controller: AbortController): (() => void) | undefined {
  if (!parent) return undefined;
  if (parent.aborted) {
    controller.abort(parent.reason);
    return undefined;
  }
  const forwardAbort = () => controller.abort(parent.reason);
  parent.addEventListener('abort', forwardAbort, { once: true });
  return () => parent.removeEventListener('abort', forwardAbort);
}

/** A call on the general path between its creation and its allow: what each step hands on. */
interface Starting {
  /** The call as the beforePrepare waterfall last handed it on. */
  call: ModelCall;
  readonly controller: CallAbortController;
  /** Unlinks the caller's abort signal, when there is one. */
  readonly unlink: (() => void) | undefined;
  /** Set once prepare allowed the call. */
  allow?: Allow;
}

function abortError(signal: AbortSignal): unknown {
  return signal.reason instanceof Error ? signal.reason : new DOMException(abortReason(signal), 'AbortError');
}

class SluicePipeline implements Pipeline, CallSink {
  readonly hooks: SluiceHooks = createHooks();
  readonly #plugins: SluicePlugin[] = [];
  readonly #pending = new Set<Promise<void>>();
  readonly inFlight = new InFlightCalls();
  #drained: (() => void) | undefined;
  readonly #onPluginError: (error: SluicePluginError) => void;
  #closing: Promise<void> | undefined;

  constructor(options: PipelineOptions) {
    if (options.onPluginError !== undefined && typeof options.onPluginError !== 'function') {
      throw new SluiceConfigError('onPluginError', `expected a function, got ${typeof options.onPluginError}`);
    }
    this.#onPluginError = options.onPluginError ?? defaultPluginErrorHandler;
    const h = this.hooks as unknown as Record<keyof SluiceHooks, InterceptableHook>;
    guardFailClosed(h.beforePrepare, 'beforePrepare', 1);
    guardFailClosed(h.prepare, 'prepare', 1, { stampDecidedBy: true });
    guardFailClosed(h.onAllow, 'onAllow', 2);
    const onError = (error: SluicePluginError) => this.#onPluginError(error);
    guardIsolated(h.onDeny, 'onDeny', onError);
    guardIsolated(h.onEvent, 'onEvent', onError);
    guardIsolated(h.onReport, 'onReport', onError);
    const plugins = options.plugins ?? [];
    if (!Array.isArray(plugins)) throw new SluiceConfigError('plugins', 'expected an array of plugins');
    plugins.forEach((plugin, index) => this.#register(plugin, `plugins[${index}]`));
  }

  get plugins(): readonly SluicePlugin[] {
    return this.#plugins;
  }

  use(plugin: SluicePlugin): Pipeline {
    this.#register(plugin, 'plugin');
    return this;
  }

  #register(plugin: unknown, field: string): void {
    assertPlugin(plugin, field);
    if (this.#closing) throw new SluiceConfigError(field, `cannot register "${plugin.name}": the pipeline is closed`);
    plugin.apply(this.hooks, this);
    this.#plugins.push(plugin);
  }

  withScope<T>(scope: ExecutionScope, fn: () => T): T {
    return withScope(scope, fn);
  }

  get activeCalls(): number {
    return this.inFlight.size;
  }

  startCall(init: CallInit): Promise<ActiveCall> {
    const started = this.startCallNow(init);
    return started instanceof Promise ? started : Promise.resolve(started);
  }

  startCallNow(init: CallInit): ActiveCall | Promise<ActiveCall> {
    const hooks = this.hooks;
    // No pre-request hook tapped (no plugins, or only stream and report plugins such as Vel): nothing
    // can deny, shape or hold the call, so it is allowed here at once.
    if (this.#closing || hookInUse(hooks.beforePrepare) || hookInUse(hooks.prepare) || hookInUse(hooks.onAllow)) return this.#startGeneral(init);
    const parent = init.signal ?? undefined;
    const source = EVENT_SOURCE[init.source]?.[init.api];
    // An aborted caller signal or a call the integration described wrongly: the general path reports them.
    if (parent?.aborted || source === undefined) return this.#startGeneral(init);
    const controller = createCallAbortController();
    let unlink: (() => void) | undefined;
    try {
      unlink = linkCallerSignal(parent, controller);
      const call = this.#newCall(init, controller.signal);
      const allow: Allow = { outcome: 'allow' };
      call.decision = allow;
      // Nothing ran between the call's creation and its allow.
      call.decidedAt = call.createdAt;
      return new ActiveCall(this, call, allow, source, controller, unlink);
    } catch (error) {
      // Only a caller signal that is not an AbortSignal gets here: a rejection, as from `async`.
      unlink?.();
      return Promise.reject(error);
    }
  }

  #newCall(init: CallInit, signal: AbortSignal): ModelCall {
    return {
      id: newCallId(),
      source: init.source,
      api: init.api,
      stream: init.stream,
      model: init.model,
      slot: init.slot,
      scope: init.scope ?? currentScope(),
      estimatedCostUsd: init.estimatedCostUsd,
      signal,
      attributes: init.attributes ?? {},
      request: init.request,
      createdAt: performance.now(),
      decision: undefined,
      decidedAt: undefined,
    };
  }

  /**
   * The general path: beforePrepare → prepare → onAllow, any of which may answer later, deny or
   * fail. Written as steps rather than one async function: while every hook answers in this turn
   * (synchronous taps, a limiter with free slots) the call is allowed here with no promise and no
   * async frame; a hook that answers later continues from its step. A call waiting in a queue keeps
   * a continuation, not a suspended async function (a generator and its register file, ~320 bytes).
   * Every step catches its own failure, so a failure is always a rejection after its report.
   */
  #startGeneral(init: CallInit): ActiveCall | Promise<ActiveCall> {
    if (this.#closing) return Promise.reject(new SluiceClosedError());
    const controller = createCallAbortController();
    let starting: Starting;
    try {
      starting = { call: this.#newCall(init, controller.signal), controller, unlink: linkCallerSignal(init.signal ?? undefined, controller) };
    } catch (error) {
      // Only a caller signal that is not an AbortSignal gets here: nothing was linked or reported.
      return Promise.reject(error);
    }
    return this.#beforePrepare(starting);
  }

  /**
   * Runs one pre-request hook through `callAsync` (`start` passes it the callback) and continues
   * with `next(starting, answer)`: in this turn when every tap answers in it — synchronous taps,
   * callback taps that call back at once, as the limiter does for a call with free slots — with no
   * promise; otherwise the call's promise, resolved by the hook's callback with what `next` makes
   * of the answer (a waiting call holds that one promise and its callback, no promise chain).
   */
  #runHook<R>(
    starting: Starting,
    start: (done: (error: unknown, result?: R) => void) => void,
    next: (this: SluicePipeline, starting: Starting, answer: R) => ActiveCall | Promise<ActiveCall>,
  ): ActiveCall | Promise<ActiveCall> {
    let answered = false;
    let failure: unknown;
    let value: R | undefined;
    let resolveLater: ((result: ActiveCall | Promise<ActiveCall>) => void) | undefined;
    start((error, result) => {
      if (answered) return; // a tap that calls back twice: the first answer stands
      answered = true;
      if (resolveLater === undefined) {
        failure = error;
        value = result;
      } else {
        resolveLater(error ? this.#failed(starting, error) : next.call(this, starting, result as R));
      }
    });
    if (answered) return failure ? this.#failed(starting, failure) : next.call(this, starting, value as R);
    return new Promise<ActiveCall>((resolve) => (resolveLater = resolve));
  }

  #beforePrepare(starting: Starting): ActiveCall | Promise<ActiveCall> {
    try {
      const { call } = starting;
      if (call.signal.aborted) throw abortError(call.signal);
      const hook = this.hooks.beforePrepare;
      if (!hookInUse(hook)) return this.#prepare(starting);
      return this.#runHook(starting, (done) => hook.callAsync(call, done), this.#shaped);
    } catch (error) {
      return this.#failed(starting, error);
    }
  }

  /** A waterfall tap may hand on a reshaped call; later steps and the report see that one. */
  #shaped(starting: Starting, shaped: ModelCall): ActiveCall | Promise<ActiveCall> {
    if (typeof shaped === 'object' && shaped !== null) starting.call = shaped;
    return this.#prepare(starting);
  }

  #prepare(starting: Starting): ActiveCall | Promise<ActiveCall> {
    try {
      const { call } = starting;
      if (call.signal.aborted) throw abortError(call.signal);
      const hook = this.hooks.prepare;
      if (!hookInUse(hook)) return this.#decided(starting, undefined);
      return this.#runHook(starting, (done) => hook.callAsync(call, done), this.#decided);
    } catch (error) {
      return this.#failed(starting, error);
    }
  }

  #decided(starting: Starting, decision: Decision | undefined): ActiveCall | Promise<ActiveCall> {
    try {
      const { call } = starting;
      if (decision !== undefined && decision.outcome !== 'allow') {
        call.decision = decision;
        call.decidedAt = performance.now();
        throw new ExecutionDeniedError({
          kind: decision.outcome,
          reasonCode: decision.code,
          message: decision.message,
          executionId: decision.executionId,
          retryAfterMs: decision.retryAfterMs,
          decidedBy: decision.decidedBy,
        });
      }
      const allow: Allow = decision ?? { outcome: 'allow' };
      call.decision = allow;
      call.decidedAt = performance.now();
      starting.allow = allow;
      if (call.signal.aborted) throw abortError(call.signal);
      const hook = this.hooks.onAllow;
      if (!hookInUse(hook)) return this.#allowed(starting);
      return this.#runHook(starting, (done) => hook.callAsync(call, allow, done), this.#allowed);
    } catch (error) {
      return this.#failed(starting, error);
    }
  }

  #allowed(starting: Starting): ActiveCall | Promise<ActiveCall> {
    try {
      const { call } = starting;
      if (call.signal.aborted) throw abortError(call.signal);
      return new ActiveCall(this, call, starting.allow!, EVENT_SOURCE[call.source][call.api], starting.controller, starting.unlink);
    } catch (error) {
      return this.#failed(starting, error);
    }
  }

  /** Reports a call that was not allowed — denied, aborted or failed — and rejects with why. */
  async #failed(starting: Starting, error: unknown): Promise<never> {
    const { call } = starting;
    const hooks = this.hooks;
    starting.unlink?.();
    const timings = { durationMs: performance.now() - call.createdAt };
    if (error instanceof ExecutionDeniedError) {
      const denial = denialFrom(call, error);
      if (denial !== call.decision) {
        // Thrown rather than answered by prepare (a full queue, an onAllow tap): decided now.
        call.decision = denial;
        call.decidedAt = performance.now();
      }
      if (hookInUse(hooks.onDeny)) await hooks.onDeny.promise(call, denial);
      this.report(call, { status: 'denied', denial, ...timings });
    } else if (call.signal.aborted) {
      this.report(call, { status: 'aborted', reason: abortReason(call.signal), ...timings });
      throw abortError(call.signal);
    } else {
      this.report(call, { status: 'failed', error: toCallError(error), cause: error, ...timings });
    }
    throw error;
  }

  callSettled(): void {
    if (this.inFlight.size === 0) this.#drained?.();
  }

  report(call: ModelCall, outcome: Outcome): void {
    if (!hookInUse(this.hooks.onReport)) return;
    // callAsync, not promise(): when every onReport tap is synchronous (the limiters, OTel) the hook
    // finishes inside this call and no promise is made; only a report still running is tracked.
    let finish: (() => void) | undefined;
    let finished = false;
    this.hooks.onReport.callAsync(call, outcome, (error) => {
      finished = true;
      if (error) this.#onPluginError(error instanceof SluicePluginError ? error : new SluicePluginError('sluice', 'onReport', error));
      finish?.();
    });
    if (finished) return;
    const done = new Promise<void>((resolve) => (finish = resolve)).finally(() => this.#pending.delete(done));
    this.#pending.add(done);
  }

  async idle(): Promise<void> {
    while (this.#pending.size > 0) await Promise.all(this.#pending);
  }

  close(options: CloseOptions = {}): Promise<void> {
    this.#closing ??= (async () => {
      await this.#drain(options.drainTimeoutMs ?? 10_000);
      await this.idle();
      for (const plugin of [...this.#plugins].reverse()) {
        try {
          await plugin.close?.();
        } catch (error) {
          this.#onPluginError(new SluicePluginError(plugin.name, 'close', error));
        }
      }
    })();
    return this.#closing;
  }

  /** Waits until no call is in flight or the timeout passes, then aborts what is left. */
  async #drain(timeoutMs: number): Promise<void> {
    if (this.inFlight.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        new Promise<void>((resolve) => (this.#drained = resolve)),
        new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs))),
      ]);
      clearTimeout(timer);
    }
    for (const active of this.inFlight.toArray()) active.abort('the pipeline is shutting down');
  }
}

function denialFrom(call: ModelCall, error: ExecutionDeniedError): Denial {
  const existing = call.decision;
  if (existing && existing.outcome !== 'allow') return existing;
  const denial: Denial = { outcome: error.kind, code: error.reasonCode, message: error.reasonMessage };
  if (error.executionId !== undefined) denial.executionId = error.executionId;
  if (error.retryAfterMs !== undefined) denial.retryAfterMs = error.retryAfterMs;
  if (error.decidedBy !== undefined) denial.decidedBy = error.decidedBy;
  return denial;
}

/**
 * Creates a pipeline with its plugins applied in order.
 *
 * @example
 * const sluice = createPipeline({ plugins: [vela({ client }), vel(), otel()] });
 */
export function createPipeline(options: PipelineOptions = {}): Pipeline {
  return new SluicePipeline(options);
}
