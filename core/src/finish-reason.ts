// Why this file exists: each API says "why the model stopped" differently; reports speak one
// vocabulary (Chat Completions': stop, length, tool_calls, content_filter, error), raw values otherwise.

/** Normalized finish reason of a call. */
export type FinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter' | 'error' | (string & {});

/** From a Responses API `Response`: its status, incomplete details and output items. */
export function finishReasonFromResponse(response: {
  status?: string | null;
  incomplete_details?: { reason?: string | null } | null;
  output?: ReadonlyArray<{ type?: string }> | null;
}): FinishReason | undefined {
  if (response.status === 'incomplete') {
    const reason = response.incomplete_details?.reason;
    return reason === 'max_output_tokens' ? 'length' : reason === 'content_filter' ? 'content_filter' : (reason ?? 'other');
  }
  if (response.status === 'failed') return 'error';
  if (response.status !== 'completed') return response.status ?? undefined;
  return response.output?.some((item) => item.type === 'function_call' || item.type === 'custom_tool_call') ? 'tool_calls' : 'stop';
}

/** From an AI SDK unified finish reason (`tool-calls`, `content-filter`, ...). */
export function finishReasonFromAiSdk(reason: { unified?: string; raw?: string | undefined } | string | undefined): FinishReason | undefined {
  const unified = typeof reason === 'string' ? reason : reason?.unified;
  if (unified === undefined) return undefined;
  return unified === 'tool-calls' ? 'tool_calls' : unified === 'content-filter' ? 'content_filter' : unified;
}
