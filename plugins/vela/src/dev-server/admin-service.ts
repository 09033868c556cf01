// Why this file exists: the admin operations (create apps, tenants, delegations; suspend; revoke;
// read the audit) are reachable two ways — the admin HTTP API and the in-process helpers tests and
// the demo seed with. Both go through these functions, which validate `unknown` input exactly like
// an HTTP body, so the helpers cannot accept what the API would refuse.

import type { AuditRow } from '../protocol.ts';
import { toAuditRow } from './audit.ts';
import type { ServerContext } from './context.ts';
import { invalidField, VelaDevServerError } from './errors.ts';
import type { AuditQuery, CreateAppInput, CreateDelegationInput, CreateTenantInput, VelaDevServerAdmin } from './options.ts';
import { MAX_USD, usdToNano } from './pricing.ts';
import { APP_TOKEN_PREFIX, generateId, generateSecret, hashSecret } from './secrets.ts';
import {
  expectObject,
  ID_RULE,
  MODEL_RULE,
  optionalNumber,
  optionalString,
  QUALIFIED_MODEL_RULE,
  rejectUnknownKeys,
  requiredBoolean,
  requiredString,
} from './validate.ts';

const NAME_RULE = { maxLength: 200 };
const APP_TOKEN_RULE = {
  maxLength: 512,
  pattern: /^\S{16,}$/,
  patternDescription: 'a token of 16 to 512 characters without whitespace',
};
/** At most this many models in a delegation's allow-list. */
const MAX_ALLOWED_MODELS = 100;

function alreadyExists(field: string, id: string): VelaDevServerError {
  return new VelaDevServerError(409, 'already_exists', `${field} "${id}" already exists`, field);
}

/** Creates an app; `body` as the HTTP API takes it. The token is returned once, stored hashed. */
export function createApp(context: ServerContext, body: unknown): { appId: string; appToken: string } {
  const input = expectObject(body ?? {}, 'body');
  rejectUnknownKeys(input, ['appId', 'name', 'appToken'], '');
  const appId = optionalString(input, 'appId', '', ID_RULE) ?? generateId('app_');
  const name = optionalString(input, 'name', '', NAME_RULE) ?? null;
  const appToken = optionalString(input, 'appToken', '', APP_TOKEN_RULE) ?? generateSecret(APP_TOKEN_PREFIX);
  return context.db.transaction(() => {
    if (context.db.getApp(appId) !== undefined) throw alreadyExists('appId', appId);
    context.db.insertApp({ appId, name, tokenHash: hashSecret(appToken), createdAt: context.now() });
    return { appId, appToken };
  });
}

/** Creates a tenant of an existing app. */
export function createTenant(context: ServerContext, body: unknown): { tenantId: string } {
  const input = expectObject(body, 'body');
  rejectUnknownKeys(input, ['tenantId', 'appId', 'name', 'rateLimitPerMinute'], '');
  const tenantId = optionalString(input, 'tenantId', '', ID_RULE) ?? generateId('t_');
  const appId = requiredString(input, 'appId', '', ID_RULE);
  const name = optionalString(input, 'name', '', NAME_RULE) ?? null;
  const rateLimitPerMinute = optionalNumber(input, 'rateLimitPerMinute', '', { integer: true, min: 0, max: 1_000_000 }) ?? null;
  return context.db.transaction(() => {
    if (context.db.getApp(appId) === undefined) {
      throw new VelaDevServerError(404, 'unknown_app', `appId "${appId}" does not exist`, 'appId');
    }
    if (context.db.getTenant(tenantId) !== undefined) throw alreadyExists('tenantId', tenantId);
    context.db.insertTenant({ tenantId, appId, name, rateLimitPerMinute, suspended: false, createdAt: context.now() });
    return { tenantId };
  });
}

