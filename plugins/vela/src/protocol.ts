// Why this file exists: the Vela HTTP/JSON protocol (DESIGN.md §4) as types, shared by the plugin
// that speaks it and the local dev server that implements it, so the two cannot drift apart.

/** Who the execution is for. */
export interface WireExecutionScope {
  customerTenantId: string;
  delegationId: string;
  userId?: string;
}

/** A model slot as sent to Vela. */
export interface WireModelSlot {
  slotId: string;
  label: string;
  selectionMode: 'locked' | 'tenant';
  /** Provider-qualified, e.g. `openai/gpt-4.1-mini`. */
  requiredModel: string;
}

/** `POST /v1/executions/prepare` body (header `Idempotency-Key: <call id>`). */
export interface PrepareRequest {
  executionScope: WireExecutionScope;
  modelSlot: WireModelSlot;
  api: 'chat_completions' | 'responses';
  estimatedCostUsd: number;
  metadata?: Record<string, string | number | boolean | null>;
}

export interface WireReason {
  code: string;
  message: string;
}

/** `prepare` answer: allow. */
export interface PrepareAllow {
  outcome: 'allow';
  executionId: string;
  relay: { baseUrl: string; apiKey: string; model: string; expiresAt: string };
  budget?: { remainingUsd?: number };
}

/** `prepare` answer: deny (not permitted) or blocked (permitted, not now). */
export interface PrepareRefusal {
  outcome: 'deny' | 'blocked';
  executionId: string;
  reason: WireReason;
  retryAfterMs?: number;
}

export type PrepareResponse = PrepareAllow | PrepareRefusal;

/** Token usage as reported to Vela (normalized; absent numbers omitted). */
export interface WireUsage {
  inputTokens?: number;
  outputTokens?: number;
  totalTokens?: number;
  cachedInputTokens?: number;
  cacheWriteInputTokens?: number;
  reasoningTokens?: number;
}

/** `POST /v1/executions/{executionId}/report` body. */
export type ReportRequest =
  | {
      status: 'completed';
      usage?: WireUsage;
      costUsd?: number;
      responseId?: string;
      finishReason?: string;
      durationMs?: number;
      timeToFirstTokenMs?: number;
    }
  | { status: 'failed'; error: { message: string; type?: string; statusCode?: number }; durationMs?: number }
  | { status: 'aborted'; reason?: string; durationMs?: number };

/** `report` answer. */
export interface ReportResponse {
  executionId: string;
  /** True when an earlier report had already settled the execution; nothing changed. */
  alreadyReported: boolean;
  status: 'completed' | 'failed' | 'aborted';
  costUsd?: number;
}

/** Every error answer: 4xx/5xx with this body. `field` names the offending field for 400s. */
export interface ErrorBody {
  error: { code: string; message: string; field?: string };
}

/** Outcome of a prepare, as recorded in the audit log. */
export type AuditOutcome = 'allow' | 'deny' | 'blocked';

/** Lifecycle of an execution: `pending` until its first report; `denied` for deny/blocked. */
export type AuditStatus = 'pending' | 'completed' | 'failed' | 'aborted' | 'denied';

/** What the relay saw of an execution's one model request. */
export type RelayStatus = 'unused' | 'streaming' | 'completed' | 'failed' | 'aborted';

/**
 * One row of the audit log (`GET /v1/audit`): one per execution, refused ones included.
 * `null` where unknown. Never carries a token, relay key or upstream key.
 */
export interface AuditRow {
  executionId: string;
  appId: string;
  customerTenantId: string;
  delegationId: string;
  userId: string | null;
  slotId: string;
  slotLabel: string;
  /** As asked, provider-qualified (`openai/gpt-4.1-mini`). */
  requestedModel: string;
  /** As resolved for the relay, without provider prefix (`gpt-4.1-mini`). */
  model: string;
  api: PrepareRequest['api'];
  outcome: AuditOutcome;
  /** `null` for allow. */
  reasonCode: string | null;
  status: AuditStatus;
  inputTokens: number | null;
  outputTokens: number | null;
  totalTokens: number | null;
  cachedInputTokens: number | null;
  cacheWriteInputTokens: number | null;
  reasoningTokens: number | null;
  /** Settled cost; `null` until reported (and for refused executions). */
  costUsd: number | null;
  /** The amount held against the budget at prepare. */
  estimatedCostUsd: number | null;
  /** Where `costUsd` came from: the app's report, the price table, or the estimate. */
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
  /** ISO 8601. */
  createdAt: string;
  /** ISO 8601; `null` until the first report. */
  reportedAt: string | null;
}

/** `GET /v1/audit?tenant=…` answer, oldest execution first. */
export interface AuditResponse {
  rows: AuditRow[];
}
