// Why this file exists: the audit log is the executions table seen from outside — dollars instead
// of nano-dollars, ISO times instead of epoch milliseconds, and none of the internal columns
// (idempotency key, request fingerprint, hold bookkeeping). This is that one projection.

import type { AuditRow } from '../protocol.ts';
import type { ExecutionRecord } from './database.ts';
import { nanoToUsd } from './pricing.ts';

/** The audit row of one execution. */
export function toAuditRow(execution: ExecutionRecord): AuditRow {
  return {
    executionId: execution.executionId,
    appId: execution.appId,
    customerTenantId: execution.customerTenantId,
    delegationId: execution.delegationId,
    userId: execution.userId,
    slotId: execution.slotId,
    slotLabel: execution.slotLabel,
    requestedModel: execution.requestedModel,
    model: execution.model,
    api: execution.api,
    outcome: execution.outcome,
    reasonCode: execution.reasonCode,
    status: execution.status,
    inputTokens: execution.inputTokens,
    outputTokens: execution.outputTokens,
    totalTokens: execution.totalTokens,
    cachedInputTokens: execution.cachedInputTokens,
    cacheWriteInputTokens: execution.cacheWriteInputTokens,
    reasoningTokens: execution.reasoningTokens,
    costUsd: execution.costNano === null ? null : nanoToUsd(execution.costNano),
    estimatedCostUsd: execution.estimatedNano === null ? null : nanoToUsd(execution.estimatedNano),
    costSource: execution.costSource,
    relayInputTokens: execution.relayInputTokens,
    relayOutputTokens: execution.relayOutputTokens,
    relayStatus: execution.relayStatus,
    responseId: execution.responseId,
    finishReason: execution.finishReason,
    errorType: execution.errorType,
    errorMessage: execution.errorMessage,
    statusCode: execution.statusCode,
    durationMs: execution.durationMs,
    timeToFirstTokenMs: execution.timeToFirstTokenMs,
    createdAt: new Date(execution.createdAt).toISOString(),
    reportedAt: execution.reportedAt === null ? null : new Date(execution.reportedAt).toISOString(),
  };
}
