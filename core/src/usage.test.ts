import { describe, expect, it } from 'vitest';
import { toCallError } from './call-error.ts';
import { usageFromAgents, usageFromAiSdk, usageFromChatCompletions, usageFromLanguageModelUsage, usageFromResponses } from './usage.ts';

describe('usage converters', () => {
  it('Chat Completions: details map to cached and reasoning; absent details stay undefined', () => {
    expect(usageFromChatCompletions({ prompt_tokens: 21, completion_tokens: 9, total_tokens: 30, prompt_tokens_details: { cached_tokens: 5 }, completion_tokens_details: { reasoning_tokens: 4 } })).toEqual({
      inputTokens: 21, outputTokens: 9, totalTokens: 30, cachedInputTokens: 5, cacheWriteInputTokens: undefined, reasoningTokens: 4,
    });
    expect(usageFromChatCompletions({ prompt_tokens: 3, completion_tokens: 2 })).toEqual({
      inputTokens: 3, outputTokens: 2, totalTokens: 5, cachedInputTokens: undefined, cacheWriteInputTokens: undefined, reasoningTokens: undefined,
    });
    expect(usageFromChatCompletions(null)).toBeUndefined();
  });

  it('Responses: input/output details including cache writes', () => {
    expect(usageFromResponses({ input_tokens: 100, output_tokens: 40, total_tokens: 140, input_tokens_details: { cached_tokens: 60, cache_write_tokens: 20 }, output_tokens_details: { reasoning_tokens: 12 } })).toEqual({
      inputTokens: 100, outputTokens: 40, totalTokens: 140, cachedInputTokens: 60, cacheWriteInputTokens: 20, reasoningTokens: 12,
    });
  });

  it('Agents SDK: details as a record or a list of records (summed)', () => {
    expect(usageFromAgents({ inputTokens: 10, outputTokens: 4, totalTokens: 14, inputTokensDetails: [{ cached_tokens: 2 }, { cached_tokens: 3 }], outputTokensDetails: { reasoning_tokens: 1 } })).toMatchObject({
      cachedInputTokens: 5, reasoningTokens: 1, cacheWriteInputTokens: undefined,
    });
    expect(usageFromAgents({ inputTokens: 10, outputTokens: 4, totalTokens: 14, inputTokensDetails: [] })).toMatchObject({ cachedInputTokens: undefined });
    // Either spelling of a key, the snake_case one first in a record; records without it (or not records) add nothing.
    expect(
      usageFromAgents({ inputTokens: 10, outputTokens: 4, inputTokensDetails: [{ cachedTokens: 2, cached_tokens: 7 }, { cachedTokens: 3 }, null, { other: 1 }], outputTokensDetails: { reasoningTokens: 6 } }),
    ).toMatchObject({ cachedInputTokens: 10, reasoningTokens: 6, cacheWriteInputTokens: undefined });
    expect(usageFromAgents({ inputTokens: 1, outputTokens: 1, inputTokensDetails: { cache_creation_input_tokens: 4 }, outputTokensDetails: null })).toMatchObject({ cacheWriteInputTokens: 4, reasoningTokens: undefined });
  });

  it('AI SDK V4: undefined counts stay undefined, total only when both sides are known', () => {
    expect(usageFromAiSdk({ inputTokens: { total: 8, noCache: 6, cacheRead: 2, cacheWrite: undefined }, outputTokens: { total: 5, text: 3, reasoning: 2 } })).toEqual({
      inputTokens: 8, outputTokens: 5, totalTokens: 13, cachedInputTokens: 2, cacheWriteInputTokens: undefined, reasoningTokens: 2,
    });
    expect(usageFromAiSdk({ inputTokens: { total: undefined }, outputTokens: { total: 5 } })).toMatchObject({ inputTokens: undefined, totalTokens: undefined });
  });
});

describe('usageFromLanguageModelUsage', () => {
  it('reads the ai package usage (details objects, explicit total); missing counts stay undefined', () => {
    expect(usageFromLanguageModelUsage({ inputTokens: 63, inputTokenDetails: { noCacheTokens: 48, cacheReadTokens: 15, cacheWriteTokens: undefined }, outputTokens: 27, outputTokenDetails: { textTokens: 20, reasoningTokens: 7 }, totalTokens: 90 })).toEqual({
      inputTokens: 63, outputTokens: 27, totalTokens: 90, cachedInputTokens: 15, cacheWriteInputTokens: undefined, reasoningTokens: 7,
    });
    expect(usageFromLanguageModelUsage({ inputTokens: 5 })).toMatchObject({ outputTokens: undefined, totalTokens: undefined, cachedInputTokens: undefined });
    expect(usageFromLanguageModelUsage('x')).toBeUndefined();
  });
});

describe('toCallError', () => {
  it('keeps type, status and code, and redacts anything shaped like a key or bearer token', () => {
    const error = Object.assign(new (class RateLimitError extends Error {})('429 Incorrect API key provided: sk-proj-abc123***xyz9; Authorization: Bearer vrk_live_0123456789'), { status: 429, code: 'rate_limit_exceeded' });
    const normalized = toCallError(error);
    expect(normalized).toMatchObject({ type: 'RateLimitError', statusCode: 429, code: 'rate_limit_exceeded' });
    expect(normalized.message).not.toMatch(/abc123|0123456789/);
    expect(normalized.message).toContain('[redacted]');
  });

  it('describes thrown strings, empty errors and unknown values predictably', () => {
    expect(toCallError('boom')).toEqual({ type: 'Error', message: 'boom' });
    expect(toCallError(new Error(''))).toEqual({ type: 'Error', message: 'Error' });
    expect(toCallError(undefined)).toEqual({ type: 'undefined', message: 'no error value (undefined)' });
    expect(toCallError({ reason: 'x' })).toEqual({ type: 'object', message: '{"reason":"x"}' });
  });
});
