// Why this file exists: `POST /v1/executions/prepare` is where governance happens — the ordered
// decision rules (tenant, delegation, revocation, suspension, model, rate, budget), the budget hold
// and the single-use relay key. The whole decision runs synchronously inside one `BEGIN IMMEDIATE`
// transaction, so concurrent prepares cannot both see the same unspent budget.
//
// Idempotency: the first prepare for (app, Idempotency-Key) is recorded with a fingerprint of its
// decision-relevant fields. A retry with the same key and the same request gets the same answer
// (same executionId, no second hold). A relay key is stored only as a hash, so an allow cannot be
// replayed byte for byte: while the execution is pending and its key unused and unexpired, the
// replay issues a new key for the same execution, with the same expiry, and revokes the old one;
// otherwise the replay answers 409 `idempotent_replay_unavailable`, since no usable key can exist.

import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { PrepareAllow, PrepareRefusal, PrepareRequest, PrepareResponse } from '../protocol.ts';
import { authenticateApp } from './auth.ts';
import type { ServerContext } from './context.ts';
import { UNSETTLED_EXECUTION_FIELDS, type DelegationRecord, type ExecutionRecord } from './database.ts';
import { invalidField, VelaDevServerError } from './errors.ts';
import { JSON_BODY_LIMIT, parseJsonObject, readBody, sendJson } from './http-json.ts';
import type { JsonObject } from './http-json.ts';
import { MAX_USD, nanoToUsd, usdToNano } from './pricing.ts';
import { generateId, generateSecret, hashSecret, RELAY_KEY_PREFIX } from './secrets.ts';
import {
  expectObject,
  optionalString,
  QUALIFIED_MODEL_RULE,
  rejectUnknownKeys,
  requiredChoice,
  requiredNumber,
  requiredString,
} from './validate.ts';

/** Longest accepted `Idempotency-Key`. */
export const MAX_IDEMPOTENCY_KEY_LENGTH = 200;
/** The rate limit's window. */
const RATE_WINDOW_MS = 60_000;
const MAX_METADATA_KEYS = 64;
const MAX_METADATA_STRING = 1000;

/** `POST /v1/executions/prepare`. */
export async function handlePrepare(context: ServerContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const app = authenticateApp(context, req);
  const idempotencyKey = readIdempotencyKey(req);
  const body = parseJsonObject(await readBody(req, JSON_BODY_LIMIT));
  const request = parsePrepareRequest(body);
  sendJson(res, 200, prepareExecution(context, app.appId, idempotencyKey, request));
}

function readIdempotencyKey(req: IncomingMessage): string {
  const value = req.headers['idempotency-key'];
  if (typeof value !== 'string' || value.trim().length === 0 || value.length > MAX_IDEMPOTENCY_KEY_LENGTH) {
    throw invalidField('Idempotency-Key', `a header of 1 to ${MAX_IDEMPOTENCY_KEY_LENGTH} characters (one per call, reused on retries)`);
  }
  return value;
}

