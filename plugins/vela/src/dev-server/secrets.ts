// Why this file exists: the server's whole secret handling in one place — how tokens are made
// (random, prefixed so leaks are recognisable), how they are stored (SHA-256 only, never the
// plaintext), how they are compared (constant time) and how text that might carry one is scrubbed
// before it reaches the database or a log line.

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** Prefix of app tokens (`vat_…`). */
export const APP_TOKEN_PREFIX = 'vat_';
/** Prefix of relay keys (`vrk_…`). */
export const RELAY_KEY_PREFIX = 'vrk_';

/** Random bytes per token: 32 (256 bits), above the 24-byte floor the protocol asks for. */
const TOKEN_BYTES = 32;

/** A new secret: `prefix` + 32 random bytes, base64url. */
export function generateSecret(prefix: string): string {
  return prefix + randomBytes(TOKEN_BYTES).toString('base64url');
}

/** A new public id (`ex_…`, `app_…`): random, unguessable, but not a secret. */
export function generateId(prefix: string): string {
  return prefix + randomBytes(12).toString('base64url');
}

/** SHA-256 of a secret, hex: what the database stores instead of the secret. */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/**
 * Whether `presented` hashes to `storedHash`, compared in constant time. With `storedHash`
 * undefined (unknown app) a dummy comparison still runs, so timing does not tell an unknown app
 * from a wrong token.
 */
export function secretMatches(storedHash: string | undefined, presented: string): boolean {
  const actual = createHash('sha256').update(presented, 'utf8').digest();
  const expected = storedHash !== undefined && /^[0-9a-f]{64}$/.test(storedHash) ? Buffer.from(storedHash, 'hex') : undefined;
  const equal = timingSafeEqual(actual, expected ?? Buffer.alloc(actual.length));
  return expected !== undefined && equal;
}

/** Anything shaped like one of our tokens, or a bearer credential, or an OpenAI-style key. */
const TOKEN_PATTERN = /\b(?:vat_|vrk_|sk-)[A-Za-z0-9_-]{6,}|\bBearer\s+[^\s"',;]+/g;

/**
 * `text` with anything that looks like a token (`vat_…`, `vrk_…`, `sk-…`, `Bearer …`) and every
 * literal in `known` (e.g. the upstream key) replaced by `[redacted]`. Applied to free text an app
 * reports (error messages) and to log lines.
 */
export function redactSecrets(text: string, known: readonly string[] = []): string {
  let result = text;
  for (const secret of known) {
    if (secret.length >= 4) result = result.split(secret).join('[redacted]');
  }
  return result.replace(TOKEN_PATTERN, '[redacted]');
}
