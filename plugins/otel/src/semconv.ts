// Why this file exists: the GenAI semantic conventions are still moving. Every attribute, span and
// metric name Sluice emits is decided here — pinned to v1.41, or the newest experimental names when
// `OTEL_SEMCONV_STABILITY_OPT_IN` contains `gen_ai_latest_experimental` — so a rename is one change.

/** Which naming the plugin uses. */
export type SemconvVersion = 'v1.41' | 'latest';

/** The names one version uses. `undefined` = this version has no such attribute (a `sluice.*` fallback is used). */
export interface GenAiNames {
  operationName: string;
  providerName: string;
  requestModel: string;
  requestStream: string | undefined;
  responseModel: string;
  responseId: string;
  finishReasons: string;
  inputTokens: string;
  outputTokens: string;
  cacheReadInputTokens: string;
  cacheCreationInputTokens: string;
  reasoningOutputTokens: string;
  timeToFirstChunk: string | undefined;
  inputMessages: string;
  outputMessages: string;
  agentName: string;
  toolName: string;
  toolCallId: string;
  toolType: string;
  toolCallArguments: string;
  toolCallResult: string;
  workflowName: string;
  tokenType: string;
  errorType: string;
  serverAddress: string;
  serverPort: string;
  metricDuration: string;
  metricTokenUsage: string;
  metricTimeToFirstChunk: string;
}

const V1_41: GenAiNames = {
  operationName: 'gen_ai.operation.name',
  providerName: 'gen_ai.provider.name',
  requestModel: 'gen_ai.request.model',
  requestStream: undefined,
  responseModel: 'gen_ai.response.model',
  responseId: 'gen_ai.response.id',
  finishReasons: 'gen_ai.response.finish_reasons',
  inputTokens: 'gen_ai.usage.input_tokens',
  outputTokens: 'gen_ai.usage.output_tokens',
  cacheReadInputTokens: 'gen_ai.usage.cache_read.input_tokens',
  cacheCreationInputTokens: 'gen_ai.usage.cache_creation.input_tokens',
  reasoningOutputTokens: 'sluice.usage.reasoning_tokens',
  timeToFirstChunk: undefined,
  inputMessages: 'gen_ai.input.messages',
  outputMessages: 'gen_ai.output.messages',
  agentName: 'gen_ai.agent.name',
  toolName: 'gen_ai.tool.name',
  toolCallId: 'gen_ai.tool.call.id',
  toolType: 'gen_ai.tool.type',
  toolCallArguments: 'gen_ai.tool.call.arguments',
  toolCallResult: 'gen_ai.tool.call.result',
  workflowName: 'sluice.workflow.name',
  tokenType: 'gen_ai.token.type',
  errorType: 'error.type',
  serverAddress: 'server.address',
  serverPort: 'server.port',
  metricDuration: 'gen_ai.client.operation.duration',
  metricTokenUsage: 'gen_ai.client.token.usage',
  metricTimeToFirstChunk: 'gen_ai.client.operation.time_to_first_chunk',
};

/** The newest experimental names (semantic-conventions 1.45). */
const LATEST: GenAiNames = {
  ...V1_41,
  requestStream: 'gen_ai.request.stream',
  reasoningOutputTokens: 'gen_ai.usage.reasoning.output_tokens',
  timeToFirstChunk: 'gen_ai.response.time_to_first_chunk',
  workflowName: 'gen_ai.workflow.name',
};

/** Sluice's own attributes (not part of the GenAI conventions). */
export const SLUICE = {
  callId: 'sluice.call.id',
  source: 'sluice.source',
  api: 'sluice.api',
  tenantId: 'sluice.tenant.id',
  delegationId: 'sluice.delegation.id',
  userId: 'sluice.user.id',
  slotId: 'sluice.slot.id',
  executionId: 'sluice.vela.execution_id',
  authorizationOutcome: 'sluice.authorization.outcome',
  authorizationReason: 'sluice.authorization.reason_code',
  decidedBy: 'sluice.authorization.decided_by',
  queueWaitMs: 'sluice.queue.wait_ms',
  timeToFirstChunkMs: 'sluice.time_to_first_chunk_ms',
  outcome: 'sluice.outcome',
  abortReason: 'sluice.abort.reason',
  eventAuthorization: 'sluice.authorization',
  eventFirstChunk: 'sluice.first_chunk',
  metricQueueWait: 'sluice.queue.wait',
  metricAuthorizationDuration: 'sluice.authorization.duration',
} as const;

/** The names for `version`, or for the environment when not given. */
export function genAiNames(version: SemconvVersion = semconvFromEnvironment()): GenAiNames {
  return version === 'latest' ? LATEST : V1_41;
}

/** `latest` when `OTEL_SEMCONV_STABILITY_OPT_IN` lists `gen_ai_latest_experimental`, else `v1.41`. */
export function semconvFromEnvironment(env: Record<string, string | undefined> = process.env): SemconvVersion {
  const optIn = env.OTEL_SEMCONV_STABILITY_OPT_IN ?? '';
  return optIn.split(',').some((v) => v.trim() === 'gen_ai_latest_experimental') ? 'latest' : 'v1.41';
}

/** The span name of a model call: `{operation} {model}`. */
export function chatSpanName(model: string): string {
  return `chat ${model}`;
}
