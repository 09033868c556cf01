// Why this file exists: the in-process limiter. Each call waits in `beforePrepare` — before
// authorization, so single-use relay credentials are never handed out to a call that then sits in a
// queue — until it holds a slot of every limit that applies to it, and gives them back in
// `onReport`, which fires exactly once whatever happens to the call.
import PQueue from 'p-queue';
import { SluiceConfigError, type ModelCall, type SluicePlugin } from '@sluice/core';
import { ConcurrencyClosedError, queueFullError } from './errors.ts';
import {
  LIMIT_OPTION_KEYS,
  levelsOf,
  normalizeLimitOptions,
  priorityOf,
  rejectUnknownKeys,
  type LimitLevel,
  type LimitOptions,
  type NormalizedLimit,
} from './limits.ts';
import { CONCURRENCY_STAGE, QUEUE_WAIT_MS_ATTRIBUTE, type ConcurrencyStats, type KeyStats } from './plugin-contract.ts';
import { WaitScope } from './wait-scope.ts';

/** The plugin's name: the tap name of its hooks and `decidedBy` of its denials. */
export const CONCURRENCY_PLUGIN_NAME = 'concurrency';

/** Options of {@link concurrency}. */
export type ConcurrencyOptions = LimitOptions;

/** The plugin returned by {@link concurrency}. */
export interface ConcurrencyPlugin extends SluicePlugin {
  readonly name: typeof CONCURRENCY_PLUGIN_NAME;
  /** Slots held and calls waiting, now. */
  stats(): ConcurrencyStats;
  /** Refuses new calls, ends every wait with `ConcurrencyClosedError` and drops all queues. */
  close(): Promise<void>;
}

/** One key's queue: a p-queue whose tasks are "hold a slot until released". */
interface KeyQueue {
  readonly name: string;
  readonly queue: PQueue;
  readonly limit: NormalizedLimit;
  running: number;
  waiting: number;
  /** Set while an idle rate-limited queue lingers for one window, so its window still counts. */
  retireTimer: ReturnType<typeof setTimeout> | undefined;
}

/** A held slot; `release` is idempotent. */
interface HeldSlot {
  release(): void;
}

/**
 * Limits concurrency, rate and queue length of model calls in this process — globally, per tenant
 * and per model — with one p-queue per key, created when a key is first used and dropped when idle.
 *
 * @example
 * const limiter = concurrency({ global: { concurrency: 32 }, perTenant: { concurrency: 4 }, maxQueue: 100, maxWaitMs: 30_000 });
 * const sluice = createPipeline({ plugins: [limiter, vela({ client })] });
 */
