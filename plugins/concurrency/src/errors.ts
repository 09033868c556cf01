// Why this file exists: the refusals a limiter gives (queue full, waited too long) must look the
// same from both limiters and be denials the app can branch on, not plugin failures; one place
// builds them.
import { ExecutionDeniedError } from '@sluice/core';
import { describeLevel, type LimitLevel } from './limits.ts';

/** The reason code of a call refused because too many calls already wait for one of its keys. */
export const QUEUE_FULL = 'queue_full';
/** The reason code of a call refused because it waited longer than `maxWaitMs`. */
export const QUEUE_TIMEOUT = 'queue_timeout';

/** A `blocked` denial: `tenant t_1 queue is full (100 waiting)`. */
export function queueFullError(level: LimitLevel, waiting: number, decidedBy: string): ExecutionDeniedError {
  return new ExecutionDeniedError({
    kind: 'blocked',
    reasonCode: QUEUE_FULL,
    message: `${describeLevel(level)} queue is full (${waiting} waiting)`,
    decidedBy,
  });
}

/** A `blocked` denial: the call waited `maxWaitMs` and still had no slot for `level`. */
export function queueTimeoutError(level: LimitLevel, maxWaitMs: number, decidedBy: string): ExecutionDeniedError {
  return new ExecutionDeniedError({
    kind: 'blocked',
    reasonCode: QUEUE_TIMEOUT,
    message: `no ${describeLevel(level)} slot within maxWaitMs (${maxWaitMs} ms)`,
    decidedBy,
  });
}

/** The limiter was closed (`pipeline.close()`) while the call waited, or before it arrived. */
export class ConcurrencyClosedError extends Error {
  override readonly name = 'ConcurrencyClosedError';
  readonly code = 'SLUICE_CONCURRENCY_CLOSED';

  constructor(plugin: string) {
    super(`the ${plugin} limiter is closed; no new model calls are admitted`);
  }
}
