import type { VelEvent } from '@sluice/core';
import { describe, expect, it } from 'vitest';
import { assertValidVelStream, toUIMessage, uiMessageText } from './testing/conformance.ts';
import { validateVelStream } from './validate-vel-stream.ts';
import { VelWriter } from './vel-writer.ts';

const types = (events: VelEvent[]) => events.map((e) => e.type);

describe('VelWriter', () => {
  it('opens steps and blocks on demand and closes them at finish', async () => {
    const w = new VelWriter({ idPrefix: 'p1', messageId: 'm1' });
    w.reasoningDelta('0', 'think');
    w.textDelta('0', 'Hello');
    w.textDelta('0', ' world');
    w.toolInputStart('call_1', 'lookup');
    w.toolInputDelta('call_1', '{"q":');
    w.toolInputDelta('call_1', '"x"}');
    w.toolInputFromText('call_1', 'lookup', w.toolInputText('call_1'));
    w.finish('tool-calls', { usage: { inputTokens: 3, outputTokens: 2, totalTokens: 5, cachedInputTokens: undefined, cacheWriteInputTokens: undefined, reasoningTokens: undefined } });
    const events = w.take();
    await assertValidVelStream(events);
    expect(types(events)).toEqual([
      'start', 'start-step', 'reasoning-start', 'reasoning-delta', 'text-start', 'text-delta', 'text-delta',
      'tool-input-start', 'tool-input-delta', 'tool-input-delta', 'tool-input-available',
      'text-end', 'reasoning-end', 'finish-step', 'finish',
    ]);
    expect(events.at(-1)).toEqual({ type: 'finish', finishReason: 'tool-calls', messageMetadata: { usage: { inputTokens: 3, outputTokens: 2, totalTokens: 5 } } });
    const message = await toUIMessage(events);
    expect(uiMessageText(message)).toBe('Hello world');
    expect(message?.parts.find((p) => p.type === 'tool-lookup')).toMatchObject({ toolCallId: 'call_1', input: { q: 'x' }, state: 'input-available' });
  });

  it('malformed tool JSON becomes tool-input-error', async () => {
    const w = new VelWriter({ idPrefix: 'p' });
    w.toolInputStart('c', 'f');
    w.toolInputDelta('c', '{"a":');
    w.toolInputFromText('c', 'f', w.toolInputText('c'));
    w.finish('tool-calls');
    const events = w.take();
    await assertValidVelStream(events);
    expect(events.find((e) => e.type === 'tool-input-error')).toMatchObject({ toolCallId: 'c', input: '{"a":', errorText: expect.stringContaining('invalid tool input JSON') });
  });

  it('abort: close open blocks → tool-output-error for open tools → finish-step → abort → finish', async () => {
    const w = new VelWriter({ idPrefix: 'p' });
    w.textDelta('0', 'partial');
    w.reasoningDelta('r', 'hmm');
    w.toolInputAvailable('srv_1', 'web_search', { query: 'x' }, { providerExecuted: true });
    w.toolInputStart('c2', 'f');
    w.abort('user stopped');
    const events = w.take();
    await assertValidVelStream(events);
    expect(types(events).slice(-7)).toEqual(['text-end', 'reasoning-end', 'tool-input-error', 'tool-output-error', 'finish-step', 'abort', 'finish']);
    expect(events.at(-2)).toEqual({ type: 'abort', reason: 'user stopped' });
  });

  it('writes nothing after finish; block ids reused by a provider stay unique', async () => {
    const w = new VelWriter({ idPrefix: 'p' });
    w.textDelta('0', 'a');
    w.textEnd('0');
    w.textDelta('0', 'b');
    w.finish('stop');
    w.textDelta('0', 'late');
    w.error('late');
    const events = w.take();
    await assertValidVelStream(events);
    const ids = events.filter((e) => e.type === 'text-start').map((e) => (e as { id: string }).id);
    expect(new Set(ids).size).toBe(2);
    expect(events.at(-1)?.type).toBe('finish');
  });
});

