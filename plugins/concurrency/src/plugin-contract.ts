// Why this file exists: what both limiters promise the rest of the pipeline — when their
// `beforePrepare` tap runs, where they record the queue wait, what `stats()` returns — in one
// module that loads neither limiter (nor ioredis).

/**
 * The `stage` of the limiters' `beforePrepare` tap: after taps at the default stage 0, so the call
 * is shaped (model, `attributes.priority`) before the limiter reads it, and a span opened at stage 0
 * covers the wait.
 */
export const CONCURRENCY_STAGE = 100;

/** The call attribute that receives the queue wait in milliseconds (read by the OpenTelemetry plugin). */
export const QUEUE_WAIT_MS_ATTRIBUTE = 'sluice.queue.wait_ms';

/** Calls holding or waiting for the slots of one key. */
export interface KeyStats {
  /** Calls holding a slot of this key. */
  running: number;
  /** Calls waiting for a slot of this key. */
  queued: number;
}

/** A snapshot of a limiter. */
export interface ConcurrencyStats {
  /** Calls admitted: holding every slot they need, until their report. */
  running: number;
  /** Calls still waiting for at least one slot (they may hold a more specific one already). */
  queued: number;
  /**
   * Per key (`tenant:t_1`, `model:gpt-4.1-mini`, `global`), for keys that have a queue now.
   * In process, a key is dropped when idle (a rate-limited key once its window has passed).
   */
  keys: Record<string, KeyStats>;
}
