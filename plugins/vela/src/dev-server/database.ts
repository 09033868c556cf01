// Why this file exists: the dev server's state — apps, tenants, delegations, executions (which are
// also the audit log) and relay keys — lives in one SQLite database through `node:sqlite`. This file
// owns the schema and every query, so the routes never write SQL and the invariants the schema
// carries (one execution per app + Idempotency-Key, hashed secrets only, money in integer
// nano-dollars, times in epoch milliseconds) are stated once.
//
// `node:sqlite` is synchronous: a route that runs its decision inside `transaction()` with no
// `await` in between cannot interleave with another request in this process, and `BEGIN IMMEDIATE`
// also serializes against other processes sharing the file.

import { DatabaseSync } from 'node:sqlite';
import type { SQLInputValue, SQLOutputValue, StatementSync } from 'node:sqlite';
import type { AuditOutcome, AuditStatus, PrepareRequest, RelayStatus } from '../protocol.ts';

const SCHEMA_VERSION = 1;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS apps (
  app_id      TEXT PRIMARY KEY,
  name        TEXT,
  token_hash  TEXT NOT NULL,             -- SHA-256 hex of the app token; the token itself is never stored
  created_at  INTEGER NOT NULL
) STRICT;

CREATE TABLE IF NOT EXISTS tenants (
  tenant_id              TEXT PRIMARY KEY,
  app_id                 TEXT NOT NULL REFERENCES apps(app_id),
  name                   TEXT,
  rate_limit_per_minute  INTEGER,
  suspended              INTEGER NOT NULL DEFAULT 0,
  created_at             INTEGER NOT NULL
) STRICT;

CREATE TABLE IF NOT EXISTS delegations (
  delegation_id   TEXT PRIMARY KEY,
  tenant_id       TEXT NOT NULL REFERENCES tenants(tenant_id),
  budget_nano     INTEGER,                -- null: no budget
  allowed_models  TEXT NOT NULL,          -- JSON array; empty: any model
  default_model   TEXT,
  revoked_at      INTEGER,
  created_at      INTEGER NOT NULL
) STRICT;

CREATE TABLE IF NOT EXISTS executions (
  execution_id              TEXT PRIMARY KEY,
  app_id                    TEXT NOT NULL,
  idempotency_key           TEXT NOT NULL,
  request_hash              TEXT NOT NULL,  -- fingerprint of the decision-relevant request fields
  customer_tenant_id        TEXT NOT NULL,
  delegation_id             TEXT NOT NULL,
  user_id                   TEXT,
  slot_id                   TEXT NOT NULL,
  slot_label                TEXT NOT NULL,
  selection_mode            TEXT NOT NULL,
  requested_model           TEXT NOT NULL,
  model                     TEXT NOT NULL,
  api                       TEXT NOT NULL,
  outcome                   TEXT NOT NULL,
  reason_code               TEXT,
  reason_message            TEXT,
  retry_after_ms            INTEGER,
  status                    TEXT NOT NULL,
  hold_nano                 INTEGER NOT NULL DEFAULT 0,
  estimated_nano            INTEGER,
  budget_remaining_nano     INTEGER,        -- as answered at prepare, for idempotent replays
  relay_expires_at          INTEGER,
  input_tokens              INTEGER,
  output_tokens             INTEGER,
  total_tokens              INTEGER,
  cached_input_tokens       INTEGER,
  cache_write_input_tokens  INTEGER,
  reasoning_tokens          INTEGER,
  cost_nano                 INTEGER,
  cost_source               TEXT,
  relay_input_tokens        INTEGER,
  relay_output_tokens       INTEGER,
  relay_status              TEXT NOT NULL DEFAULT 'unused',
  response_id               TEXT,
  finish_reason             TEXT,
  error_type                TEXT,
  error_message             TEXT,
  status_code               INTEGER,
  duration_ms               REAL,
  time_to_first_token_ms    REAL,
  created_at                INTEGER NOT NULL,
  reported_at               INTEGER,
  UNIQUE (app_id, idempotency_key)
) STRICT;
CREATE INDEX IF NOT EXISTS executions_by_tenant ON executions (customer_tenant_id, created_at);
CREATE INDEX IF NOT EXISTS executions_by_delegation ON executions (delegation_id);