/** Suspends or resumes a tenant; `body` is `{ suspended: boolean }`. */
export function suspendTenant(context: ServerContext, tenantId: unknown, body: unknown): { tenantId: string; suspended: boolean } {
  const id = requiredString({ tenantId }, 'tenantId', '', ID_RULE);
  const input = expectObject(body, 'body');
  rejectUnknownKeys(input, ['suspended'], '');
  const suspended = requiredBoolean(input, 'suspended', '');
  context.db.transaction(() => {
    if (context.db.getTenant(id) === undefined) {
      throw new VelaDevServerError(404, 'unknown_tenant', `tenant "${id}" does not exist`, 'tenantId');
    }
    context.db.setTenantSuspended(id, suspended);
  });
  return { tenantId: id, suspended };
}

/** Creates a delegation of an existing tenant. */
export function createDelegation(context: ServerContext, body: unknown): { delegationId: string } {
  const input = expectObject(body, 'body');
  rejectUnknownKeys(input, ['delegationId', 'tenantId', 'budgetUsd', 'allowedModels', 'defaultModel'], '');
  const delegationId = optionalString(input, 'delegationId', '', ID_RULE) ?? generateId('d_');
  const tenantId = requiredString(input, 'tenantId', '', ID_RULE);
  const budgetUsd = optionalNumber(input, 'budgetUsd', '', { min: 0, max: MAX_USD });
  const allowedModels = parseAllowedModels(input.allowedModels);
  const defaultModel = optionalString(input, 'defaultModel', '', MODEL_RULE) ?? null;
  return context.db.transaction(() => {
    if (context.db.getTenant(tenantId) === undefined) {
      throw new VelaDevServerError(404, 'unknown_tenant', `tenant "${tenantId}" does not exist`, 'tenantId');
    }
    if (context.db.getDelegation(delegationId) !== undefined) throw alreadyExists('delegationId', delegationId);
    context.db.insertDelegation({
      delegationId,
      tenantId,
      budgetNano: budgetUsd === undefined ? null : usdToNano(budgetUsd),
      allowedModels,
      defaultModel,
      revokedAt: null,
      createdAt: context.now(),
    });
    return { delegationId };
  });
}

function parseAllowedModels(value: unknown): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.length > MAX_ALLOWED_MODELS) {
    throw invalidField('allowedModels', `an array of at most ${MAX_ALLOWED_MODELS} provider-qualified model names`);
  }
  return value.map((model: unknown, index) => requiredString({ [index]: model }, String(index), 'allowedModels', QUALIFIED_MODEL_RULE));
}

/** Revokes a delegation (idempotent): later prepares are denied `delegation_revoked`. */
export function revokeDelegation(context: ServerContext, delegationId: unknown): { delegationId: string; revoked: true } {
  const id = requiredString({ delegationId }, 'delegationId', '', ID_RULE);
  context.db.transaction(() => {
    if (context.db.getDelegation(id) === undefined) {
      throw new VelaDevServerError(404, 'unknown_delegation', `delegation "${id}" does not exist`, 'delegationId');
    }
    context.db.revokeDelegation(id, context.now());
  });
  return { delegationId: id, revoked: true };
}

/** Audit rows, oldest first: all, or one tenant's; `appId` restricts to one app's executions. */
export function auditRows(context: ServerContext, query: { tenant?: string; appId?: string }): AuditRow[] {
  return context.db
    .listExecutions({
      ...(query.tenant !== undefined ? { tenantId: query.tenant } : {}),
      ...(query.appId !== undefined ? { appId: query.appId } : {}),
    })
    .map(toAuditRow);
}

/** The in-process admin helpers over these same functions. */
export function createAdminHelpers(context: ServerContext): VelaDevServerAdmin {
  return {
    createApp: (input?: CreateAppInput) => createApp(context, input ?? {}),
    createTenant: (input: CreateTenantInput) => createTenant(context, input),
    suspendTenant: (tenantId: string, suspended: boolean) => {
      suspendTenant(context, tenantId, { suspended });
    },
    createDelegation: (input: CreateDelegationInput) => createDelegation(context, input),
    revokeDelegation: (delegationId: string) => {
      revokeDelegation(context, delegationId);
    },
    audit: (query?: AuditQuery) => {
      const tenant = query?.tenant;
      if (tenant !== undefined) requiredString({ tenant }, 'tenant', '', { maxLength: 200 });
      return auditRows(context, tenant !== undefined ? { tenant } : {});
    },
  };
}
