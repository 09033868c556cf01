// Why this file exists: the same limits as the in-process limiter, shared by every process that
// points at one Redis. Slots are leases with a TTL that a running call keeps renewing, so a
// process that crashes gives its slots back within the TTL; waiting calls stand in one line
// across processes (a ticket each) and are woken by a release message, with a bounded backoff
// timer as the safety net for leases that expire without one.
import { Redis } from 'ioredis';
import { SluiceConfigError, type ModelCall, type SluicePlugin } from '@sluice/core';
import { CONCURRENCY_STAGE, QUEUE_WAIT_MS_ATTRIBUTE, type ConcurrencyStats, type KeyStats } from '../plugin-contract.ts';
import { ConcurrencyClosedError, queueFullError } from '../errors.ts';
import {
  LIMIT_OPTION_KEYS,
  levelsOf,
  normalizeLimitOptions,
  priorityOf,
  rejectUnknownKeys,
  type LimitLevel,
  type LimitOptions,
} from '../limits.ts';
import { WaitScope } from '../wait-scope.ts';
import { ACQUIRED, QUEUE_IS_FULL, RATE_LIMITED, SCRIPTS } from './lua-scripts.ts';

/** The plugin's name: the tap name of its hooks and `decidedBy` of its denials. */
export const REDIS_CONCURRENCY_PLUGIN_NAME = 'concurrency-redis';

/** Default key prefix. Processes that share limits must use the same prefix and the same limits. */
export const DEFAULT_REDIS_PREFIX = 'sluice:concurrency:';

/** Default lease TTL: how long the slots of a crashed process stay taken. */
export const DEFAULT_LEASE_TTL_MS = 30_000;

/** The first re-check delay of a waiting call that hears no release; doubled up to the cap. */
const MIN_BACKOFF_MS = 25;
/** The re-check delay never exceeds this (nor a third of the lease TTL, which keeps waiters alive). */
const MAX_BACKOFF_MS = 1_000;

/** Options of {@link redisConcurrency}: the in-process options plus where the shared state lives. */
export interface RedisConcurrencyOptions extends LimitOptions {
  /**
   * An ioredis client (not closed by the plugin; must not use `keyPrefix`), or a Redis URL
   * (`redis://host:6379/0`), for which the plugin creates a client and quits it on close.
   */
  redis: Redis | string;
  /** Prefix of every key and of the release channel. Default `sluice:concurrency:`. */
  prefix?: string;
  /**
   * Lease lifetime in ms (default 30 000): renewed every third of it while the call runs; the
   * slots of a crashed process are free again after at most this long.
   */
  leaseTtlMs?: number;
}

/** {@link ConcurrencyStats} read from Redis (all processes), plus this process's lease health. */
export interface RedisConcurrencyStats extends ConcurrencyStats {
  /** Leases this process found purged when renewing (it stalled longer than the TTL). */
  leasesLost: number;
}

/** The plugin returned by {@link redisConcurrency}. */
export interface RedisConcurrencyPlugin extends SluicePlugin {
  readonly name: typeof REDIS_CONCURRENCY_PLUGIN_NAME;
  /** Slots held and calls waiting across all processes sharing the prefix. */
  stats(): Promise<RedisConcurrencyStats>;
  /**
   * Ends every wait with `ConcurrencyClosedError`, releases this process's leases, stops renewals,
   * unsubscribes, and quits the client if the plugin created it.
   */
  close(): Promise<void>;
}

/** One call known to this process: its leases (renewed, released on report) and where it waits. */
interface CallState {
  readonly id: string;
  readonly held: LimitLevel[];
  admitted: boolean;
  /** The key and line member while the call waits in a line. */
  waiting: { level: LimitLevel; member: string } | undefined;
}

/** A call waiting in this process for a release message of one key. */
interface Waiter {
  /** Release messages heard since the last check. */
  heard: number;
  /** How many releases must happen before a check can succeed (from the last check). */
  gap: number;
  wake: (() => void) | undefined;
}

function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}

