// What the AI SDK parts translator records besides Vel events: `state.skipped` names only parts it
// could not use, never the parts every stream has and that carry nothing for the UI.
import type { VelEvent } from '@sluice/core';
import { describe, expect, it } from 'vitest';
import { assertValidVelStream, summarize } from '../testing/conformance.ts';
import { AiSdkStreamTranslator } from './ai-sdk-stream-translator.ts';

function run(parts: readonly unknown[]): { events: VelEvent[]; translator: AiSdkStreamTranslator } {
  const translator = new AiSdkStreamTranslator({ idPrefix: 'a' });
  const events: VelEvent[] = [];
  for (const part of parts) events.push(...translator.push(part));
  events.push(...translator.finish());
  return { events, translator };
}

const finish = { type: 'finish', finishReason: { unified: 'stop', raw: 'stop' }, usage: { inputTokens: { total: 2 }, outputTokens: { total: 1 } } };

describe('AiSdkStreamTranslator skip records', () => {
  it('stream-start and raw parts are absorbed: a complete stream has no skip record', async () => {
    const { events, translator } = run([
      { type: 'stream-start', warnings: [{ type: 'other', message: 'w' }] },
      { type: 'raw', rawValue: { anything: true } },
      { type: 'text-start', id: 't' },
      { type: 'text-delta', id: 't', delta: 'Hi' },
      { type: 'text-end', id: 't' },
      finish,
    ]);
    await assertValidVelStream(events);
    expect(summarize(events).text).toBe('Hi');
    expect(translator.state.skipped).toEqual([]);
  });

  it('a part of an unknown type is recorded with its index and a reason', () => {
    const { translator } = run([{ type: 'stream-start', warnings: [] }, { type: 'brand-new-part' }, finish]);
    expect(translator.state.skipped).toEqual([{ index: 1, reason: 'unknown stream part type "brand-new-part"' }]);
  });
});