export function concurrency(options: ConcurrencyOptions): ConcurrencyPlugin {
  if (typeof options !== 'object' || options === null) {
    throw new SluiceConfigError('options', 'expected { global?, perTenant?, perModel?, key?, priority?, maxQueue?, maxWaitMs? }');
  }
  rejectUnknownKeys(options as Record<string, unknown>, LIMIT_OPTION_KEYS, '');
  const config = normalizeLimitOptions(options);
  const queues = new Map<string, KeyQueue>();
  /** Admitted calls by id, with the slots they hold. */
  const admitted = new Map<string, HeldSlot[]>();
  const waits = new Set<WaitScope>();
  let closed = false;

  const queueFor = (level: LimitLevel): KeyQueue => {
    let entry = queues.get(level.name);
    if (entry) {
      if (entry.retireTimer !== undefined) clearTimeout(entry.retireTimer);
      entry.retireTimer = undefined;
      return entry;
    }
    const { concurrency: limit, intervalMs, intervalCap } = level.limit;
    const queue = new PQueue(
      intervalMs > 0 ? { concurrency: limit, interval: intervalMs, intervalCap, strict: true } : { concurrency: limit },
    );
    entry = { name: level.name, queue, limit: level.limit, running: 0, waiting: 0, retireTimer: undefined };
    queues.set(level.name, entry);
    return entry;
  };

  /** Drops an idle queue — at once, or after one rate window so calls started in it still count. */
  const retireIfIdle = (entry: KeyQueue): void => {
    if (entry.running > 0 || entry.waiting > 0 || queues.get(entry.name) !== entry) return;
    if (entry.limit.intervalMs === 0) {
      queues.delete(entry.name);
      return;
    }
    if (entry.retireTimer !== undefined) clearTimeout(entry.retireTimer);
    entry.retireTimer = setTimeout(() => {
      entry.retireTimer = undefined;
      if (entry.running === 0 && entry.waiting === 0 && queues.get(entry.name) === entry) queues.delete(entry.name);
    }, entry.limit.intervalMs);
    entry.retireTimer.unref();
  };

  const acquire = async (level: LimitLevel, wait: WaitScope, priority: number): Promise<HeldSlot> => {
    const entry = queueFor(level);
    const { maxQueue } = config;
    if (maxQueue !== undefined && entry.waiting >= maxQueue && (entry.waiting > 0 || entry.running >= entry.limit.concurrency)) {
      retireIfIdle(entry);
      throw queueFullError(level, entry.waiting, CONCURRENCY_PLUGIN_NAME);
    }
    if (wait.signal.aborted) {
      retireIfIdle(entry);
      throw wait.failure(level);
    }
    let releaseHold!: () => void;
    const hold = new Promise<void>((resolve) => (releaseHold = resolve));
    // A signal of this level only: once the slot is held nothing may abort it, or p-queue would free
    // the slot before the call's report.
    const levelAbort = new AbortController();
    let started = false;
    const forward = () => {
      if (!started) levelAbort.abort(wait.signal.reason);
    };
    entry.waiting++;
    wait.signal.addEventListener('abort', forward, { once: true });
    try {
      await new Promise<void>((resolve, reject) => {
        entry.queue
          .add(
            () => {
              started = true;
              entry.waiting--;
              entry.running++;
              resolve();
              return hold;
            },
            { priority, signal: levelAbort.signal },
          )
          .catch((error: unknown) => {
            if (!started) reject(error);
          });
      });
    } catch {
      entry.waiting--;
      retireIfIdle(entry);
      throw wait.failure(level);
    } finally {
      wait.signal.removeEventListener('abort', forward);
    }
    let released = false;
    return {
      release() {
        if (released) return;
        released = true;
        entry.running--;
        releaseHold();
        retireIfIdle(entry);
      },
    };
  };

  const releaseAll = (slots: HeldSlot[]): void => {
    for (let i = slots.length - 1; i >= 0; i--) slots[i]!.release();
  };

  const admit = async (call: ModelCall): Promise<ModelCall> => {
    if (closed) throw new ConcurrencyClosedError(CONCURRENCY_PLUGIN_NAME);
    const levels = levelsOf(call, config);
    const priority = priorityOf(call, config);
    const startedAt = performance.now();
    const wait = new WaitScope(call.signal, config.maxWaitMs, CONCURRENCY_PLUGIN_NAME);
    waits.add(wait);
    const slots: HeldSlot[] = [];
    try {
      for (const level of levels) slots.push(await acquire(level, wait, priority));
    } catch (error) {
      releaseAll(slots);
      throw error;
    } finally {
      wait.end();
      waits.delete(wait);
    }
    if (closed) {
      releaseAll(slots);
      throw new ConcurrencyClosedError(CONCURRENCY_PLUGIN_NAME);
    }
    admitted.set(call.id, slots);
    call.attributes[QUEUE_WAIT_MS_ATTRIBUTE] = performance.now() - startedAt;
    return call;
  };

  return {
    name: CONCURRENCY_PLUGIN_NAME,
    apply(hooks) {
      hooks.beforePrepare.tapPromise({ name: CONCURRENCY_PLUGIN_NAME, stage: CONCURRENCY_STAGE }, admit);
      hooks.onReport.tap(CONCURRENCY_PLUGIN_NAME, (call) => {
        const slots = admitted.get(call.id);
        if (!slots) return; // never admitted: denied, failed or aborted before or while waiting
        admitted.delete(call.id);
        releaseAll(slots);
      });
    },
    stats() {
      const keys: Record<string, KeyStats> = {};
      for (const [name, entry] of queues) keys[name] = { running: entry.running, queued: entry.waiting };
      return { running: admitted.size, queued: waits.size, keys };
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const wait of waits) wait.close(CONCURRENCY_PLUGIN_NAME);
      for (const slots of admitted.values()) releaseAll(slots);
      admitted.clear();
      for (const entry of queues.values()) {
        if (entry.retireTimer !== undefined) clearTimeout(entry.retireTimer);
        entry.queue.clear();
      }
      queues.clear();
    },
  };
}
