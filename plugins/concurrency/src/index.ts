// Why this file exists: the public surface of @sluice/plugin-concurrency (the Redis limiter is the
// `@sluice/plugin-concurrency/redis` subpath, so apps without Redis never load ioredis).
export { concurrency, CONCURRENCY_PLUGIN_NAME } from './concurrency-plugin.ts';
export type { ConcurrencyOptions, ConcurrencyPlugin } from './concurrency-plugin.ts';
export { CONCURRENCY_STAGE, QUEUE_WAIT_MS_ATTRIBUTE } from './plugin-contract.ts';
export type { ConcurrencyStats, KeyStats } from './plugin-contract.ts';
export { NO_TENANT_KEY, defaultKey, defaultPriority } from './limits.ts';
export type { ConcurrencyLimit, LimitKind, LimitOptions } from './limits.ts';
export { ConcurrencyClosedError, QUEUE_FULL, QUEUE_TIMEOUT } from './errors.ts';