/** Validates a prepare body strictly (unknown fields refused), naming the first bad field. */
export function parsePrepareRequest(body: JsonObject): PrepareRequest {
  rejectUnknownKeys(body, ['executionScope', 'modelSlot', 'api', 'estimatedCostUsd', 'metadata'], '');
  const scopeBody = expectObject(body.executionScope, 'executionScope');
  rejectUnknownKeys(scopeBody, ['customerTenantId', 'delegationId', 'userId'], 'executionScope');
  const customerTenantId = requiredString(scopeBody, 'customerTenantId', 'executionScope');
  const delegationId = requiredString(scopeBody, 'delegationId', 'executionScope');
  const userId = optionalString(scopeBody, 'userId', 'executionScope');
  const slotBody = expectObject(body.modelSlot, 'modelSlot');
  rejectUnknownKeys(slotBody, ['slotId', 'label', 'selectionMode', 'requiredModel'], 'modelSlot');
  const slotId = requiredString(slotBody, 'slotId', 'modelSlot');
  const label = requiredString(slotBody, 'label', 'modelSlot', { minLength: 0, maxLength: 500 });
  const selectionMode = requiredChoice(slotBody, 'selectionMode', 'modelSlot', ['locked', 'tenant'] as const);
  const requiredModel = requiredString(slotBody, 'requiredModel', 'modelSlot', QUALIFIED_MODEL_RULE);
  const api = requiredChoice(body, 'api', '', ['chat_completions', 'responses'] as const);
  const estimatedCostUsd = requiredNumber(body, 'estimatedCostUsd', '', { min: 0, max: MAX_USD });
  const metadata = parseMetadata(body.metadata);
  return {
    executionScope: { customerTenantId, delegationId, ...(userId !== undefined ? { userId } : {}) },
    modelSlot: { slotId, label, selectionMode, requiredModel },
    api,
    estimatedCostUsd,
    ...(metadata !== undefined ? { metadata } : {}),
  };
}

function parseMetadata(value: unknown): PrepareRequest['metadata'] {
  if (value === undefined) return undefined;
  const object = expectObject(value, 'metadata');
  const entries = Object.entries(object);
  if (entries.length > MAX_METADATA_KEYS) throw invalidField('metadata', `an object of at most ${MAX_METADATA_KEYS} entries`);
  const metadata: Record<string, string | number | boolean | null> = {};
  for (const [key, entry] of entries) {
    const ok =
      entry === null ||
      typeof entry === 'boolean' ||
      (typeof entry === 'number' && Number.isFinite(entry)) ||
      (typeof entry === 'string' && entry.length <= MAX_METADATA_STRING);
    if (!ok || key.length > 200) {
      throw invalidField(`metadata.${key.slice(0, 200)}`, `a string (at most ${MAX_METADATA_STRING} characters), finite number, boolean or null`);
    }
    metadata[key] = entry as string | number | boolean | null;
  }
  return metadata;
}

/** Fingerprint of what the decision depends on; metadata is informational and left out. */
function fingerprint(request: PrepareRequest): string {
  const { executionScope: scope, modelSlot: slot } = request;
  const parts = [
    scope.customerTenantId,
    scope.delegationId,
    scope.userId ?? null,
    slot.slotId,
    slot.label,
    slot.selectionMode,
    slot.requiredModel,
    request.api,
    request.estimatedCostUsd,
  ];
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex');
}

/** The model a slot runs on: provider-qualified (for allow-lists) and bare (for the relay). */
function resolveModel(slot: PrepareRequest['modelSlot'], delegation: DelegationRecord | undefined): { qualified: string; bare: string } {
  let qualified = slot.requiredModel;
  if (slot.selectionMode === 'tenant' && delegation?.defaultModel) {
    const provider = slot.requiredModel.slice(0, slot.requiredModel.indexOf('/'));
    qualified = delegation.defaultModel.includes('/') ? delegation.defaultModel : `${provider}/${delegation.defaultModel}`;
  }
  return { qualified, bare: qualified.slice(qualified.indexOf('/') + 1) };
}

type Decision =
  | { outcome: 'allow'; remainingNano: number | null }
  | { outcome: 'deny' | 'blocked'; code: string; message: string; retryAfterMs?: number };

/**
 * Decides a prepare and records it, all in one transaction: an execution row for every outcome
 * (refusals show in the audit), plus the hold and a relay key for an allow.
 */
