// Conformance of the Chat Completions translator over every recorded stream (text, tool inputs and
// usage checked against an oracle computed from the native chunks), plus the edge cases one by one.
import { usageFromChatCompletions, type VelEvent } from '@sluice/core';
import { describe, expect, it } from 'vitest';
import { assertValidVelStream, fixtureFiles, readFixture, summarize, toUIMessage, uiMessageText } from '../testing/conformance.ts';
import { createOpenAIChatTranslator, OpenAIChatTranslator } from './openai-chat-translator.ts';

const FAMILY = 'openai-chat';

type Json = Record<string, unknown>;

function run(chunks: readonly unknown[], idPrefix = 'p'): { events: VelEvent[]; translator: OpenAIChatTranslator } {
  const translator = new OpenAIChatTranslator({ idPrefix });
  const events: VelEvent[] = [];
  for (const chunk of chunks) events.push(...translator.push(chunk));
  events.push(...translator.finish());
  return { events, translator };
}

/** What the provider said, read straight from the chunks (independently of the translator). */
function oracle(chunks: readonly unknown[]) {
  let text = '';
  let reasoning = '';
  let usage: unknown;
  let finishReason: string | undefined;
  const calls = new Map<unknown, { toolCallId: string | undefined; toolName: string | undefined; args: string }>();
  for (const raw of chunks) {
    const chunk = raw as Json;
    if (chunk.usage && typeof chunk.usage === 'object') usage = chunk.usage;
    const choices = (Array.isArray(chunk.choices) ? chunk.choices : []) as Json[];
    const choice = choices.find((c, i) => ((c.index as number | undefined) ?? i) === 0);
    if (!choice) continue;
    const delta = (choice.delta ?? {}) as Json;
    const r = (delta.reasoning_content as string | undefined) || (delta.reasoning as string | undefined);
    if (r) reasoning += r;
    if (typeof delta.content === 'string') text += delta.content;
    if (Array.isArray(delta.content)) {
      for (const part of delta.content as Json[]) {
        if (part.type === 'text') text += part.text as string;
        if (part.type === 'thinking') for (const t of part.thinking as Json[]) reasoning += t.text as string;
      }
    }
    if (typeof delta.refusal === 'string') text += delta.refusal;
    ((delta.tool_calls ?? []) as Json[]).forEach((tc, position) => {
      const key = tc.index ?? tc.id ?? position;
      const fn = (tc.function ?? {}) as Json;
      const call = calls.get(key) ?? { toolCallId: undefined, toolName: undefined, args: '' };
      call.toolCallId ??= (tc.id as string | undefined) || undefined;
      call.toolName ??= (fn.name as string | undefined) || undefined;
      call.args += (fn.arguments as string | undefined) ?? '';
      calls.set(key, call);
    });
    if (typeof choice.finish_reason === 'string') finishReason = choice.finish_reason;
  }
  const reasons: Record<string, string> = { stop: 'stop', length: 'length', tool_calls: 'tool-calls', content_filter: 'content-filter' };
  return {
    text,
    reasoning,
    toolCalls: [...calls.values()].map((c) => ({ toolCallId: c.toolCallId, toolName: c.toolName, input: JSON.parse(c.args === '' ? '{}' : c.args) as unknown })),
    usage: usage === undefined ? undefined : usageFromChatCompletions(usage),
    finishReason: finishReason === undefined ? 'other' : reasons[finishReason],
  };
}

function toolParts(message: Awaited<ReturnType<typeof toUIMessage>>) {
  return (message?.parts ?? []).filter((part) => part.type.startsWith('tool-') || part.type === 'dynamic-tool');
}

describe('OpenAIChatTranslator conformance over recorded streams', () => {
  it.each(fixtureFiles(FAMILY))('%s', async (file) => {
    const chunks = readFixture(FAMILY, file);
    const expected = oracle(chunks);
    let result: ReturnType<typeof run> | undefined;
    expect(() => (result = run(chunks))).not.toThrow();
    const { events } = result!;
    await assertValidVelStream(events);

    const summary = summarize(events);
    expect(summary.text).toBe(expected.text);
    expect(summary.reasoning).toBe(expected.reasoning);
    expect(summary.toolInputs).toEqual(expected.toolCalls);
    expect(summary.toolInputErrors).toEqual([]);
    expect(summary.usage).toEqual(expected.usage);
    expect(summary.finishReason).toBe(expected.finishReason);

    const message = await toUIMessage(events);
    expect(uiMessageText(message)).toBe(expected.text);
    expect(toolParts(message)).toHaveLength(expected.toolCalls.length);
  });

  it('the oracle sees content in the recorded streams (so the comparisons above are not vacuous)', () => {
    const files = fixtureFiles(FAMILY);
    expect(files.length).toBeGreaterThan(0);
    const oracles = files.map((file) => oracle(readFixture(FAMILY, file)));
    expect(oracles.some((o) => o.text.length > 0)).toBe(true);
    expect(oracles.some((o) => o.reasoning.length > 0)).toBe(true);
    expect(oracles.some((o) => o.toolCalls.length > 0)).toBe(true);
    expect(oracles.every((o) => o.usage !== undefined)).toBe(true);
  });
});

