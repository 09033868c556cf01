// Why this file exists: `POST /v1/executions/{executionId}/report` settles an execution exactly
// once — it turns the hold into a cost (reported by the app, else priced from usage, else the
// estimate) and records what the app saw. Later reports change nothing and say so, which is what
// lets the plugin retry a report it is unsure about.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ReportRequest, ReportResponse, WireUsage } from '../protocol.ts';
import { authenticateApp } from './auth.ts';
import type { ServerContext } from './context.ts';
import type { ExecutionPatch, ExecutionRecord } from './database.ts';
import { VelaDevServerError } from './errors.ts';
import { JSON_BODY_LIMIT, parseJsonObject, readBody, sendJson } from './http-json.ts';
import type { JsonObject } from './http-json.ts';
import { MAX_USD, nanoToUsd, priceUsage, usdToNano } from './pricing.ts';
import { redactSecrets } from './secrets.ts';
import {
  expectObject,
  optionalNumber,
  optionalString,
  rejectUnknownKeys,
  requiredChoice,
  requiredString,
} from './validate.ts';

const USAGE_FIELDS = [
  'inputTokens',
  'outputTokens',
  'totalTokens',
  'cachedInputTokens',
  'cacheWriteInputTokens',
  'reasoningTokens',
] as const satisfies ReadonlyArray<keyof WireUsage>;
const TOKEN_RULE = { integer: true, min: 0, max: Number.MAX_SAFE_INTEGER };
const DURATION_RULE = { min: 0, max: 1e10 };
/** Free text is accepted at any length (the body limit bounds it) and stored truncated: a long error must not make a report fail. */
const TEXT_RULE = { minLength: 0, maxLength: JSON_BODY_LIMIT };
const STORED_TEXT_LENGTH = 4000;
const STORED_TYPE_LENGTH = 200;

/** `POST /v1/executions/{executionId}/report`. */
export async function handleReport(context: ServerContext, req: IncomingMessage, res: ServerResponse, executionId: string): Promise<void> {
  const app = authenticateApp(context, req);
  const report = parseReportRequest(parseJsonObject(await readBody(req, JSON_BODY_LIMIT)));
  sendJson(res, 200, settleExecution(context, app.appId, executionId, report));
}

/** Validates a report body strictly, naming the first bad field. */
export function parseReportRequest(body: JsonObject): ReportRequest {
  const status = requiredChoice(body, 'status', '', ['completed', 'failed', 'aborted'] as const);
  const durationMs = optionalNumber(body, 'durationMs', '', DURATION_RULE);
  const withDuration = durationMs !== undefined ? { durationMs } : {};
  switch (status) {
    case 'completed': {
      rejectUnknownKeys(body, ['status', 'usage', 'costUsd', 'responseId', 'finishReason', 'durationMs', 'timeToFirstTokenMs'], '');
      const usage = body.usage === undefined ? undefined : parseUsage(expectObject(body.usage, 'usage'));
      const costUsd = optionalNumber(body, 'costUsd', '', { min: 0, max: MAX_USD });
      const responseId = optionalString(body, 'responseId', '', { maxLength: 500 });
      const finishReason = optionalString(body, 'finishReason', '', { maxLength: 500 });
      const timeToFirstTokenMs = optionalNumber(body, 'timeToFirstTokenMs', '', DURATION_RULE);
      return {
        status,
        ...(usage !== undefined ? { usage } : {}),
        ...(costUsd !== undefined ? { costUsd } : {}),
        ...(responseId !== undefined ? { responseId } : {}),
        ...(finishReason !== undefined ? { finishReason } : {}),
        ...withDuration,
        ...(timeToFirstTokenMs !== undefined ? { timeToFirstTokenMs } : {}),
      };
    }
    case 'failed': {
      rejectUnknownKeys(body, ['status', 'error', 'durationMs'], '');
      const error = expectObject(body.error, 'error');
      rejectUnknownKeys(error, ['message', 'type', 'statusCode'], 'error');
      const message = requiredString(error, 'message', 'error', TEXT_RULE);
      const type = optionalString(error, 'type', 'error', TEXT_RULE);
      const statusCode = optionalNumber(error, 'statusCode', 'error', { integer: true, min: 100, max: 599 });
      return {
        status,
        error: { message, ...(type !== undefined ? { type } : {}), ...(statusCode !== undefined ? { statusCode } : {}) },
        ...withDuration,
      };
    }
    case 'aborted': {
      rejectUnknownKeys(body, ['status', 'reason', 'durationMs'], '');
      const reason = optionalString(body, 'reason', '', TEXT_RULE);
      return { status, ...(reason !== undefined ? { reason } : {}), ...withDuration };
    }
  }
}

