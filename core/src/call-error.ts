// Why this file exists: reports and spans need a failure as stable fields (type, message, status),
// whatever the SDK threw — and without any credential the message may carry.
import { describeError } from './errors.ts';
import type { CallError } from './model-call.ts';

// Provider and Vela keys (also masked forms like `sk-abc***xyz`), and bearer tokens.
const KEY_PATTERN = /\b(sk|vrk|vat|rk|pk)([-_])[A-Za-z0-9_\-*]{6,}/g;
const BEARER_PATTERN = /\bBearer\s+[A-Za-z0-9._~+/=\-*]{6,}/gi;

/** Replaces anything shaped like an API key or bearer token with `[redacted]`. */
export function redactSecrets(text: string): string {
  return text.replace(KEY_PATTERN, '$1$2[redacted]').replace(BEARER_PATTERN, 'Bearer [redacted]');
}

function field(error: unknown, key: string): unknown {
  return typeof error === 'object' && error !== null ? (error as Record<string, unknown>)[key] : undefined;
}

/** Normalizes any thrown value (openai `APIError`, AI SDK `APICallError`, strings, unknowns). */
export function toCallError(error: unknown): CallError {
  const status = field(error, 'status') ?? field(error, 'statusCode');
  const code = field(error, 'code');
  const type =
    error instanceof Error
      ? error.constructor.name !== 'Error'
        ? error.constructor.name
        : error.name
      : typeof error === 'string'
        ? 'Error'
        : typeof error;
  const result: CallError = { type, message: redactSecrets(describeError(error)) };
  if (typeof status === 'number') result.statusCode = status;
  if (typeof code === 'string' && code) result.code = code;
  return result;
}
