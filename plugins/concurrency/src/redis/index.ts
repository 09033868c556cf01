// Why this file exists: the public surface of `@sluice/plugin-concurrency/redis` — the limiter
// shared across processes — apart from the root export so only apps that use Redis load ioredis.
export { redisConcurrency, DEFAULT_LEASE_TTL_MS, DEFAULT_REDIS_PREFIX, REDIS_CONCURRENCY_PLUGIN_NAME } from './redis-concurrency.ts';
export type { RedisConcurrencyOptions, RedisConcurrencyPlugin, RedisConcurrencyStats } from './redis-concurrency.ts';
export { CONCURRENCY_STAGE, QUEUE_WAIT_MS_ATTRIBUTE } from '../plugin-contract.ts';
export type { ConcurrencyStats, KeyStats } from '../plugin-contract.ts';
export { NO_TENANT_KEY, defaultKey, defaultPriority } from '../limits.ts';
export type { ConcurrencyLimit, LimitKind, LimitOptions } from '../limits.ts';
export { ConcurrencyClosedError, QUEUE_FULL, QUEUE_TIMEOUT } from '../errors.ts';