CREATE TABLE IF NOT EXISTS relay_keys (
  key_hash      TEXT PRIMARY KEY,           -- SHA-256 hex of the relay key; the key itself is never stored
  execution_id  TEXT NOT NULL REFERENCES executions(execution_id),
  model         TEXT NOT NULL,
  expires_at    INTEGER NOT NULL,
  used_at       INTEGER,
  revoked_at    INTEGER
) STRICT;
CREATE INDEX IF NOT EXISTS relay_keys_by_execution ON relay_keys (execution_id);
`;

/** An app: who calls prepare/report. */
export interface AppRecord {
  appId: string;
  name: string | null;
  tokenHash: string;
  createdAt: number;
}

/** A customer tenant of an app. */
export interface TenantRecord {
  tenantId: string;
  appId: string;
  name: string | null;
  rateLimitPerMinute: number | null;
  suspended: boolean;
  createdAt: number;
}

/** A delegation: what a tenant allows, with an optional budget. */
export interface DelegationRecord {
  delegationId: string;
  tenantId: string;
  budgetNano: number | null;
  /** Empty: any model. */
  allowedModels: string[];
  defaultModel: string | null;
  revokedAt: number | null;
  createdAt: number;
}

/** One execution (one prepare), with everything the audit log shows. Money in nano-dollars. */
export interface ExecutionRecord {
  executionId: string;
  appId: string;
  idempotencyKey: string;
  requestHash: string;
  customerTenantId: string;
  delegationId: string;
  userId: string | null;
  slotId: string;
  slotLabel: string;
  selectionMode: 'locked' | 'tenant';
  requestedModel: string;
  model: string;
  api: PrepareRequest['api'];
  outcome: AuditOutcome;
  reasonCode: string | null;
  reasonMessage: string | null;
  retryAfterMs: number | null;
  status: AuditStatus;
  holdNano: number;
  estimatedNano: number | null;
  budgetRemainingNano: number | null;
  relayExpiresAt: number | null;
  inputTokens: number | null;
  outputTokens: number | null;
  totalTokens: number | null;
  cachedInputTokens: number | null;
  cacheWriteInputTokens: number | null;
  reasoningTokens: number | null;
  costNano: number | null;
  costSource: 'reported' | 'priced' | 'estimate' | null;
  relayInputTokens: number | null;
  relayOutputTokens: number | null;
  relayStatus: RelayStatus;
  responseId: string | null;
  finishReason: string | null;
  errorType: string | null;
  errorMessage: string | null;
  statusCode: number | null;
  durationMs: number | null;
  timeToFirstTokenMs: number | null;
  createdAt: number;
  reportedAt: number | null;
}

/** The fields of an execution that only its report (or its relay) fills in: all unknown at prepare. */
export const UNSETTLED_EXECUTION_FIELDS = Object.freeze({
  inputTokens: null,
  outputTokens: null,
  totalTokens: null,
  cachedInputTokens: null,
  cacheWriteInputTokens: null,
  reasoningTokens: null,
  costNano: null,
  costSource: null,
  relayInputTokens: null,
  relayOutputTokens: null,
  relayStatus: 'unused',
  responseId: null,
  finishReason: null,
  errorType: null,
  errorMessage: null,
  statusCode: null,
  durationMs: null,
  timeToFirstTokenMs: null,
  reportedAt: null,
} as const satisfies Partial<ExecutionRecord>);

/** A relay key, by hash. */
export interface RelayKeyRecord {
  keyHash: string;
  executionId: string;
  model: string;
  expiresAt: number;
  usedAt: number | null;
  revokedAt: number | null;
}

/** Columns of `executions`, camelCase field → snake_case column. */
const EXECUTION_COLUMNS: { readonly [K in keyof ExecutionRecord]-?: string } = {
  executionId: 'execution_id',
  appId: 'app_id',
  idempotencyKey: 'idempotency_key',
  requestHash: 'request_hash',
  customerTenantId: 'customer_tenant_id',
  delegationId: 'delegation_id',
  userId: 'user_id',
  slotId: 'slot_id',
  slotLabel: 'slot_label',
  selectionMode: 'selection_mode',
  requestedModel: 'requested_model',
  model: 'model',
  api: 'api',
  outcome: 'outcome',
  reasonCode: 'reason_code',
  reasonMessage: 'reason_message',
  retryAfterMs: 'retry_after_ms',
  status: 'status',
  holdNano: 'hold_nano',
  estimatedNano: 'estimated_nano',
  budgetRemainingNano: 'budget_remaining_nano',
  relayExpiresAt: 'relay_expires_at',
  inputTokens: 'input_tokens',
  outputTokens: 'output_tokens',
  totalTokens: 'total_tokens',
  cachedInputTokens: 'cached_input_tokens',
  cacheWriteInputTokens: 'cache_write_input_tokens',
  reasoningTokens: 'reasoning_tokens',
  costNano: 'cost_nano',
  costSource: 'cost_source',
  relayInputTokens: 'relay_input_tokens',
  relayOutputTokens: 'relay_output_tokens',
  relayStatus: 'relay_status',
  responseId: 'response_id',
  finishReason: 'finish_reason',
  errorType: 'error_type',
  errorMessage: 'error_message',
  statusCode: 'status_code',
  durationMs: 'duration_ms',
  timeToFirstTokenMs: 'time_to_first_token_ms',
  createdAt: 'created_at',
  reportedAt: 'reported_at',
};
const EXECUTION_FIELDS = Object.keys(EXECUTION_COLUMNS) as Array<keyof ExecutionRecord>;

/** Columns an execution's settlement or relay observation may change. */
export type ExecutionPatch = Partial<Omit<ExecutionRecord, 'executionId' | 'appId' | 'idempotencyKey' | 'createdAt'>>;

/** Filter of {@link VelaDatabase.listExecutions}. */
export interface ExecutionFilter {
  appId?: string;
  tenantId?: string;
}

/** The queries the server runs. Every method is synchronous. */
export interface VelaDatabase {
  /** Runs `fn` inside `BEGIN IMMEDIATE … COMMIT`, rolling back if it throws. `fn` must not await. */
  transaction<T>(fn: () => T): T;
  insertApp(app: AppRecord): void;
  getApp(appId: string): AppRecord | undefined;
  setAppTokenHash(appId: string, tokenHash: string): void;
  insertTenant(tenant: TenantRecord): void;
  getTenant(tenantId: string): TenantRecord | undefined;
  setTenantSuspended(tenantId: string, suspended: boolean): void;
  insertDelegation(delegation: DelegationRecord): void;
  getDelegation(delegationId: string): DelegationRecord | undefined;
  revokeDelegation(delegationId: string, at: number): void;
  insertExecution(execution: ExecutionRecord): void;
  getExecution(executionId: string): ExecutionRecord | undefined;
  getExecutionByIdempotencyKey(appId: string, idempotencyKey: string): ExecutionRecord | undefined;
  updateExecution(executionId: string, patch: ExecutionPatch): void;
  listExecutions(filter: ExecutionFilter): ExecutionRecord[];
  /** Prepares of a tenant (by its own app) since `since`, not counting those refused for the rate limit. */
  countRecentPrepares(appId: string, tenantId: string, since: number): { count: number; oldest: number | null };
  /** Settled cost and open holds of a delegation's allowed executions, nano-dollars. */
  delegationSpend(delegationId: string): { spentNano: number; heldNano: number };
  insertRelayKey(key: RelayKeyRecord): void;
  getRelayKey(keyHash: string): RelayKeyRecord | undefined;
  /** The newest relay key of an execution. */
  latestRelayKey(executionId: string): RelayKeyRecord | undefined;
  /** Marks the key used if it is unused, unrevoked and unexpired; true when this call did it. */
  consumeRelayKey(keyHash: string, now: number): boolean;
  /** Revokes an execution's unused keys. */
  revokeUnusedRelayKeys(executionId: string, at: number): void;
  close(): void;
}

/** Opens (creating if needed) the database at `path` (`:memory:` for a throwaway one). */
export function openVelaDatabase(path: string): VelaDatabase {
  const db = new DatabaseSync(path);
  db.exec('PRAGMA foreign_keys = ON');
  db.exec('PRAGMA busy_timeout = 5000');
  if (path !== ':memory:') {
    db.exec('PRAGMA journal_mode = WAL');
    db.exec('PRAGMA synchronous = NORMAL');
  }
  const version = Number(db.prepare('PRAGMA user_version').get()?.user_version ?? 0);
  if (version > SCHEMA_VERSION) {
    db.close();
    throw new Error(`Vela dev server database ${path} has schema version ${version}; this server knows ${SCHEMA_VERSION}`);
  }
  db.exec(SCHEMA);
  db.exec(`PRAGMA user_version = ${SCHEMA_VERSION}`);

  const statements = new Map<string, StatementSync>();
  const statement = (sql: string): StatementSync => {
    let prepared = statements.get(sql);
    if (prepared === undefined) {
      prepared = db.prepare(sql);
      statements.set(sql, prepared);
    }
    return prepared;
  };

  const executionColumnList = EXECUTION_FIELDS.map((field) => EXECUTION_COLUMNS[field]).join(', ');
  const executionParams = EXECUTION_FIELDS.map((field) => `:${field}`).join(', ');
  const insertExecutionSql = `INSERT INTO executions (${executionColumnList}) VALUES (${executionParams})`;

  let closed = false;

  return {
    transaction(fn) {
      db.exec('BEGIN IMMEDIATE');
      try {
        const result = fn();
        db.exec('COMMIT');
        return result;
      } catch (error) {
        if (db.isTransaction) db.exec('ROLLBACK');
        throw error;
      }
    },
    insertApp(app) {
      statement('INSERT INTO apps (app_id, name, token_hash, created_at) VALUES (?, ?, ?, ?)').run(
        app.appId,
        app.name,
        app.tokenHash,
        app.createdAt,
      );
    },
    getApp(appId) {
      const row = statement('SELECT * FROM apps WHERE app_id = ?').get(appId);
      return row === undefined
        ? undefined
        : { appId: text(row, 'app_id'), name: textOrNull(row, 'name'), tokenHash: text(row, 'token_hash'), createdAt: int(row, 'created_at') };
    },
    setAppTokenHash(appId, tokenHash) {
      statement('UPDATE apps SET token_hash = ? WHERE app_id = ?').run(tokenHash, appId);
    },
    insertTenant(tenant) {
      statement(
        'INSERT INTO tenants (tenant_id, app_id, name, rate_limit_per_minute, suspended, created_at) VALUES (?, ?, ?, ?, ?, ?)',
      ).run(tenant.tenantId, tenant.appId, tenant.name, tenant.rateLimitPerMinute, tenant.suspended ? 1 : 0, tenant.createdAt);
    },
    getTenant(tenantId) {
      const row = statement('SELECT * FROM tenants WHERE tenant_id = ?').get(tenantId);
      return row === undefined
        ? undefined
        : {
            tenantId: text(row, 'tenant_id'),
            appId: text(row, 'app_id'),
            name: textOrNull(row, 'name'),
            rateLimitPerMinute: intOrNull(row, 'rate_limit_per_minute'),
            suspended: int(row, 'suspended') !== 0,
            createdAt: int(row, 'created_at'),
          };
    },
    setTenantSuspended(tenantId, suspended) {
      statement('UPDATE tenants SET suspended = ? WHERE tenant_id = ?').run(suspended ? 1 : 0, tenantId);
    },
    insertDelegation(delegation) {
      statement(
        'INSERT INTO delegations (delegation_id, tenant_id, budget_nano, allowed_models, default_model, revoked_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ).run(
        delegation.delegationId,
        delegation.tenantId,
        delegation.budgetNano,
        JSON.stringify(delegation.allowedModels),
        delegation.defaultModel,
        delegation.revokedAt,
        delegation.createdAt,
      );
    },
    getDelegation(delegationId) {
      const row = statement('SELECT * FROM delegations WHERE delegation_id = ?').get(delegationId);
      if (row === undefined) return undefined;
      const allowed: unknown = JSON.parse(text(row, 'allowed_models'));
      return {
        delegationId: text(row, 'delegation_id'),
        tenantId: text(row, 'tenant_id'),
        budgetNano: intOrNull(row, 'budget_nano'),
        allowedModels: Array.isArray(allowed) ? allowed.filter((model): model is string => typeof model === 'string') : [],
        defaultModel: textOrNull(row, 'default_model'),
        revokedAt: intOrNull(row, 'revoked_at'),
        createdAt: int(row, 'created_at'),
      };
    },
    revokeDelegation(delegationId, at) {
      statement('UPDATE delegations SET revoked_at = COALESCE(revoked_at, ?) WHERE delegation_id = ?').run(at, delegationId);
    },
    insertExecution(execution) {
      statement(insertExecutionSql).run(executionParameters(execution));
    },
    getExecution(executionId) {
      const row = statement('SELECT * FROM executions WHERE execution_id = ?').get(executionId);
      return row === undefined ? undefined : executionFromRow(row);
    },
    getExecutionByIdempotencyKey(appId, idempotencyKey) {
      const row = statement('SELECT * FROM executions WHERE app_id = ? AND idempotency_key = ?').get(appId, idempotencyKey);
      return row === undefined ? undefined : executionFromRow(row);
    },
    updateExecution(executionId, patch) {
      const fields = (Object.keys(patch) as Array<keyof ExecutionPatch>).filter((field) => patch[field] !== undefined);
      if (fields.length === 0) return;
      const assignments = fields.map((field) => `${EXECUTION_COLUMNS[field]} = :${field}`).join(', ');
      const params: Record<string, SQLInputValue> = { executionId };
      for (const field of fields) params[field] = toSql(patch[field]);
      statement(`UPDATE executions SET ${assignments} WHERE execution_id = :executionId`).run(params);
    },
    listExecutions(filter) {
      const conditions: string[] = [];
      const params: Record<string, SQLInputValue> = {};
      if (filter.appId !== undefined) {
        conditions.push('app_id = :appId');
        params.appId = filter.appId;
      }
      if (filter.tenantId !== undefined) {
        conditions.push('customer_tenant_id = :tenantId');
        params.tenantId = filter.tenantId;
      }
      const where = conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : '';
      return statement(`SELECT * FROM executions ${where} ORDER BY created_at, rowid`).all(params).map(executionFromRow);
    },
    countRecentPrepares(appId, tenantId, since) {
      const row = statement(
        `SELECT COUNT(*) AS count, MIN(created_at) AS oldest FROM executions
         WHERE app_id = ? AND customer_tenant_id = ? AND created_at > ? AND (reason_code IS NULL OR reason_code <> 'rate_limited')`,
      ).get(appId, tenantId, since);
      return { count: row === undefined ? 0 : int(row, 'count'), oldest: row === undefined ? null : intOrNull(row, 'oldest') };
    },
    delegationSpend(delegationId) {
      const row = statement(
        `SELECT
           COALESCE(SUM(CASE WHEN status IN ('completed', 'failed', 'aborted') THEN COALESCE(cost_nano, 0) ELSE 0 END), 0) AS spent,
           COALESCE(SUM(CASE WHEN status = 'pending' THEN hold_nano ELSE 0 END), 0) AS held
         FROM executions WHERE delegation_id = ? AND outcome = 'allow'`,
      ).get(delegationId);
      return { spentNano: row === undefined ? 0 : int(row, 'spent'), heldNano: row === undefined ? 0 : int(row, 'held') };
    },
    insertRelayKey(key) {
      statement('INSERT INTO relay_keys (key_hash, execution_id, model, expires_at, used_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?)').run(
        key.keyHash,
        key.executionId,
        key.model,
        key.expiresAt,
        key.usedAt,
        key.revokedAt,
      );
    },
    getRelayKey(keyHash) {
      const row = statement('SELECT * FROM relay_keys WHERE key_hash = ?').get(keyHash);
      return row === undefined ? undefined : relayKeyFromRow(row);
    },
    latestRelayKey(executionId) {
      const row = statement('SELECT * FROM relay_keys WHERE execution_id = ? ORDER BY rowid DESC LIMIT 1').get(executionId);
      return row === undefined ? undefined : relayKeyFromRow(row);
    },
    consumeRelayKey(keyHash, now) {
      const result = statement(
        'UPDATE relay_keys SET used_at = ? WHERE key_hash = ? AND used_at IS NULL AND revoked_at IS NULL AND expires_at > ?',
      ).run(now, keyHash, now);
      return Number(result.changes) === 1;
    },
    revokeUnusedRelayKeys(executionId, at) {
      statement('UPDATE relay_keys SET revoked_at = ? WHERE execution_id = ? AND used_at IS NULL AND revoked_at IS NULL').run(at, executionId);
    },
    close() {
      if (closed) return;
      closed = true;
      db.close();
    },
  };
}

type Row = Record<string, SQLOutputValue>;

function text(row: Row, column: string): string {
  const value = row[column];
  if (typeof value !== 'string') throw new Error(`database: column ${column} is not text`);
  return value;
}

function textOrNull(row: Row, column: string): string | null {
  const value = row[column];
  return typeof value === 'string' ? value : null;
}

function int(row: Row, column: string): number {
  const value = row[column];
  if (typeof value !== 'number') throw new Error(`database: column ${column} is not a number`);
  return value;
}

function intOrNull(row: Row, column: string): number | null {
  const value = row[column];
  return typeof value === 'number' ? value : null;
}

function toSql(value: unknown): SQLInputValue {
  if (value === undefined || value === null) return null;
  if (typeof value === 'number' || typeof value === 'string') return value;
  throw new Error(`database: cannot store a ${typeof value}`);
}

function executionParameters(execution: ExecutionRecord): Record<string, SQLInputValue> {
  const params: Record<string, SQLInputValue> = {};
  for (const field of EXECUTION_FIELDS) params[field] = toSql(execution[field]);
  return params;
}

function executionFromRow(row: Row): ExecutionRecord {
  const record: Record<string, SQLOutputValue> = {};
  for (const field of EXECUTION_FIELDS) record[field] = row[EXECUTION_COLUMNS[field]] ?? null;
  // Every column was written from an ExecutionRecord by this module (STRICT tables keep the types),
  // so the shape holds; text and numbers are all the columns carry.
  return record as unknown as ExecutionRecord;
}

function relayKeyFromRow(row: Row): RelayKeyRecord {
  return {
    keyHash: text(row, 'key_hash'),
    executionId: text(row, 'execution_id'),
    model: text(row, 'model'),
    expiresAt: int(row, 'expires_at'),
    usedAt: intOrNull(row, 'used_at'),
    revokedAt: intOrNull(row, 'revoked_at'),
  };
}