// ── hand-written chunks ──────────────────────────────────────────────────────────────────────

const chunk = (delta: Json, extra: Json = {}): Json => ({ id: 'chatcmpl-1', object: 'chat.completion.chunk', model: 'gpt-test', choices: [{ index: 0, delta, finish_reason: null }], ...extra });
const finishChunk = (reason: string, extra: Json = {}): Json => ({ id: 'chatcmpl-1', object: 'chat.completion.chunk', model: 'gpt-test', choices: [{ index: 0, delta: {}, finish_reason: reason }], ...extra });
const types = (events: readonly VelEvent[]) => events.map((e) => e.type);

describe('OpenAIChatTranslator tool calls', () => {
  it('several tool calls in one chunk, continued by index', async () => {
    const { events } = run([
      chunk({
        role: 'assistant',
        tool_calls: [
          { index: 0, id: 'call_a', type: 'function', function: { name: 'weather', arguments: '{"city":' } },
          { index: 1, id: 'call_b', type: 'function', function: { name: 'time', arguments: '' } },
        ],
      }),
      chunk({ tool_calls: [{ index: 1, function: { arguments: '{"tz":"CET"}' } }, { index: 0, function: { arguments: '"Oslo"}' } }] }),
      finishChunk('tool_calls'),
    ]);
    await assertValidVelStream(events);
    expect(summarize(events).toolInputs).toEqual([
      { toolCallId: 'call_a', toolName: 'weather', input: { city: 'Oslo' } },
      { toolCallId: 'call_b', toolName: 'time', input: { tz: 'CET' } },
    ]);
    expect(events.filter((e) => e.type === 'tool-input-delta').map((e) => [e.toolCallId, e.inputTextDelta])).toEqual([
      ['call_a', '{"city":'],
      ['call_b', '{"tz":"CET"}'],
      ['call_a', '"Oslo"}'],
    ]);
    expect(summarize(events).finishReason).toBe('tool-calls');
  });

  it('name and complete arguments in one chunk', async () => {
    const { events } = run([chunk({ tool_calls: [{ index: 0, id: 'call_1', function: { name: 'lookup', arguments: '{"q":"vel"}' } }] }), finishChunk('tool_calls')]);
    await assertValidVelStream(events);
    expect(types(events)).toEqual(['start', 'start-step', 'tool-input-start', 'tool-input-delta', 'tool-input-available', 'finish-step', 'finish']);
    expect(summarize(events).toolInputs).toEqual([{ toolCallId: 'call_1', toolName: 'lookup', input: { q: 'vel' } }]);
  });

  it('complete calls without index (Mistral) are told apart by id', async () => {
    const { events } = run([
      chunk({ tool_calls: [{ id: 'a', function: { name: 'f', arguments: '{"n":1}' } }] }),
      chunk({ tool_calls: [{ id: 'b', function: { name: 'g', arguments: '{"n":2}' } }] }),
      finishChunk('tool_calls'),
    ]);
    await assertValidVelStream(events);
    expect(summarize(events).toolInputs).toEqual([
      { toolCallId: 'a', toolName: 'f', input: { n: 1 } },
      { toolCallId: 'b', toolName: 'g', input: { n: 2 } },
    ]);
  });

  it('a chunk without index or id continues the last open call', async () => {
    const { events } = run([
      chunk({ tool_calls: [{ id: 'a', function: { name: 'search', arguments: '{"q":' } }] }),
      chunk({ tool_calls: [{ function: { name: '', arguments: '"x"}' } }] }),
      finishChunk('tool_calls'),
    ]);
    expect(summarize(events).toolInputs).toEqual([{ toolCallId: 'a', toolName: 'search', input: { q: 'x' } }]);
  });

  it('a new id at an index already used is a new call (APIs that number every call 0)', async () => {
    const { events } = run([
      chunk({ tool_calls: [{ index: 0, id: 'a', function: { name: 'f', arguments: '{}' } }] }),
      chunk({ tool_calls: [{ index: 0, id: 'b', function: { name: 'g', arguments: '{"k":true}' } }] }),
      finishChunk('tool_calls'),
    ]);
    await assertValidVelStream(events);
    expect(summarize(events).toolInputs.map((t) => [t.toolCallId, t.toolName, t.input])).toEqual([
      ['a', 'f', {}],
      ['b', 'g', { k: true }],
    ]);
  });

  it('a tool call without id gets a namespaced synthesized id', async () => {
    const { events } = run([chunk({ tool_calls: [{ index: 0, function: { name: 'f', arguments: '{}' } }] }), finishChunk('tool_calls')], 'abc');
    await assertValidVelStream(events);
    const [input] = summarize(events).toolInputs;
    expect(input?.toolCallId).toMatch(/^abc-call-\d+$/);
  });

  it('malformed tool JSON becomes tool-input-error with the raw text', async () => {
    const { events } = run([chunk({ tool_calls: [{ index: 0, id: 'call_bad', function: { name: 'f', arguments: '{"a":' } }] }), finishChunk('tool_calls')]);
    await assertValidVelStream(events);
    const error = events.find((e) => e.type === 'tool-input-error');
    expect(error).toMatchObject({ type: 'tool-input-error', toolCallId: 'call_bad', toolName: 'f', input: '{"a":' });
    expect(error && 'errorText' in error ? error.errorText : '').toMatch(/invalid tool input JSON/);
    expect(events.some((e) => e.type === 'tool-input-available')).toBe(false);
  });

  it('tool inputs still open at finish() are settled from what streamed', async () => {
    const { events } = run([chunk({ tool_calls: [{ index: 0, id: 'c', function: { name: 'f', arguments: '{"x":1}' } }] })]);
    await assertValidVelStream(events);
    expect(summarize(events).toolInputs).toEqual([{ toolCallId: 'c', toolName: 'f', input: { x: 1 } }]);
  });
});