export function prepareExecution(context: ServerContext, appId: string, idempotencyKey: string, request: PrepareRequest): PrepareResponse {
  const requestHash = fingerprint(request);
  const { db } = context;
  return db.transaction((): PrepareResponse => {
    const existing = db.getExecutionByIdempotencyKey(appId, idempotencyKey);
    if (existing !== undefined) {
      if (existing.requestHash !== requestHash) {
        throw new VelaDevServerError(
          409,
          'idempotency_key_conflict',
          'this Idempotency-Key was already used for a different request (tenant, delegation, slot, api or estimate differ)',
          'Idempotency-Key',
        );
      }
      return replay(context, existing);
    }

    const now = context.now();
    const scope = request.executionScope;
    const tenant = db.getTenant(scope.customerTenantId);
    const ownTenant = tenant !== undefined && tenant.appId === appId ? tenant : undefined;
    const delegation = ownTenant !== undefined ? db.getDelegation(scope.delegationId) : undefined;
    const ownDelegation = delegation !== undefined && delegation.tenantId === ownTenant?.tenantId ? delegation : undefined;
    const model = resolveModel(request.modelSlot, ownDelegation);
    const requestedNano = usdToNano(request.estimatedCostUsd);
    const estimateNano = requestedNano > 0 ? requestedNano : context.defaultEstimateNano;

    const decide = (): Decision => {
      if (ownTenant === undefined) {
        return { outcome: 'deny', code: 'unknown_tenant', message: `tenant "${scope.customerTenantId}" is not a tenant of this app` };
      }
      if (ownDelegation === undefined) {
        return {
          outcome: 'deny',
          code: 'unknown_delegation',
          message: `delegation "${scope.delegationId}" is not a delegation of tenant "${ownTenant.tenantId}"`,
        };
      }
      if (ownDelegation.revokedAt !== null) {
        return { outcome: 'deny', code: 'delegation_revoked', message: `delegation "${ownDelegation.delegationId}" was revoked` };
      }
      if (ownTenant.suspended) {
        return { outcome: 'deny', code: 'tenant_suspended', message: `tenant "${ownTenant.tenantId}" is suspended` };
      }
      if (ownDelegation.allowedModels.length > 0 && !ownDelegation.allowedModels.includes(model.qualified)) {
        return {
          outcome: 'deny',
          code: 'model_not_allowed',
          message: `model "${model.qualified}" is not allowed by delegation "${ownDelegation.delegationId}" (allowed: ${ownDelegation.allowedModels.join(', ')})`,
        };
      }
      if (ownTenant.rateLimitPerMinute !== null) {
        const recent = db.countRecentPrepares(appId, ownTenant.tenantId, now - RATE_WINDOW_MS);
        if (recent.count >= ownTenant.rateLimitPerMinute) {
          const retryAfterMs = recent.oldest === null ? RATE_WINDOW_MS : Math.max(1, recent.oldest + RATE_WINDOW_MS - now);
          return {
            outcome: 'blocked',
            code: 'rate_limited',
            message: `tenant "${ownTenant.tenantId}" allows ${ownTenant.rateLimitPerMinute} prepares per minute`,
            retryAfterMs,
          };
        }
      }
      if (ownDelegation.budgetNano === null) return { outcome: 'allow', remainingNano: null };
      const { spentNano, heldNano } = db.delegationSpend(ownDelegation.delegationId);
      if (spentNano + heldNano + estimateNano > ownDelegation.budgetNano) {
        return {
          outcome: 'blocked',
          code: 'budget_exceeded',
          message:
            `delegation "${ownDelegation.delegationId}" has a budget of $${nanoToUsd(ownDelegation.budgetNano)}: ` +
            `$${nanoToUsd(spentNano)} spent, $${nanoToUsd(heldNano)} held, this call estimates $${nanoToUsd(estimateNano)}`,
        };
      }
      return { outcome: 'allow', remainingNano: ownDelegation.budgetNano - spentNano - heldNano - estimateNano };
    };
    const decision = decide();

    const execution: ExecutionRecord = {
      executionId: generateId('ex_'),
      appId,
      idempotencyKey,
      requestHash,
      customerTenantId: scope.customerTenantId,
      delegationId: scope.delegationId,
      userId: scope.userId ?? null,
      slotId: request.modelSlot.slotId,
      slotLabel: request.modelSlot.label,
      selectionMode: request.modelSlot.selectionMode,
      requestedModel: request.modelSlot.requiredModel,
      model: model.bare,
      api: request.api,
      outcome: decision.outcome,
      reasonCode: decision.outcome === 'allow' ? null : decision.code,
      reasonMessage: decision.outcome === 'allow' ? null : decision.message,
      retryAfterMs: decision.outcome !== 'allow' && decision.retryAfterMs !== undefined ? decision.retryAfterMs : null,
      status: decision.outcome === 'allow' ? 'pending' : 'denied',
      holdNano: decision.outcome === 'allow' ? estimateNano : 0,
      estimatedNano: estimateNano,
      budgetRemainingNano: decision.outcome === 'allow' ? decision.remainingNano : null,
      relayExpiresAt: decision.outcome === 'allow' ? now + context.relayTtlMs : null,
      ...UNSETTLED_EXECUTION_FIELDS,
      createdAt: now,
    };
    db.insertExecution(execution);
    if (execution.outcome !== 'allow') return refusalAnswer(execution);
    return allowAnswer(context, execution, issueRelayKey(context, execution));
  });
}

