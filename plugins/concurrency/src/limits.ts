// Why this file exists: the in-process limiter and the Redis limiter take the same limits and the
// same per-call questions (which tenant, which priority), and must answer them identically — so
// option validation and "which limits apply to this call, in which order" live here, once.
import { SluiceConfigError, type ModelCall } from '@sluice/core';

/**
 * One limit: at most `concurrency` calls at a time and, with `intervalMs` and `intervalCap`, at most
 * `intervalCap` calls started in any `intervalMs` window (a sliding window).
 */
export interface ConcurrencyLimit {
  /** Calls holding a slot at the same time: a positive integer, or `Infinity` for a rate-only limit. */
  concurrency: number;
  /** Length of the rate window in milliseconds. Give it together with `intervalCap`. */
  intervalMs?: number;
  /** Calls that may start per `intervalMs`. Give it together with `intervalMs`. */
  intervalCap?: number;
}

/** The options both limiters share. At least one of `global`, `perTenant`, `perModel` is required. */
export interface LimitOptions {
  /** One limit over every call. */
  global?: ConcurrencyLimit;
  /** A limit per tenant key (see `key`); every tenant gets its own. */
  perTenant?: ConcurrencyLimit;
  /** A limit per requested model (`call.model`); every model gets its own. */
  perModel?: ConcurrencyLimit;
  /**
   * The tenant key of a call. Default: `call.scope?.customerTenantId`. Calls without one share
   * the key `'(no tenant)'`.
   */
  key?: (call: ModelCall) => string | undefined;
  /**
   * Higher runs first; equal priorities keep arrival order. Must return a finite
   * number. Default: `call.attributes.priority` when it is a finite number, else 0.
   */
  priority?: (call: ModelCall) => number;
  /**
   * When this many calls already wait for the same key, a call that would have to wait is refused at
   * once with `ExecutionDeniedError` (kind `blocked`, reason `queue_full`). Default: unbounded.
   */
  maxQueue?: number;
  /** A call that waits longer than this (for all its limits together) is refused with `queue_timeout`. */
  maxWaitMs?: number;
}

/** The key calls without a tenant share. */
export const NO_TENANT_KEY = '(no tenant)';

/** Which limit a level belongs to. */
export type LimitKind = 'tenant' | 'model' | 'global';

/** A validated limit. `concurrency` is `Infinity` when only the rate is limited. */
export interface NormalizedLimit {
  concurrency: number;
  /** 0 when there is no rate limit. */
  intervalMs: number;
  /** `Infinity` when there is no rate limit. */
  intervalCap: number;
}

/** One limit as it applies to one call: tenant `t_1`, model `gpt-4.1-mini`, or the global one. */
export interface LimitLevel {
  kind: LimitKind;
  /** The tenant key or model name; `''` for the global level. */
  value: string;
  /** The stats key: `tenant:t_1`, `model:gpt-4.1-mini`, `global`. */
  name: string;
  limit: NormalizedLimit;
}

/** Validated options, ready for either limiter. */
export interface NormalizedLimitOptions {
  global: NormalizedLimit | undefined;
  perTenant: NormalizedLimit | undefined;
  perModel: NormalizedLimit | undefined;
  key: (call: ModelCall) => string | undefined;
  priority: (call: ModelCall) => number;
  maxQueue: number | undefined;
  maxWaitMs: number | undefined;
}

/** The longest delay `setTimeout` accepts. */
const MAX_TIMER_MS = 2_147_483_647;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (typeof value === 'string') return JSON.stringify(value);
  return typeof value;
}

function isPositiveInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value > 0;
}

/** Throws `SluiceConfigError` naming the first key of `value` not in `known`. */
export function rejectUnknownKeys(value: Record<string, unknown>, known: readonly string[], field: string): void {
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) {
      throw new SluiceConfigError(field ? `${field}.${key}` : key, `unknown option; expected one of ${known.join(', ')}`);
    }
  }
}

function normalizeLimit(value: unknown, field: string): NormalizedLimit | undefined {
  if (value === undefined) return undefined;
  if (!isRecord(value)) throw new SluiceConfigError(field, `expected { concurrency, intervalMs?, intervalCap? }, got ${describe(value)}`);
  rejectUnknownKeys(value, ['concurrency', 'intervalMs', 'intervalCap'], field);
  const { concurrency, intervalMs, intervalCap } = value;
  if (!isPositiveInteger(concurrency) && concurrency !== Infinity) {
    throw new SluiceConfigError(`${field}.concurrency`, `expected a positive integer or Infinity, got ${describe(concurrency)}`);
  }
  if ((intervalMs === undefined) !== (intervalCap === undefined)) {
    const missing = intervalMs === undefined ? 'intervalMs' : 'intervalCap';
    throw new SluiceConfigError(`${field}.${missing}`, 'expected intervalMs and intervalCap together (intervalCap calls per intervalMs)');
  }
  if (intervalMs !== undefined && (!isPositiveInteger(intervalMs) || intervalMs > MAX_TIMER_MS)) {
    throw new SluiceConfigError(`${field}.intervalMs`, `expected a positive integer of milliseconds up to ${MAX_TIMER_MS}, got ${describe(intervalMs)}`);
  }
  if (intervalCap !== undefined && !isPositiveInteger(intervalCap)) {
    throw new SluiceConfigError(`${field}.intervalCap`, `expected a positive integer, got ${describe(intervalCap)}`);
  }
  if (concurrency === Infinity && intervalMs === undefined) {
    throw new SluiceConfigError(`${field}.concurrency`, 'Infinity limits nothing without intervalMs and intervalCap');
  }
  return { concurrency: concurrency as number, intervalMs: (intervalMs as number | undefined) ?? 0, intervalCap: (intervalCap as number | undefined) ?? Infinity };
}

