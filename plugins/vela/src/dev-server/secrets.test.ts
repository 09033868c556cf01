// Token handling in isolation: generated tokens have the promised shape and entropy, comparison
// accepts exactly the right token, and scrubbing removes everything token-shaped.

import { describe, expect, it } from 'vitest';
import { generateSecret, hashSecret, redactSecrets, secretMatches } from './secrets.ts';

describe('secrets', () => {
  it('generates prefixed base64url tokens of 32 random bytes, never twice the same', () => {
    const tokens = new Set(Array.from({ length: 100 }, () => generateSecret('vrk_')));
    expect(tokens.size).toBe(100);
    for (const token of tokens) expect(token).toMatch(/^vrk_[A-Za-z0-9_-]{43}$/);
  });

  it('matches a token only against its own hash', () => {
    const token = generateSecret('vat_');
    expect(secretMatches(hashSecret(token), token)).toBe(true);
    expect(secretMatches(hashSecret(token), `${token}x`)).toBe(false);
    expect(secretMatches(hashSecret(token), '')).toBe(false);
    expect(secretMatches(undefined, token)).toBe(false);
    expect(secretMatches('not-a-hash', token)).toBe(false);
  });

  it('scrubs token-shaped text and known literals', () => {
    const text = `a vat_abcdefgh b vrk_ABCDEFGH-_x c sk-proj-123456 d Bearer xyz.123 e my-upstream-literal f`;
    expect(redactSecrets(text, ['my-upstream-literal'])).toBe('a [redacted] b [redacted] c [redacted] d [redacted] e [redacted] f');
    expect(redactSecrets('nothing secret here: ex_123, vat_')).toBe('nothing secret here: ex_123, vat_');
  });
});