/** A new relay key for the execution (stored hashed), bound to its model and expiry. */
function issueRelayKey(context: ServerContext, execution: ExecutionRecord): string {
  const apiKey = generateSecret(RELAY_KEY_PREFIX);
  context.db.insertRelayKey({
    keyHash: hashSecret(apiKey),
    executionId: execution.executionId,
    model: execution.model,
    expiresAt: execution.relayExpiresAt ?? context.now() + context.relayTtlMs,
    usedAt: null,
    revokedAt: null,
  });
  return apiKey;
}

function allowAnswer(context: ServerContext, execution: ExecutionRecord, apiKey: string): PrepareAllow {
  return {
    outcome: 'allow',
    executionId: execution.executionId,
    relay: {
      baseUrl: `${context.publicUrl()}/relay/v1`,
      apiKey,
      model: execution.model,
      expiresAt: new Date(execution.relayExpiresAt ?? execution.createdAt).toISOString(),
    },
    ...(execution.budgetRemainingNano !== null ? { budget: { remainingUsd: nanoToUsd(execution.budgetRemainingNano) } } : {}),
  };
}

function refusalAnswer(execution: ExecutionRecord): PrepareRefusal {
  return {
    outcome: execution.outcome === 'blocked' ? 'blocked' : 'deny',
    executionId: execution.executionId,
    reason: { code: execution.reasonCode ?? 'denied', message: execution.reasonMessage ?? '' },
    ...(execution.retryAfterMs !== null ? { retryAfterMs: execution.retryAfterMs } : {}),
  };
}

/** The answer to a retried prepare (see the file comment for why an allow gets a fresh key). */
function replay(context: ServerContext, execution: ExecutionRecord): PrepareResponse {
  if (execution.outcome !== 'allow') return refusalAnswer(execution);
  const unavailable = (why: string): VelaDevServerError =>
    new VelaDevServerError(
      409,
      'idempotent_replay_unavailable',
      `execution ${execution.executionId} cannot be replayed: ${why}; prepare again with a new Idempotency-Key`,
      'Idempotency-Key',
    );
  if (execution.status !== 'pending') throw unavailable(`it was already reported (${execution.status})`);
  const now = context.now();
  const key = context.db.latestRelayKey(execution.executionId);
  if (key === undefined || key.usedAt !== null) throw unavailable('its relay key was already used');
  if (key.revokedAt !== null) throw unavailable('its relay key was revoked');
  if (key.expiresAt <= now) throw unavailable('its relay key expired');
  context.db.revokeUnusedRelayKeys(execution.executionId, now);
  return allowAnswer(context, execution, issueRelayKey(context, execution));
}