/**
 * Limits model calls across processes through Redis: the same global / per-tenant / per-model
 * concurrency, sliding-window rate, priority, `maxQueue`, `maxWaitMs` and abort behaviour as
 * `concurrency()`, with leases that expire when a process dies.
 *
 * @example
 * const limiter = redisConcurrency({ redis: process.env.REDIS_URL!, global: { concurrency: 64 }, perTenant: { concurrency: 4 } });
 * const sluice = createPipeline({ plugins: [limiter, vela({ client })] });
 */
export function redisConcurrency(options: RedisConcurrencyOptions): RedisConcurrencyPlugin {
  if (typeof options !== 'object' || options === null) {
    throw new SluiceConfigError('options', 'expected { redis, prefix?, leaseTtlMs?, global?, perTenant?, perModel?, ... }');
  }
  rejectUnknownKeys(options as unknown as Record<string, unknown>, [...LIMIT_OPTION_KEYS, 'redis', 'prefix', 'leaseTtlMs'], '');
  const { redis: redisOption, prefix = DEFAULT_REDIS_PREFIX, leaseTtlMs = DEFAULT_LEASE_TTL_MS, ...limitOptions } = options;
  const config = normalizeLimitOptions(limitOptions);
  if (typeof prefix !== 'string' || prefix === '') throw new SluiceConfigError('prefix', 'expected a non-empty string');
  if (!Number.isInteger(leaseTtlMs) || leaseTtlMs < 100 || leaseTtlMs > 2_147_483_647) {
    throw new SluiceConfigError('leaseTtlMs', `expected an integer number of milliseconds ≥ 100, got ${String(leaseTtlMs)}`);
  }
  let client: Redis;
  let ownsClient = false;
  if (typeof redisOption === 'string') {
    if (!/^rediss?:\/\//.test(redisOption)) throw new SluiceConfigError('redis', 'expected an ioredis client or a redis:// or rediss:// URL');
    client = new Redis(redisOption, { lazyConnect: true });
    ownsClient = true;
  } else if (redisOption instanceof Redis || (typeof redisOption === 'object' && redisOption !== null && typeof (redisOption as Partial<Redis>).evalsha === 'function' && typeof (redisOption as Partial<Redis>).duplicate === 'function')) {
    client = redisOption;
    if ((client.options as { keyPrefix?: string } | undefined)?.keyPrefix) throw new SluiceConfigError('redis', 'a client with keyPrefix is not supported; use the prefix option instead');
  } else {
    throw new SluiceConfigError('redis', 'expected an ioredis client (new Redis(...)) or a redis:// URL');
  }

  const channel = `${prefix}released`;
  const ticketKey = `${prefix}ticket`;
  const runningKey = `${prefix}calls:running`;
  const queuedKey = `${prefix}calls:queued`;
  const keyOf = (level: LimitLevel, part: 'holders' | 'waiters' | 'alive' | 'starts') => `${prefix}k:${level.name}:${part}`;
  const maxBackoffMs = Math.max(MIN_BACKOFF_MS, Math.min(MAX_BACKOFF_MS, Math.floor(leaseTtlMs / 3)));

  const calls = new Map<string, CallState>();
  const waits = new Set<WaitScope>();
  const admitting = new Set<Promise<unknown>>();
  const waitersByKey = new Map<string, Set<Waiter>>();
  let subscriber: Redis | undefined;
  let subscribed: Promise<void> | undefined;
  let renewTimer: ReturnType<typeof setInterval> | undefined;
  let leasesLost = 0;
  let closed = false;

  const onMessage = (_channel: string, key: string) => {
    const waiters = waitersByKey.get(key);
    if (!waiters) return;
    for (const waiter of waiters) {
      waiter.heard++;
      if (waiter.heard >= waiter.gap) waiter.wake?.();
    }
  };

  /** Subscribes once; a failure only costs latency (waiters still re-check on their timers). */
  const ensureSubscribed = (): Promise<void> => {
    if (!subscribed) {
      subscriber = client.duplicate({ lazyConnect: true });
      subscriber.on('error', () => {
        // Reconnects on its own; meanwhile waiters re-check on their timers.
      });
      subscriber.on('message', onMessage);
      subscribed = subscriber.subscribe(channel).then(
        () => undefined,
        () => undefined,
      );
    }
    return subscribed;
  };

  const renewAll = async (): Promise<void> => {
    await Promise.all(
      [...calls.values()].map(async (state) => {
        if (state.held.length === 0) return;
        try {
          const keys = [runningKey, ...state.held.map((level) => keyOf(level, 'holders'))];
          const lost = Number(await SCRIPTS.renew.run(client, keys, [state.id, leaseTtlMs, state.admitted ? '1' : '0']));
          if (calls.get(state.id) === state) leasesLost += lost; // a release racing the renewal is not a loss
        } catch {
          // Redis unreachable: the next round tries again; past the TTL the slots are given up.
        }
      }),
    );
  };

  const syncRenewTimer = () => {
    if (calls.size > 0 && renewTimer === undefined && !closed) {
      renewTimer = setInterval(() => void renewAll(), Math.max(1, Math.floor(leaseTtlMs / 3)));
      renewTimer.unref();
    } else if ((calls.size === 0 || closed) && renewTimer !== undefined) {
      clearInterval(renewTimer);
      renewTimer = undefined;
    }
  };

  /** Gives back everything the call holds, and its place in line if it was waiting. */
  const release = async (state: CallState): Promise<void> => {
    const held = state.held.splice(0);
    const waiting = state.waiting;
    state.waiting = undefined;
    state.admitted = false;
    if (held.length === 0 && !waiting) {
      await client.zrem(queuedKey, state.id).catch(() => undefined);
      return;
    }
    const keys = [runningKey, queuedKey, ...held.map((level) => keyOf(level, 'holders'))];
    const args: Array<string | number> = [state.id, channel, held.length, waiting?.member ?? '', ...held.map((level) => level.name)];
    if (waiting) {
      keys.push(keyOf(waiting.level, 'waiters'), keyOf(waiting.level, 'alive'));
      args.push(waiting.level.name);
    }
    await SCRIPTS.release.run(client, keys, args);
  };

  const sleep = (waiter: Waiter, ms: number, signal: AbortSignal): Promise<void> =>
    new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        waiter.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener('abort', done, { once: true });
      waiter.wake = done;
      if (signal.aborted || waiter.heard >= waiter.gap) done();
    });

  /** Waits in the line of one key until the call holds a slot of it. */
  const acquire = async (state: CallState, level: LimitLevel, last: boolean, wait: WaitScope, priority: number): Promise<void> => {
    const { concurrency: limit, intervalMs, intervalCap } = level.limit;
    const keys = [keyOf(level, 'holders'), keyOf(level, 'waiters'), keyOf(level, 'alive'), keyOf(level, 'starts'), ticketKey, queuedKey, runningKey];
    const fixedArgs = [
      state.id,
      String(-priority),
      Number.isFinite(limit) ? limit : -1,
      leaseTtlMs,
      intervalMs,
      Number.isFinite(intervalCap) ? intervalCap : 0,
      config.maxQueue ?? -1,
      last ? '1' : '0',
    ];
    const waiter: Waiter = { heard: 0, gap: Infinity, wake: undefined };
    let waiters = waitersByKey.get(level.name);
    if (!waiters) waitersByKey.set(level.name, (waiters = new Set()));
    waiters.add(waiter);
    let backoff = MIN_BACKOFF_MS;
    try {
      for (;;) {
        waiter.heard = 0;
        waiter.gap = Infinity;
        const member = state.waiting?.member ?? '';
        const [status, newMember, extra] = (await SCRIPTS.acquire.run(client, keys, [member, ...fixedArgs])) as [number, string, number];
        if (status === QUEUE_IS_FULL) throw queueFullError(level, extra, REDIS_CONCURRENCY_PLUGIN_NAME);
        if (status === ACQUIRED) {
          state.waiting = undefined;
          state.held.push(level);
          return;
        }
        state.waiting = { level, member: newMember };
        if (wait.aborted) throw wait.failure(level);
        if (!subscribed) {
          // First wait of this process: subscribe, then check again (a release may have come before).
          await ensureSubscribed();
          continue;
        }
        let delay: number;
        if (status === RATE_LIMITED) {
          delay = Math.min(extra, maxBackoffMs);
        } else {
          waiter.gap = extra;
          delay = backoff;
          backoff = Math.min(backoff * 2, maxBackoffMs);
        }
        await sleep(waiter, delay, wait.signal);
        if (wait.aborted) throw wait.failure(level);
        if (waiter.heard >= waiter.gap) backoff = MIN_BACKOFF_MS;
      }
    } finally {
      waiters.delete(waiter);
      if (waiters.size === 0) waitersByKey.delete(level.name);
    }
  };

  const admit = async (call: ModelCall): Promise<ModelCall> => {
    if (closed) throw new ConcurrencyClosedError(REDIS_CONCURRENCY_PLUGIN_NAME);
    const levels = levelsOf(call, config);
    const priority = priorityOf(call, config);
    const startedAt = performance.now();
    const state: CallState = { id: call.id, held: [], admitted: false, waiting: undefined };
    const wait = new WaitScope(call.signal, config.maxWaitMs, REDIS_CONCURRENCY_PLUGIN_NAME);
    waits.add(wait);
    calls.set(call.id, state);
    syncRenewTimer();
    try {
      for (const [index, level] of levels.entries()) {
        if (wait.aborted) throw wait.failure(level);
        await acquire(state, level, index === levels.length - 1, wait, priority);
      }
      if (closed) throw new ConcurrencyClosedError(REDIS_CONCURRENCY_PLUGIN_NAME);
    } catch (error) {
      calls.delete(call.id);
      syncRenewTimer();
      await release(state).catch(() => undefined); // unreachable Redis: the leases expire with their TTL
      throw error;
    } finally {
      wait.end();
      waits.delete(wait);
    }
    state.admitted = true;
    call.attributes[QUEUE_WAIT_MS_ATTRIBUTE] = performance.now() - startedAt;
    return call;
  };

  return {
    name: REDIS_CONCURRENCY_PLUGIN_NAME,
    apply(hooks) {
      hooks.beforePrepare.tapPromise({ name: REDIS_CONCURRENCY_PLUGIN_NAME, stage: CONCURRENCY_STAGE }, (call) => {
        const admission = admit(call);
        admitting.add(admission);
        const forget = () => void admitting.delete(admission);
        admission.then(forget, forget);
        return admission;
      });
      hooks.onReport.tapPromise(REDIS_CONCURRENCY_PLUGIN_NAME, async (call) => {
        const state = calls.get(call.id);
        if (!state) return; // never admitted: denied, failed or aborted before or while waiting
        calls.delete(call.id);
        syncRenewTimer();
        await release(state);
      });
    },
    async stats() {
      const [seconds, micros] = await client.time();
      const now = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
      const pattern = `${escapeGlob(prefix)}k:*`;
      const found = new Set<string>();
      let cursor = '0';
      do {
        const [next, batch] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
        cursor = next;
        for (const key of batch) if (key.endsWith(':holders') || key.endsWith(':alive')) found.add(key);
      } while (cursor !== '0');
      const keyList = [...found].sort();
      const counts = await Promise.all([runningKey, queuedKey, ...keyList].map((key) => client.zcount(key, `(${now}`, '+inf')));
      const keys: Record<string, KeyStats> = {};
      keyList.forEach((key, index) => {
        const count = counts[index + 2] ?? 0;
        if (count === 0) return;
        const holders = key.endsWith(':holders');
        const name = key.slice(prefix.length + 2, key.length - (holders ? ':holders' : ':alive').length);
        const entry = (keys[name] ??= { running: 0, queued: 0 });
        if (holders) entry.running = count;
        else entry.queued = count;
      });
      return { running: counts[0] ?? 0, queued: counts[1] ?? 0, keys, leasesLost };
    },
    async close() {
      if (closed) return;
      closed = true;
      syncRenewTimer();
      for (const wait of waits) wait.close(REDIS_CONCURRENCY_PLUGIN_NAME);
      await Promise.allSettled([...admitting]);
      const states = [...calls.values()];
      calls.clear();
      await Promise.allSettled(states.map((state) => release(state)));
      if (subscriber) {
        await subscriber.unsubscribe(channel).catch(() => undefined);
        await subscriber.quit().catch(() => subscriber?.disconnect());
      }
      if (ownsClient) {
        if (client.status === 'wait') client.disconnect(); // never used: nothing to say goodbye to
        else await client.quit().catch(() => client.disconnect());
      }
    },
  };
}