describe('OpenAIChatTranslator text, reasoning, refusal, usage, errors', () => {
  it.each(['reasoning_content', 'reasoning'])('%s is reasoning, written before the text of the same chunk', async (field) => {
    const { events } = run([chunk({ [field]: 'think', content: null }), chunk({ [field]: 'ing', content: 'Hi' }), chunk({ content: '!' }), finishChunk('stop')]);
    await assertValidVelStream(events);
    const summary = summarize(events);
    expect(summary.reasoning).toBe('thinking');
    expect(summary.text).toBe('Hi!');
    expect(types(events)).toEqual(['start', 'start-step', 'reasoning-start', 'reasoning-delta', 'reasoning-delta', 'reasoning-end', 'text-start', 'text-delta', 'text-delta', 'text-end', 'finish-step', 'finish']);
  });

  it('Mistral content arrays: thinking parts are reasoning, text parts are text', async () => {
    const { events } = run([chunk({ content: [{ type: 'thinking', thinking: [{ type: 'text', text: 'hmm' }] }, { type: 'text', text: 'A' }] }), chunk({ content: 'B' }), finishChunk('stop')]);
    await assertValidVelStream(events);
    expect(summarize(events)).toMatchObject({ reasoning: 'hmm', text: 'AB' });
  });

  it('a refusal alone is text with finish reason content-filter', async () => {
    const { events } = run([chunk({ content: '', refusal: null }), chunk({ refusal: "I can't " }), chunk({ refusal: 'help with that.' }), finishChunk('stop')]);
    await assertValidVelStream(events);
    expect(summarize(events)).toMatchObject({ text: "I can't help with that.", finishReason: 'content-filter' });
  });

  it('a refusal next to an answer keeps the provider finish reason', async () => {
    const { events } = run([chunk({ content: 'Partly: ' }), chunk({ refusal: 'no more.' }), finishChunk('stop')]);
    expect(summarize(events)).toMatchObject({ text: 'Partly: no more.', finishReason: 'stop' });
  });

  it('usage riding on the last choice chunk, and on its own chunk', () => {
    const usage = { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5, prompt_tokens_details: { cached_tokens: 1 } };
    const onChoice = run([chunk({ content: 'x' }), finishChunk('stop', { usage })]);
    const alone = run([chunk({ content: 'x' }), finishChunk('stop'), { id: 'chatcmpl-1', choices: [], usage }]);
    const expected = { inputTokens: 3, outputTokens: 2, totalTokens: 5, cachedInputTokens: 1 };
    expect(summarize(onChoice.events).usage).toEqual(expected);
    expect(summarize(alone.events).usage).toEqual(expected);
    expect(alone.translator.state.skipped).toEqual([]);
  });

  it('response id and model come from the chunks; empty ids are ignored', () => {
    const { events, translator } = run([chunk({ content: 'x' }), { id: '', model: '', choices: [], prompt_filter_results: [] }]);
    expect(translator.state.responseId).toBe('chatcmpl-1');
    expect(translator.state.model).toBe('gpt-test');
    expect(events.at(-1)).toMatchObject({ type: 'finish', messageMetadata: { responseId: 'chatcmpl-1', model: 'gpt-test' } });
  });

  it('an error chunk is an error event and finish reason error', async () => {
    const { events, translator } = run([chunk({ content: 'par' }), { error: { message: 'Rate limit reached', type: 'rate_limit_error', code: 'rate_limit' } }]);
    await assertValidVelStream(events);
    expect(summarize(events)).toMatchObject({ text: 'par', errors: ['Rate limit reached'], finishReason: 'error' });
    expect(translator.state.finishReason).toBe('error');
  });

  it('Azure prompt filter chunks and choices other than 0 are skipped with a reason', () => {
    const translator = createOpenAIChatTranslator({ idPrefix: 'p' });
    expect(types(translator.push({ id: '', choices: [], prompt_filter_results: [{ prompt_index: 0 }] }))).toEqual(['start']);
    const out = translator.push({ id: 'x', choices: [{ index: 1, delta: { content: 'other choice' } }] });
    expect(out).toEqual([]);
    expect(translator.state.skipped.map((s) => s.index)).toEqual([0, 1]);
    expect(translator.state.skipped[0]!.reason).toMatch(/prompt filter/);
    expect(translator.state.skipped[1]!.reason).toMatch(/choice 0/);
  });

  it('unknown chunks and non-objects are skipped with a reason, never thrown', () => {
    const translator = new OpenAIChatTranslator({ idPrefix: 'p' });
    expect(() => translator.push({ type: 'x-unknown-event-type' })).not.toThrow();
    expect(() => translator.push(null)).not.toThrow();
    expect(() => translator.push('garbage')).not.toThrow();
    expect(translator.state.skipped).toHaveLength(3);
    for (const skipped of translator.state.skipped) expect(skipped.reason).toEqual(expect.any(String));
    expect(translator.state.skipped[1]!.reason).toMatch(/malformed event/);
  });
  it.each(['toString', 'constructor', '__proto__'])('finish_reason %s (a prototype key) is other, and the stream stays valid', async (reason) => {
    const { events } = run([chunk({ content: 'x' }), finishChunk(reason)]);
    await assertValidVelStream(events);
    expect(summarize(events).finishReason).toBe('other');
  });
});

