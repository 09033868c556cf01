// Why this file exists: each SDK counts tokens in its own shape; plugins (audit, spans, cost) need one.
// Conventions: input includes cached input, output includes reasoning; a number the provider did not
// send stays `undefined`, never a fake 0.

/** Normalized token usage of one model call. */
export interface Usage {
  inputTokens: number | undefined;
  outputTokens: number | undefined;
  totalTokens: number | undefined;
  /** Input tokens read from the provider's prompt cache (part of `inputTokens`). */
  cachedInputTokens: number | undefined;
  /** Input tokens written to the provider's prompt cache (part of `inputTokens`). */
  cacheWriteInputTokens: number | undefined;
  /** Reasoning tokens (part of `outputTokens`). */
  reasoningTokens: number | undefined;
}

function num(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

function total(input: number | undefined, output: number | undefined, given: unknown): number | undefined {
  const explicit = num(given);
  if (explicit !== undefined) return explicit;
  return input !== undefined && output !== undefined ? input + output : undefined;
}

function record(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
}

/** From the Chat Completions `CompletionUsage` (`prompt_tokens`, `completion_tokens`, details). */
export function usageFromChatCompletions(usage: unknown): Usage | undefined {
  const u = record(usage);
  if (!u) return undefined;
  const inputTokens = num(u.prompt_tokens);
  const outputTokens = num(u.completion_tokens);
  const prompt = record(u.prompt_tokens_details);
  const completion = record(u.completion_tokens_details);
  return {
    inputTokens,
    outputTokens,
    totalTokens: total(inputTokens, outputTokens, u.total_tokens),
    cachedInputTokens: num(prompt?.cached_tokens),
    cacheWriteInputTokens: num(prompt?.cache_write_tokens),
    reasoningTokens: num(completion?.reasoning_tokens),
  };
}

/** From the Responses API `ResponseUsage` (`input_tokens`, `output_tokens`, details). */
export function usageFromResponses(usage: unknown): Usage | undefined {
  const u = record(usage);
  if (!u) return undefined;
  const inputTokens = num(u.input_tokens);
  const outputTokens = num(u.output_tokens);
  const input = record(u.input_tokens_details);
  const output = record(u.output_tokens_details);
  return {
    inputTokens,
    outputTokens,
    totalTokens: total(inputTokens, outputTokens, u.total_tokens),
    cachedInputTokens: num(input?.cached_tokens),
    cacheWriteInputTokens: num(input?.cache_write_tokens),
    reasoningTokens: num(output?.reasoning_tokens),
  };
}

/** One detail record's count, under `key` or else `altKey`. */
function detailOf(entry: unknown, key: string, altKey: string): number | undefined {
  const r = record(entry);
  return r ? (num(r[key]) ?? num(r[altKey])) : undefined;
}

/**
 * A count from the SDK's token details — a record, or a list of records summed — under `key` or
 * else `altKey`. Runs once per Agents call: no rest arguments, no list made around a single record.
 */
function sumDetail(details: unknown, key: string, altKey: string): number | undefined {
  if (!Array.isArray(details)) return detailOf(details, key, altKey);
  let sum: number | undefined;
  for (let i = 0; i < details.length; i++) {
    const n = detailOf(details[i], key, altKey);
    if (n !== undefined) sum = (sum ?? 0) + n;
  }
  return sum;
}

/**
 * From the Agents SDK `Usage` / `UsageData` (`inputTokens`, `inputTokensDetails` as a record or a
 * list of records). The SDK itself fills missing counts with 0; when the provider's raw usage was
 * preserved (`rawUsage`), prefer converting that with {@link usageFromChatCompletions} or
 * {@link usageFromResponses}.
 */
export function usageFromAgents(usage: unknown): Usage | undefined {
  const u = record(usage);
  if (!u) return undefined;
  const inputTokens = num(u.inputTokens);
  const outputTokens = num(u.outputTokens);
  return {
    inputTokens,
    outputTokens,
    totalTokens: total(inputTokens, outputTokens, u.totalTokens),
    cachedInputTokens: sumDetail(u.inputTokensDetails, 'cached_tokens', 'cachedTokens'),
    cacheWriteInputTokens: sumDetail(u.inputTokensDetails, 'cache_write_tokens', 'cache_creation_input_tokens'),
    reasoningTokens: sumDetail(u.outputTokensDetails, 'reasoning_tokens', 'reasoningTokens'),
  };
}

/** From the AI SDK `LanguageModelV4Usage` (`inputTokens.total|cacheRead|cacheWrite`, `outputTokens.total|reasoning`). */
export function usageFromAiSdk(usage: unknown): Usage | undefined {
  const u = record(usage);
  if (!u) return undefined;
  const input = record(u.inputTokens);
  const output = record(u.outputTokens);
  const inputTokens = num(input?.total);
  const outputTokens = num(output?.total);
  return {
    inputTokens,
    outputTokens,
    totalTokens: total(inputTokens, outputTokens, undefined),
    cachedInputTokens: num(input?.cacheRead),
    cacheWriteInputTokens: num(input?.cacheWrite),
    reasoningTokens: num(output?.reasoning),
  };
}

/**
 * From the `ai` package's `LanguageModelUsage` (`streamText`/`generateText` results and their
 * `finish` parts: `inputTokens`, `inputTokenDetails.cacheReadTokens|cacheWriteTokens`,
 * `outputTokenDetails.reasoningTokens`, `totalTokens`).
 */
export function usageFromLanguageModelUsage(usage: unknown): Usage | undefined {
  const u = record(usage);
  if (!u) return undefined;
  const inputTokens = num(u.inputTokens);
  const outputTokens = num(u.outputTokens);
  const input = record(u.inputTokenDetails);
  const output = record(u.outputTokenDetails);
  return {
    inputTokens,
    outputTokens,
    totalTokens: num(u.totalTokens),
    cachedInputTokens: num(input?.cacheReadTokens),
    cacheWriteInputTokens: num(input?.cacheWriteTokens),
    reasoningTokens: num(output?.reasoningTokens),
  };
}