describe('VelWriter text blocks open at once', () => {
  it('deltas go to their own block, blocks close in the order they opened, and a reopened key gets a fresh id', async () => {
    const w = new VelWriter({ idPrefix: 'p' });
    w.textDelta('a', 'A1');
    w.textDelta('b', 'B1');
    w.textDelta('a', 'A2');
    w.textEnd('a');
    w.textDelta('c', 'C1'); // opened while b is open: after b
    w.textDelta('b', 'B2');
    w.textDelta('a', 'A3'); // a reopened: a new block with a new id
    w.finish('stop');
    const events = w.take();
    await assertValidVelStream(events);
    const blocks = events.flatMap((e) => (e.type === 'text-start' || e.type === 'text-delta' || e.type === 'text-end' ? [`${e.type}:${e.id}${e.type === 'text-delta' ? `:${e.delta}` : ''}`] : []));
    expect(blocks).toEqual([
      'text-start:p-t-a', 'text-delta:p-t-a:A1',
      'text-start:p-t-b', 'text-delta:p-t-b:B1',
      'text-delta:p-t-a:A2', 'text-end:p-t-a',
      'text-start:p-t-c', 'text-delta:p-t-c:C1',
      'text-delta:p-t-b:B2',
      'text-start:p-t-a-1', 'text-delta:p-t-a-1:A3',
      'text-end:p-t-b', 'text-end:p-t-c', 'text-end:p-t-a-1',
    ]);
  });
});

describe('validateVelStream', () => {
  const ok: VelEvent[] = [{ type: 'start' }, { type: 'start-step' }, { type: 'text-start', id: 't' }, { type: 'text-delta', id: 't', delta: 'x' }, { type: 'text-end', id: 't' }, { type: 'finish-step' }, { type: 'finish' }];
  it('accepts a valid stream', () => {
    expect(validateVelStream(ok)).toEqual({ valid: true });
  });

  it.each([
    ['no start', ok.slice(1), 0],
    ['no finish', ok.slice(0, -1), 5],
    ['delta on a closed block', [...ok.slice(0, 5), { type: 'text-delta', id: 't', delta: 'y' }, ...ok.slice(5)], 5],
    ['finish-step with an open block', [ok[0], ok[1], ok[2], { type: 'finish-step' }, { type: 'finish' }], 3],
    ['reused block id', [...ok.slice(0, 5), { type: 'text-start', id: 't' }, { type: 'text-end', id: 't' }, ...ok.slice(5)], 5],
    ['nested step', [ok[0], ok[1], { type: 'start-step' }], 2],
    ['two tool inputs', [ok[0], { type: 'tool-input-available', toolCallId: 'c', toolName: 'f', input: {} }, { type: 'tool-input-available', toolCallId: 'c', toolName: 'f', input: {} }, { type: 'finish' }], 2],
    ['output without input', [ok[0], { type: 'tool-output-available', toolCallId: 'c', output: 1 }, { type: 'finish' }], 1],
    ['two outputs', [ok[0], { type: 'tool-input-available', toolCallId: 'c', toolName: 'f', input: {} }, { type: 'tool-output-available', toolCallId: 'c', output: 1 }, { type: 'tool-output-error', toolCallId: 'c', errorText: 'x' }, { type: 'finish' }], 3],
    ['provider-executed tool without output', [ok[0], { type: 'tool-input-available', toolCallId: 'c', toolName: 'f', input: {}, providerExecuted: true }, { type: 'finish' }], 2],
    ['tool input never settled', [ok[0], { type: 'tool-input-start', toolCallId: 'c', toolName: 'f' }, { type: 'finish' }], 2],
    ['something after abort', [ok[0], { type: 'abort' }, { type: 'text-start', id: 'z' }, { type: 'finish' }], 2],
    ['unknown type', [ok[0], { type: 'text-chunk', id: 'x' } as unknown as VelEvent, { type: 'finish' }], 1],
    ['missing field', [ok[0], { type: 'text-delta', id: 't' } as unknown as VelEvent, { type: 'finish' }], 1],
    ['unknown finish reason', [ok[0], { type: 'finish', finishReason: 'done' } as unknown as VelEvent], 1],
  ] as Array<[string, VelEvent[], number]>)('rejects %s at the first violating index', (_name, events, index) => {
    const result = validateVelStream(events);
    expect(result.valid).toBe(false);
    expect(result.valid === false && result.index).toBe(index);
  });
});