describe('OpenAIChatTranslator abort', () => {
  const tail = (events: readonly VelEvent[]) => types(events);

  it('in the middle of text', () => {
    const translator = new OpenAIChatTranslator({ idPrefix: 'p' });
    translator.push(chunk({ content: 'Hel' }));
    const out = translator.abort('user stop');
    expect(tail(out)).toEqual(['text-end', 'finish-step', 'abort', 'finish']);
    expect(out.find((e) => e.type === 'abort')).toMatchObject({ reason: 'user stop' });
    expect(translator.push(chunk({ content: 'lo' }))).toEqual([]);
  });

  it('in the middle of reasoning', () => {
    const translator = new OpenAIChatTranslator({ idPrefix: 'p' });
    translator.push(chunk({ reasoning_content: 'thinking' }));
    expect(tail(translator.abort())).toEqual(['reasoning-end', 'finish-step', 'abort', 'finish']);
  });

  it('in the middle of a tool call', async () => {
    const translator = new OpenAIChatTranslator({ idPrefix: 'p' });
    const events = [...translator.push(chunk({ content: 'Let me look.' })), ...translator.push(chunk({ tool_calls: [{ index: 0, id: 'c', function: { name: 'f', arguments: '{"a"' } }] }))];
    const out = translator.abort();
    expect(tail(out)).toEqual(['text-end', 'tool-input-error', 'finish-step', 'abort', 'finish']);
    await assertValidVelStream([...events, ...out]);
  });
});

describe('OpenAIChatTranslator ids', () => {
  it('two translators with different idPrefix, interleaved, never share a text or reasoning id', async () => {
    const chunks = readFixture(FAMILY, 'deepseek-reasoning.chunks.txt');
    const a = new OpenAIChatTranslator({ idPrefix: 'node-a' });
    const b = new OpenAIChatTranslator({ idPrefix: 'node-b' });
    const eventsA: VelEvent[] = [];
    const eventsB: VelEvent[] = [];
    for (const c of chunks) {
      eventsA.push(...a.push(c));
      eventsB.push(...b.push(c));
    }
    eventsA.push(...a.finish());
    eventsB.push(...b.finish());
    await assertValidVelStream(eventsA);
    await assertValidVelStream(eventsB);
    const ids = (events: VelEvent[]) => new Set(events.flatMap((e) => (e.type.startsWith('text-') || e.type.startsWith('reasoning-') ? [(e as { id: string }).id] : [])));
    const idsA = ids(eventsA);
    const idsB = ids(eventsB);
    expect(idsA.size).toBeGreaterThanOrEqual(2); // a reasoning and a text block
    expect(idsB.size).toBe(idsA.size);
    for (const id of idsA) expect(idsB.has(id)).toBe(false);
    for (const id of idsA) expect(id.startsWith('node-a-')).toBe(true);
  });
});