function parseUsage(object: JsonObject): WireUsage {
  rejectUnknownKeys(object, USAGE_FIELDS, 'usage');
  const usage: WireUsage = {};
  for (const field of USAGE_FIELDS) {
    const value = optionalNumber(object, field, 'usage', TOKEN_RULE);
    if (value !== undefined) usage[field] = value;
  }
  return usage;
}

/** Relay-observed usage priced on the execution's model, if the relay saw usage and a price exists. */
function priceRelayUsage(context: ServerContext, execution: ExecutionRecord): number | undefined {
  if (execution.relayInputTokens === null && execution.relayOutputTokens === null) return undefined;
  return priceUsage(context.prices, execution.model, {
    inputTokens: execution.relayInputTokens ?? 0,
    outputTokens: execution.relayOutputTokens ?? 0,
  });
}

/** Settles an execution on its first report; later reports answer `alreadyReported` and change nothing. */
export function settleExecution(context: ServerContext, appId: string, executionId: string, report: ReportRequest): ReportResponse {
  const { db } = context;
  return db.transaction((): ReportResponse => {
    const execution = db.getExecution(executionId);
    if (execution === undefined || execution.appId !== appId) {
      throw new VelaDevServerError(404, 'unknown_execution', `execution "${executionId}" does not exist for this app`);
    }
    if (execution.outcome !== 'allow') {
      throw new VelaDevServerError(409, 'not_reportable', `execution "${executionId}" was refused (${execution.outcome}); there is nothing to report`);
    }
    if (execution.status !== 'pending') {
      return {
        executionId,
        alreadyReported: true,
        status: execution.status === 'completed' || execution.status === 'failed' ? execution.status : 'aborted',
        ...(execution.costNano !== null ? { costUsd: nanoToUsd(execution.costNano) } : {}),
      };
    }

    const now = context.now();
    const patch: ExecutionPatch = { status: report.status, reportedAt: now };
    if (report.durationMs !== undefined) patch.durationMs = report.durationMs;
    const scrub = (text: string, length = STORED_TEXT_LENGTH): string => redactSecrets(text, context.knownSecrets).slice(0, length);

    if (report.status === 'completed') {
      const usage = report.usage ?? {};
      for (const field of USAGE_FIELDS) {
        if (usage[field] !== undefined) patch[field] = usage[field];
      }
      if (usage.totalTokens === undefined && usage.inputTokens !== undefined && usage.outputTokens !== undefined) {
        patch.totalTokens = usage.inputTokens + usage.outputTokens;
      }
      if (report.responseId !== undefined) patch.responseId = report.responseId;
      if (report.finishReason !== undefined) patch.finishReason = report.finishReason;
      if (report.timeToFirstTokenMs !== undefined) patch.timeToFirstTokenMs = report.timeToFirstTokenMs;
      const hasUsage = usage.inputTokens !== undefined || usage.outputTokens !== undefined;
      const priced = hasUsage
        ? priceUsage(context.prices, execution.model, {
            inputTokens: usage.inputTokens ?? 0,
            outputTokens: usage.outputTokens ?? 0,
            cachedInputTokens: usage.cachedInputTokens ?? 0,
          })
        : priceRelayUsage(context, execution);
      if (report.costUsd !== undefined) {
        patch.costNano = usdToNano(report.costUsd);
        patch.costSource = 'reported';
      } else if (priced !== undefined) {
        patch.costNano = priced;
        patch.costSource = 'priced';
      } else {
        patch.costNano = execution.estimatedNano ?? execution.holdNano;
        patch.costSource = 'estimate';
      }
    } else {
      if (report.status === 'failed') {
        patch.errorMessage = scrub(report.error.message);
        if (report.error.type !== undefined) patch.errorType = scrub(report.error.type, STORED_TYPE_LENGTH);
        if (report.error.statusCode !== undefined) patch.statusCode = report.error.statusCode;
      } else if (report.reason !== undefined) {
        patch.errorMessage = scrub(report.reason);
      }
      const priced = priceRelayUsage(context, execution);
      patch.costNano = priced ?? 0;
      if (priced !== undefined) patch.costSource = 'priced';
    }

    db.updateExecution(executionId, patch);
    // A settled execution's unused relay key must not start a model call nobody will pay for.
    db.revokeUnusedRelayKeys(executionId, now);
    return { executionId, alreadyReported: false, status: report.status, costUsd: nanoToUsd(patch.costNano ?? 0) };
  });
}
