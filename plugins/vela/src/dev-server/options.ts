// Why this file exists: the public surface of `@sluice/plugin-vela/dev-server` — what
// `startVelaDevServer` takes and what it returns — in one file a reader can take in at a glance.

import type { AuditRow } from '../protocol.ts';
import type { PriceTable } from './pricing.ts';

/** Options of {@link startVelaDevServer}. */
export interface VelaDevServerOptions {
  /** Default 0 (a free port). */
  port?: number;
  /** Default `127.0.0.1`. */
  host?: string;
  /** SQLite file (`node:sqlite`); default `:memory:`. The same file after a restart keeps all data. */
  dbPath?: string;
  /** The OpenAI-compatible upstream the relay forwards to; `baseURL` ends with `/v1`. */
  upstream: { baseURL: string; apiKey: string };
  /** Bearer token of the admin API. Required, non-empty. */
  adminToken: string;
  /** Relay key lifetime; default 60 000 ms. */
  relayTtlMs?: number;
  /**
   * Prices keyed by model name without provider prefix, merged over {@link DEFAULT_PRICES}
   * (which includes `gpt-fake`, `gpt-fake-mini` and common OpenAI models).
   */
  prices?: PriceTable;
  /**
   * Held against the budget (and used as the fallback cost) when a prepare's `estimatedCostUsd`
   * is 0. Default 0.
   */
  defaultEstimateUsd?: number;
  /** Base URL put in `relay.baseUrl` (+ `/relay/v1`); default the server's own URL. */
  publicUrl?: string;
  /** Receives one line per request: method, path (no query), status, milliseconds. Never a secret or a body. */
  logger?: (line: string) => void;
  /** Clock (epoch ms) for expiry, rate windows and timestamps; default `Date.now`. */
  now?: () => number;
}

/** Input of {@link VelaDevServerAdmin.createApp}. */
export interface CreateAppInput {
  /** Default: generated (`app_…`). */
  appId?: string;
  name?: string;
  /**
   * Use this token instead of generating one (16–512 characters, no whitespace), e.g. to seed a
   * demo from `VELA_APP_TOKEN`. Stored hashed like a generated one.
   */
  appToken?: string;
}

/** Input of {@link VelaDevServerAdmin.createTenant}. */
export interface CreateTenantInput {
  /** Default: generated (`t_…`). */
  tenantId?: string;
  appId: string;
  name?: string;
  /** Prepares allowed per rolling 60 s; absent: unlimited. */
  rateLimitPerMinute?: number;
}

/** Input of {@link VelaDevServerAdmin.createDelegation}. */
export interface CreateDelegationInput {
  /** Default: generated (`d_…`). */
  delegationId?: string;
  tenantId: string;
  /** Total spend allowed (settled costs + open holds); absent: unlimited. */
  budgetUsd?: number;
  /** Provider-qualified models (`openai/gpt-4.1-mini`); absent or empty: any model. */
  allowedModels?: string[];
  /** Model used for `selectionMode: 'tenant'` slots (with or without provider prefix). */
  defaultModel?: string;
}

/** Filter of {@link VelaDevServerAdmin.audit}. */
export interface AuditQuery {
  /** Only this customer tenant's executions. */
  tenant?: string;
}

/**
 * Admin helpers calling the same code as the admin HTTP API, for seeding tests and the demo.
 * Bad input throws {@link VelaDevServerError} with the code and field the HTTP API would answer.
 */
export interface VelaDevServerAdmin {
  /** Creates an app; the token is returned once and stored only as a hash. */
  createApp(input?: CreateAppInput): { appId: string; appToken: string };
  createTenant(input: CreateTenantInput): { tenantId: string };
  suspendTenant(tenantId: string, suspended: boolean): void;
  createDelegation(input: CreateDelegationInput): { delegationId: string };
  revokeDelegation(delegationId: string): void;
  /** Audit rows, oldest first. */
  audit(query?: AuditQuery): AuditRow[];
}

/** A running dev server. */
export interface VelaDevServer {
  /** `http://127.0.0.1:PORT` */
  url: string;
  port: number;
  admin: VelaDevServerAdmin;
  /**
   * Resolves once no request is being handled — in particular once every relay stream has ended
   * and recorded its `relayStatus` and usage. For tests: await this instead of sleeping.
   */
  settled(): Promise<void>;
  /**
   * Stops listening, destroys open sockets, aborts open relay streams (recorded `aborted`), waits
   * for their records, then closes the database. Idempotent.
   */
  close(): Promise<void>;
}
