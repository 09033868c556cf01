import { describe, expect, it } from 'vitest';
import { newCallId } from './call-id.ts';

describe('newCallId', () => {
  it('makes RFC 4122 version 4 UUIDs, as crypto.randomUUID() does, never the same twice', () => {
    // More than one refill of the random pool (4,096 ids each).
    const ids = Array.from({ length: 5_000 }, () => newCallId());
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(new Set(ids).size).toBe(ids.length);
    // The first 8 characters namespace Vel ids per call: they vary too.
    expect(new Set(ids.map((id) => id.slice(0, 8))).size).toBeGreaterThan(4_990);
  });
});
