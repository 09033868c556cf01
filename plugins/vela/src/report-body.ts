// Why this file exists: what Vela's report endpoint receives is built from Sluice's normalized
// values in one place — usage without fake zeros, errors without secrets.
import { describeError, redactSecrets, toCallError, usageFromChatCompletions, usageFromResponses, type Outcome, type Usage } from '@sluice/core';
import type { ReportRequest, WireUsage } from './protocol.ts';

/** Normalized usage → the wire shape, omitting counts the provider did not send. */
export function toWireUsage(usage: Usage | undefined): WireUsage | undefined {
  if (!usage) return undefined;
  const wire: WireUsage = {};
  for (const key of ['inputTokens', 'outputTokens', 'totalTokens', 'cachedInputTokens', 'cacheWriteInputTokens', 'reasoningTokens'] as const) {
    const value = usage[key];
    if (typeof value === 'number') wire[key] = value;
  }
  return wire;
}

/**
 * The report for OpenAI-compatible usage of either API (`prompt_tokens`… or `input_tokens`…), for
 * route handlers that read usage from a raw response.
 */
export function createOpenAiCompatibleUsageReportInput(usage: unknown): WireUsage | undefined {
  if (typeof usage !== 'object' || usage === null) return undefined;
  const normalized = 'prompt_tokens' in usage || 'completion_tokens' in usage ? usageFromChatCompletions(usage) : usageFromResponses(usage);
  return toWireUsage(normalized);
}

/** A predictable one-line message for any thrown value, with secrets redacted. */
export function getErrorMessage(error: unknown): string {
  return redactSecrets(describeError(error));
}

/** The report for a settled call; `undefined` for denials (Vela recorded those at prepare). */
export function reportFromOutcome(outcome: Outcome, costUsd: number | undefined): ReportRequest | undefined {
  const durationMs = Math.round(outcome.durationMs);
  switch (outcome.status) {
    case 'completed': {
      const report: ReportRequest = { status: 'completed', durationMs };
      const usage = toWireUsage(outcome.usage);
      if (usage) report.usage = usage;
      if (costUsd !== undefined) report.costUsd = costUsd;
      if (outcome.responseId) report.responseId = outcome.responseId;
      if (outcome.finishReason) report.finishReason = outcome.finishReason;
      if (outcome.timeToFirstTokenMs !== undefined) report.timeToFirstTokenMs = Math.round(outcome.timeToFirstTokenMs);
      return report;
    }
    case 'failed': {
      const error: { message: string; type?: string; statusCode?: number } = { message: outcome.error.message, type: outcome.error.type };
      if (outcome.error.statusCode !== undefined) error.statusCode = outcome.error.statusCode;
      return { status: 'failed', error, durationMs };
    }
    case 'aborted':
      return { status: 'aborted', reason: outcome.reason, durationMs };
    case 'denied':
      return undefined;
  }
}

/** The failed-report error for an arbitrary thrown value. */
export function failedErrorFrom(error: unknown): { message: string; type?: string; statusCode?: number } {
  const normalized = toCallError(error);
  const out: { message: string; type?: string; statusCode?: number } = { message: normalized.message, type: normalized.type };
  if (normalized.statusCode !== undefined) out.statusCode = normalized.statusCode;
  return out;
}
