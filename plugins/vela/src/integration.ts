// Why this file exists: the lower-level API the plugin is built on, for code that calls a model
// without the pipeline (a route handler with raw `fetch`): prepare one execution, get ready-made
// OpenAI-compatible settings or a ready HTTP refusal, and report the result once.
import { SluiceConfigError, type ExecutionScope, type ModelApi, type ModelSlot } from '@sluice/core';
import type { PrepareRequest } from './protocol.ts';
import { createResultReporter, type ResultReporter } from './result-reporter.ts';
import type { VelaClient } from './vela-client.ts';

/** An allowed execution, with everything needed to call the relay. */
export interface VelaAllowedExecution {
  outcome: 'allow';
  executionId: string;
  openAiCompatibleChatCompletionsUrl: string;
  openAiCompatibleResponsesUrl: string;
  /** `Authorization` with the single-use relay key, and a JSON content type. */
  openAiCompatibleRequestHeaders: Record<string, string>;
  /** The model the relay resolved the slot to: send exactly this. */
  openAiCompatibleModel: string;
  /** For `new OpenAI(...)` / `createOpenAI(...)`: `{ baseURL, apiKey }`. */
  openAiCompatibleClientOptions: { baseURL: string; apiKey: string };
  expiresAt: string;
  budget: { remainingUsd?: number } | undefined;
  createResultReporter(options?: { onReportError?: (error: unknown) => void }): ResultReporter;
}

/** A denied or blocked execution, with a ready HTTP answer (403 deny, 429 blocked). */
export interface VelaRefusedExecution {
  outcome: 'deny' | 'blocked';
  executionId: string;
  reason: { code: string; message: string };
  retryAfterMs: number | undefined;
  response: Response;
}

export type VelaPreparedExecution = VelaAllowedExecution | VelaRefusedExecution;

/** Options of `prepareExecutionWithResponse`. */
export interface PrepareExecutionOptions {
  estimatedCostUsd: number;
  /** Default: the integration's `modelSlot`. */
  modelSlot?: ModelSlot;
  /** Default `chat_completions`. */
  api?: ModelApi;
  /** Default: a random UUID. Retrying with the same key returns the same answer. */
  idempotencyKey?: string;
  metadata?: PrepareRequest['metadata'];
  signal?: AbortSignal;
}

/** The refusal as an HTTP response a route handler can return as-is. */
export function createRefusalResponse(refusal: { outcome: 'deny' | 'blocked'; executionId: string; reason: { code: string; message: string }; retryAfterMs?: number | undefined }): Response {
  const headers: Record<string, string> = {};
  if (refusal.retryAfterMs !== undefined) headers['retry-after'] = String(Math.max(1, Math.ceil(refusal.retryAfterMs / 1000)));
  return Response.json(
    { error: { code: refusal.reason.code, message: refusal.reason.message, outcome: refusal.outcome, executionId: refusal.executionId, ...(refusal.retryAfterMs !== undefined ? { retryAfterMs: refusal.retryAfterMs } : {}) } },
    { status: refusal.outcome === 'deny' ? 403 : 429, headers },
  );
}

/**
 * Prepares executions for one scope.
 *
 * @example
 * const vela = createVelaIntegration({ client, executionScope: { customerTenantId, delegationId }, modelSlot });
 * const execution = await vela.prepareExecutionWithResponse({ estimatedCostUsd: 0.01 });
 * if (execution.outcome !== 'allow') return execution.response;
 * const reporter = execution.createResultReporter({ onReportError: console.error });
 */
export function createVelaIntegration({ client, executionScope, modelSlot }: { client: VelaClient; executionScope: ExecutionScope; modelSlot?: ModelSlot }) {
  if (!executionScope || typeof executionScope.customerTenantId !== 'string' || typeof executionScope.delegationId !== 'string') {
    throw new SluiceConfigError('executionScope', 'expected { customerTenantId: string, delegationId: string, userId?: string }');
  }
  return {
    async prepareExecutionWithResponse(options: PrepareExecutionOptions): Promise<VelaPreparedExecution> {
      const slot = options.modelSlot ?? modelSlot;
      if (!slot) throw new SluiceConfigError('modelSlot', 'no model slot given to prepareExecutionWithResponse or createVelaIntegration');
      if (typeof options.estimatedCostUsd !== 'number' || !Number.isFinite(options.estimatedCostUsd) || options.estimatedCostUsd < 0) {
        throw new SluiceConfigError('estimatedCostUsd', 'expected a finite number ≥ 0');
      }
      const scope: PrepareRequest['executionScope'] = { customerTenantId: executionScope.customerTenantId, delegationId: executionScope.delegationId };
      if (executionScope.userId !== undefined) scope.userId = executionScope.userId;
      const body: PrepareRequest = {
        executionScope: scope,
        modelSlot: { slotId: slot.slotId, label: slot.label, selectionMode: slot.selectionMode, requiredModel: slot.requiredModel },
        api: options.api ?? 'chat_completions',
        estimatedCostUsd: options.estimatedCostUsd,
      };
      if (options.metadata) body.metadata = options.metadata;
      const answer = await client.prepare(body, options.idempotencyKey ?? crypto.randomUUID(), options.signal ? { signal: options.signal } : {});
      if (answer.outcome !== 'allow') {
        return { outcome: answer.outcome, executionId: answer.executionId, reason: answer.reason, retryAfterMs: answer.retryAfterMs, response: createRefusalResponse(answer) };
      }
      const baseURL = answer.relay.baseUrl.replace(/\/+$/, '');
      const apiKey = answer.relay.apiKey;
      return {
        outcome: 'allow',
        executionId: answer.executionId,
        openAiCompatibleChatCompletionsUrl: `${baseURL}/chat/completions`,
        openAiCompatibleResponsesUrl: `${baseURL}/responses`,
        openAiCompatibleRequestHeaders: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
        openAiCompatibleModel: answer.relay.model,
        openAiCompatibleClientOptions: { baseURL, apiKey },
        expiresAt: answer.relay.expiresAt,
        budget: answer.budget,
        createResultReporter: (reporterOptions = {}) =>
          createResultReporter({ client, executionId: answer.executionId, estimatedCostUsd: options.estimatedCostUsd, onReportError: reporterOptions.onReportError }),
      };
    },
  };
}
