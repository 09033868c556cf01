// Every folder of recorded provider streams must be covered by a translator's conformance test.
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FIXTURES_DIR } from './conformance.ts';

const COVERED = ['anthropic', 'google', 'openai-chat', 'openai-responses'];

describe('recorded provider streams', () => {
  it('every family folder has a conformance test', () => {
    const families = readdirSync(FIXTURES_DIR, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();
    expect(families).toEqual(COVERED);
  });
});