/** The default tenant key: the call's customer tenant. */
export function defaultKey(call: ModelCall): string | undefined {
  return call.scope?.customerTenantId;
}

/** The default priority: a finite numeric `call.attributes.priority`, else 0. */
export function defaultPriority(call: ModelCall): number {
  const priority = call.attributes.priority;
  return typeof priority === 'number' && Number.isFinite(priority) ? priority : 0;
}

/** Option names both limiters accept. */
export const LIMIT_OPTION_KEYS = ['global', 'perTenant', 'perModel', 'key', 'priority', 'maxQueue', 'maxWaitMs'] as const;

/** Validates the shared options; every problem is a `SluiceConfigError` naming the field. */
export function normalizeLimitOptions(options: LimitOptions): NormalizedLimitOptions {
  const global = normalizeLimit(options.global, 'global');
  const perTenant = normalizeLimit(options.perTenant, 'perTenant');
  const perModel = normalizeLimit(options.perModel, 'perModel');
  if (!global && !perTenant && !perModel) {
    throw new SluiceConfigError('global', 'expected at least one limit: global, perTenant or perModel');
  }
  if (options.key !== undefined && typeof options.key !== 'function') {
    throw new SluiceConfigError('key', `expected a function (call) => string | undefined, got ${describe(options.key)}`);
  }
  if (options.priority !== undefined && typeof options.priority !== 'function') {
    throw new SluiceConfigError('priority', `expected a function (call) => number, got ${describe(options.priority)}`);
  }
  const { maxQueue, maxWaitMs } = options;
  if (maxQueue !== undefined && !(typeof maxQueue === 'number' && Number.isInteger(maxQueue) && maxQueue >= 0)) {
    throw new SluiceConfigError('maxQueue', `expected an integer ≥ 0 (waiting calls per key), got ${describe(maxQueue)}`);
  }
  if (maxWaitMs !== undefined && !(typeof maxWaitMs === 'number' && Number.isFinite(maxWaitMs) && maxWaitMs > 0 && maxWaitMs <= MAX_TIMER_MS)) {
    throw new SluiceConfigError('maxWaitMs', `expected a positive number of milliseconds up to ${MAX_TIMER_MS}, got ${describe(maxWaitMs)}`);
  }
  return {
    global,
    perTenant,
    perModel,
    key: options.key ?? defaultKey,
    priority: options.priority ?? defaultPriority,
    maxQueue,
    maxWaitMs,
  };
}

/**
 * The limits that apply to `call`, most specific first (tenant → model → global): a call waiting
 * for its tenant holds no model or global slot, so other tenants' calls pass it.
 */
export function levelsOf(call: ModelCall, options: NormalizedLimitOptions): LimitLevel[] {
  const levels: LimitLevel[] = [];
  if (options.perTenant) levels.push(limitLevel('tenant', tenantKeyOf(call, options), options.perTenant));
  if (options.perModel) levels.push(limitLevel('model', call.model, options.perModel));
  if (options.global) levels.push(limitLevel('global', '', options.global));
  return levels;
}

/** The tenant key of `call`: the `key` option's answer, or {@link NO_TENANT_KEY} when it gives none. */
export function tenantKeyOf(call: ModelCall, options: NormalizedLimitOptions): string {
  const tenant = options.key(call);
  return typeof tenant === 'string' && tenant !== '' ? tenant : NO_TENANT_KEY;
}

/** One level, named as stats and messages show it: `tenant:t_1`, `model:gpt-4.1-mini`, `global`. */
export function limitLevel(kind: LimitKind, value: string, limit: NormalizedLimit): LimitLevel {
  return { kind, value, name: kind === 'global' ? 'global' : `${kind}:${value}`, limit };
}

/** The call's priority, checked: a priority function returning NaN or a non-number is a bug worth failing loudly on. */
export function priorityOf(call: ModelCall, options: NormalizedLimitOptions): number {
  const priority = options.priority(call);
  if (typeof priority !== 'number' || !Number.isFinite(priority)) {
    throw new SluiceConfigError('priority', `expected the priority function to return a finite number, got ${describe(priority)}`);
  }
  return priority;
}

/** How a level reads in messages: `tenant t_1`, `model gpt-4.1-mini`, `global`. */
export function describeLevel(level: LimitLevel): string {
  return level.kind === 'global' ? 'global' : `${level.kind} ${level.value}`;
}
