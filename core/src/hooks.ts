// Why this file exists: the whole extension surface of Sluice in one place (webpack's `this.hooks`).
// A reader learns every hook, when it fires and what a tap may return from this file alone.
import { AsyncParallelHook, AsyncSeriesBailHook, AsyncSeriesHook, AsyncSeriesWaterfallHook, SyncHook } from 'tapable';
import type { Allow, Decision, Denial, ModelCall, Outcome, StreamEvent } from './model-call.ts';

/** The hooks of one pipeline. Tap them in a plugin's `apply(hooks)`; order taps with `stage` (lower first). */
export interface SluiceHooks {
  /**
   * Before authorization. Shape the call (model, estimate, attributes); wait for capacity here
   * (a concurrency limiter holds its slot from here until `onReport`). Return the call.
   * A throw fails the call closed (`SluicePluginError`); throwing `ExecutionDeniedError` denies it.
   */
  readonly beforePrepare: AsyncSeriesWaterfallHook<[ModelCall]>;
  /**
   * Authorization. The first tap that returns a {@link Decision} wins; no answer = allow as-is.
   * A throw fails the call closed. The model endpoint is not contacted before this settles.
   */
  readonly prepare: AsyncSeriesBailHook<[ModelCall], Decision | undefined>;
  /** The call was allowed; relay settings, if any, are on the {@link Allow}. A throw fails the call closed. */
  readonly onAllow: AsyncSeriesHook<[ModelCall, Allow]>;
  /** The call was denied or blocked; `onReport(denied)` follows. Errors are isolated. */
  readonly onDeny: AsyncSeriesHook<[ModelCall, Denial]>;
  /**
   * Once per native stream event, in order, synchronously on the hot path: no awaits, no
   * re-parsing. The Vel plugin taps first (negative stage) and fills `event.vel`. Errors are isolated.
   */
  readonly onEvent: SyncHook<[ModelCall, StreamEvent]>;
  /**
   * Exactly once per call, whatever happened: completed, failed, aborted or denied. Release here
   * whatever `beforePrepare` acquired. Taps run in parallel; errors are isolated.
   */
  readonly onReport: AsyncParallelHook<[ModelCall, Outcome]>;
}

/** Which hooks fail the call closed on a tap error; the others hand the error to `onPluginError`. */
export const FAIL_CLOSED_HOOKS = ['beforePrepare', 'prepare', 'onAllow'] as const;

/** Creates a fresh, unfrozen-tap set of hooks (the object itself is frozen). */
export function createHooks(): SluiceHooks {
  return Object.freeze({
    beforePrepare: new AsyncSeriesWaterfallHook<[ModelCall]>(['call'], 'beforePrepare'),
    prepare: new AsyncSeriesBailHook<[ModelCall], Decision | undefined>(['call'], 'prepare'),
    onAllow: new AsyncSeriesHook<[ModelCall, Allow]>(['call', 'allow'], 'onAllow'),
    onDeny: new AsyncSeriesHook<[ModelCall, Denial]>(['call', 'denial'], 'onDeny'),
    onEvent: new SyncHook<[ModelCall, StreamEvent]>(['call', 'event'], 'onEvent'),
    onReport: new AsyncParallelHook<[ModelCall, Outcome]>(['call', 'outcome'], 'onReport'),
  });
}
