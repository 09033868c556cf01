// Why this file exists: every provider names its stop reasons differently; Vel speaks the AI SDK's
// six. One table per provider family keeps the mapping reviewable.
import type { VelFinishReason } from './vel-writer.ts';

const TABLE: Record<string, VelFinishReason> = {
  // OpenAI Chat Completions and compatibles
  stop: 'stop',
  length: 'length',
  tool_calls: 'tool-calls',
  function_call: 'tool-calls',
  content_filter: 'content-filter',
  // Anthropic
  end_turn: 'stop',
  stop_sequence: 'stop',
  max_tokens: 'length',
  tool_use: 'tool-calls',
  refusal: 'content-filter',
  pause_turn: 'other',
  model_context_window_exceeded: 'length',
  // Gemini
  STOP: 'stop',
  MAX_TOKENS: 'length',
  SAFETY: 'content-filter',
  RECITATION: 'content-filter',
  BLOCKLIST: 'content-filter',
  PROHIBITED_CONTENT: 'content-filter',
  SPII: 'content-filter',
  IMAGE_SAFETY: 'content-filter',
  MALFORMED_FUNCTION_CALL: 'error',
  // Responses API incomplete reasons
  max_output_tokens: 'length',
  // AI SDK unified reasons map to themselves
  'tool-calls': 'tool-calls',
  'content-filter': 'content-filter',
  error: 'error',
  other: 'other',
};

/** A provider finish/stop reason → the Vel finish reason (`other` for anything unknown). */
export function toVelFinishReason(reason: string | null | undefined): VelFinishReason | undefined {
  if (reason === null || reason === undefined || reason === '') return undefined;
  // Own keys only: `toString`, `constructor` or `__proto__` from a hostile stream must not read the prototype.
  return Object.hasOwn(TABLE, reason) ? TABLE[reason] : 'other';
}
