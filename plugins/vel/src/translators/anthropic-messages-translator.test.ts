// Conformance of the Anthropic Messages translator over every recorded stream (text, tool inputs and
// usage checked against an oracle that reads the native events directly), plus targeted cases:
// interleaved thinking, malformed tool JSON, server tools, errors, aborts, hostile ordering, ids.
import fc from 'fast-check';
import type { VelEvent } from '@sluice/core';
import { isToolUIPart } from 'ai';
import { describe, expect, it } from 'vitest';
import { toVelFinishReason } from '../finish-reasons.ts';
import { assertValidVelStream, fixtureFiles, readFixture, summarize, toUIMessage, uiMessageText } from '../testing/conformance.ts';
import type { TranslatorOptions } from '../translator.ts';
import { AnthropicMessagesTranslator, createAnthropicMessagesTranslator } from './anthropic-messages-translator.ts';

const types = (events: readonly VelEvent[]) => events.map((e) => e.type);

function run(native: readonly unknown[], options: TranslatorOptions = { idPrefix: 'a' }): { events: VelEvent[]; translator: AnthropicMessagesTranslator } {
  const translator = createAnthropicMessagesTranslator(options);
  const events: VelEvent[] = [];
  for (const event of native) events.push(...translator.push(event));
  events.push(...translator.finish());
  return { events, translator };
}

/** The loose shape the oracle reads; the fixtures are the provider's own JSON. */
interface NativeEvent {
  type?: string;
  index?: number;
  message?: { usage?: Record<string, unknown> };
  content_block?: { type?: string; id?: string; name?: string; input?: unknown; tool_use_id?: string };
  delta?: { type?: string; text?: string; partial_json?: string; stop_reason?: string | null };
  usage?: Record<string, unknown> & { output_tokens_details?: { thinking_tokens?: number } };
}

interface Expected {
  text: string;
  tools: Array<{ toolCallId: string; toolName: string; input: unknown }>;
  results: number;
  usage: Record<string, number | undefined>;
  stopReason: string | undefined;
}

/** What the native events say, read without the translator: text of `text` blocks, tool inputs, usage. */
function oracle(native: readonly unknown[]): Expected {
  let text = '';
  let stopReason: string | undefined;
  let started = false;
  const blocks = new Map<number, { type: string; id: string; name: string; input: unknown; json: string }>();
  const counts: Record<string, number> = {};
  const take = (usage: NativeEvent['usage'] | undefined) => {
    for (const [key, value] of Object.entries(usage ?? {})) if (typeof value === 'number') counts[key] = value;
    const thinking = usage?.output_tokens_details?.thinking_tokens;
    if (typeof thinking === 'number') counts.thinking = thinking;
  };
  for (const raw of native) {
    const event = raw as NativeEvent;
    if (event.type === 'message_start' && !started) {
      started = true;
      take(event.message?.usage);
    } else if (event.type === 'message_delta') {
      take(event.usage);
      stopReason = event.delta?.stop_reason ?? stopReason;
    } else if (event.type === 'content_block_start' && event.index !== undefined && event.content_block) {
      const b = event.content_block;
      blocks.set(event.index, { type: b.type ?? '', id: b.id ?? '', name: b.name ?? '', input: b.input, json: '' });
    } else if (event.type === 'content_block_delta' && event.index !== undefined) {
      const block = blocks.get(event.index);
      if (event.delta?.type === 'text_delta' && block?.type === 'text') text += event.delta.text ?? '';
      if (event.delta?.type === 'input_json_delta' && block) block.json += event.delta.partial_json ?? '';
    }
  }
  const all = [...blocks.values()];
  const tools = all
    .filter((b) => b.type === 'tool_use' || b.type === 'server_tool_use')
    .map((b) => ({ toolCallId: b.id, toolName: b.name, input: b.json.trim() === '' ? b.input : (JSON.parse(b.json) as unknown) }));
  const inputKeys = ['input_tokens', 'cache_read_input_tokens', 'cache_creation_input_tokens'];
  const input = inputKeys.some((k) => k in counts) ? inputKeys.reduce((sum, k) => sum + (counts[k] ?? 0), 0) : undefined;
  const output = counts.output_tokens;
  return {
    text,
    tools,
    results: all.filter((b) => b.type.endsWith('_tool_result')).length,
    usage: {
      inputTokens: input,
      outputTokens: output,
      totalTokens: input !== undefined && output !== undefined ? input + output : undefined,
      cachedInputTokens: counts.cache_read_input_tokens,
      cacheWriteInputTokens: counts.cache_creation_input_tokens,
      reasoningTokens: counts.thinking,
    },
    stopReason,
  };
}

describe('AnthropicMessagesTranslator conformance (recorded streams)', () => {
  it('covers at least the known recordings', () => {
    expect(fixtureFiles('anthropic')).toEqual(expect.arrayContaining(['anthropic-text.chunks.txt', 'duplicate-message-start.chunks.txt']));
  });

  it.each(fixtureFiles('anthropic'))('%s', async (file) => {
    const native = readFixture('anthropic', file);
    let result: ReturnType<typeof run> | undefined;
    expect(() => (result = run(native))).not.toThrow();
    const { events } = result!;
    await assertValidVelStream(events);

    const want = oracle(native);
    const summary = summarize(events);
    expect(summary.text).toBe(want.text);
    expect(summary.toolInputs).toEqual(want.tools);
    expect(summary.toolInputErrors).toEqual([]);
    expect(types(events).filter((t) => t === 'tool-output-available' || t === 'tool-output-error')).toHaveLength(want.results);
    expect(summary.usage).toEqual(want.usage);
    expect(summary.finishReason).toBe(toVelFinishReason(want.stopReason) ?? 'other');

    const message = await toUIMessage(events);
    expect(uiMessageText(message)).toBe(want.text);
    const toolParts = (message?.parts ?? []).filter(isToolUIPart);
    expect(toolParts.map((p) => ({ toolCallId: p.toolCallId, input: p.input }))).toEqual(want.tools.map(({ toolCallId, input }) => ({ toolCallId, input })));
  });

  it('the oracle agrees with hand-read values (duplicate-message-start)', () => {
    const want = oracle(readFixture('anthropic', 'duplicate-message-start.chunks.txt'));
    expect(want.text).toBe('Hello, World!');
    expect(want.usage).toEqual({ inputTokens: 17, outputTokens: 227, totalTokens: 244 });
  });
});

// Hand-built events for the targeted cases.
const messageStart = (usage: Record<string, number> = { input_tokens: 10, output_tokens: 1 }) => ({
  type: 'message_start',
  message: { id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-test', content: [], usage },
});
const blockStart = (index: number, content_block: Record<string, unknown>) => ({ type: 'content_block_start', index, content_block });
const delta = (index: number, d: Record<string, unknown>) => ({ type: 'content_block_delta', index, delta: d });
const textDelta = (index: number, text: string) => delta(index, { type: 'text_delta', text });
const thinkingDelta = (index: number, thinking: string) => delta(index, { type: 'thinking_delta', thinking });
const jsonDelta = (index: number, partial_json: string) => delta(index, { type: 'input_json_delta', partial_json });
const blockStop = (index: number) => ({ type: 'content_block_stop', index });
const messageDelta = (stop_reason: string, usage: Record<string, unknown> = { output_tokens: 20 }) => ({ type: 'message_delta', delta: { stop_reason, stop_sequence: null }, usage });

describe('AnthropicMessagesTranslator targeted cases', () => {
  it('interleaved thinking and tool_use keep their order, blocks and signature', async () => {
    const { events, translator } = run([
      messageStart(),
      blockStart(0, { type: 'thinking', thinking: '', signature: '' }),
      thinkingDelta(0, 'Need the weather.'),
      delta(0, { type: 'signature_delta', signature: 'sig-0' }),
      blockStop(0),
      blockStart(1, { type: 'tool_use', id: 'toolu_1', name: 'weather', input: {} }),
      jsonDelta(1, '{"city":'),
      jsonDelta(1, ' "Paris"}'),
      blockStop(1),
      blockStart(2, { type: 'redacted_thinking', data: 'opaque' }),
      blockStop(2),
      blockStart(3, { type: 'thinking', thinking: '', signature: '' }),
      delta(3, { type: 'signature_delta', signature: 'sig-3' }),
      blockStop(3),
      blockStart(4, { type: 'text', text: '' }),
      textDelta(4, 'Checking.'),
      blockStop(4),
      messageDelta('tool_use'),
      { type: 'message_stop' },
    ]);
    await assertValidVelStream(events);
    expect(types(events)).toEqual([
      'start', 'start-step',
      'reasoning-start', 'reasoning-delta', 'reasoning-end',
      'tool-input-start', 'tool-input-delta', 'tool-input-delta', 'tool-input-available',
      'reasoning-start', 'reasoning-end',
      'reasoning-start', 'reasoning-end',
      'text-start', 'text-delta', 'text-end',
      'finish-step', 'finish',
    ]);
    expect(events.find((e) => e.type === 'tool-input-available')).toMatchObject({ toolCallId: 'toolu_1', toolName: 'weather', input: { city: 'Paris' } });
    const reasoningIds = events.flatMap((e) => (e.type === 'reasoning-start' ? [e.id] : []));
    expect(new Set(reasoningIds).size).toBe(3);
    expect(translator.thinkingSignatures).toEqual(new Map([[0, 'sig-0'], [3, 'sig-3']]));
    expect(events.at(-1)).toMatchObject({ type: 'finish', finishReason: 'tool-calls' });
  });

  it('malformed tool JSON → tool-input-error carrying the raw text', async () => {
    const { events } = run([messageStart(), blockStart(0, { type: 'tool_use', id: 'toolu_bad', name: 'f', input: {} }), jsonDelta(0, '{"a": '), blockStop(0), messageDelta('tool_use')]);
    await assertValidVelStream(events);
    expect(types(events)).not.toContain('tool-input-available');
    expect(events.find((e) => e.type === 'tool-input-error')).toMatchObject({ toolCallId: 'toolu_bad', toolName: 'f', input: '{"a": ', errorText: expect.stringContaining('invalid tool input JSON') });
  });

  it('a tool_use with its input in the start block and no delta uses that input', () => {
    const { events } = run([messageStart(), blockStart(0, { type: 'tool_use', id: 'toolu_2', name: 'g', input: { x: 1 } }), blockStop(0)]);
    expect(summarize(events).toolInputs).toEqual([{ toolCallId: 'toolu_2', toolName: 'g', input: { x: 1 } }]);
  });

  it('server tool with result: provider-executed input, output, sources (deduplicated with citations)', async () => {
    const results = [
      { type: 'web_search_result', url: 'https://a.example', title: 'A', encrypted_content: 'x' },
      { type: 'web_search_result', url: 'https://b.example', title: 'B', encrypted_content: 'y' },
    ];
    const { events } = run([
      messageStart({ input_tokens: 100, cache_read_input_tokens: 30, cache_creation_input_tokens: 5, output_tokens: 1 }),
      blockStart(0, { type: 'server_tool_use', id: 'srvtoolu_1', name: 'web_search', input: {} }),
      jsonDelta(0, '{"query":"vel"}'),
      blockStop(0),
      blockStart(1, { type: 'web_search_tool_result', tool_use_id: 'srvtoolu_1', content: results }),
      blockStop(1),
      blockStart(2, { type: 'text', text: '' }),
      delta(2, { type: 'citations_delta', citation: { type: 'web_search_result_location', url: 'https://a.example', title: 'A', cited_text: '…' } }),
      delta(2, { type: 'citations_delta', citation: { type: 'char_location', document_index: 0, document_title: 'Notes', start_char_index: 0, end_char_index: 3, cited_text: 'abc' } }),
      delta(2, { type: 'citations_delta', citation: { type: 'page_location', document_index: 1, document_title: 'Paper', start_page_number: 1, end_page_number: 2, cited_text: 'p' } }),
      textDelta(2, 'Found it.'),
      blockStop(2),
      messageDelta('end_turn', { output_tokens: 40, input_tokens: 100, cache_read_input_tokens: 30, cache_creation_input_tokens: 5 }),
    ]);
    await assertValidVelStream(events);
    expect(events.find((e) => e.type === 'tool-input-available')).toEqual({ type: 'tool-input-available', toolCallId: 'srvtoolu_1', toolName: 'web_search', input: { query: 'vel' }, providerExecuted: true });
    expect(events.find((e) => e.type === 'tool-output-available')).toEqual({ type: 'tool-output-available', toolCallId: 'srvtoolu_1', output: results, providerExecuted: true });
    expect(events.filter((e) => e.type === 'source-url').map((e) => e.type === 'source-url' && [e.url, e.title])).toEqual([['https://a.example', 'A'], ['https://b.example', 'B']]);
    expect(events.filter((e) => e.type === 'source-document').map((e) => e.type === 'source-document' && [e.mediaType, e.title])).toEqual([['text/plain', 'Notes'], ['application/pdf', 'Paper']]);
    expect(summarize(events).usage).toEqual({ inputTokens: 135, outputTokens: 40, totalTokens: 175, cachedInputTokens: 30, cacheWriteInputTokens: 5 });
    const message = await toUIMessage(events);
    expect(message?.parts.find(isToolUIPart)).toMatchObject({ toolCallId: 'srvtoolu_1', state: 'output-available', output: results });
  });

  it('a server tool error result → tool-output-error', async () => {
    const { events } = run([
      messageStart(),
      blockStart(0, { type: 'server_tool_use', id: 'srvtoolu_e', name: 'web_fetch', input: { url: 'https://x.example' } }),
      blockStop(0),
      blockStart(1, { type: 'web_fetch_tool_result', tool_use_id: 'srvtoolu_e', content: { type: 'web_fetch_tool_result_error', error_code: 'url_not_accessible' } }),
      blockStop(1),
      messageDelta('end_turn'),
    ]);
    await assertValidVelStream(events);
    expect(events.find((e) => e.type === 'tool-output-error')).toEqual({ type: 'tool-output-error', toolCallId: 'srvtoolu_e', errorText: 'web_fetch_tool_result_error: url_not_accessible', providerExecuted: true });
    expect(types(events)).not.toContain('tool-output-available');
  });

  it('an error event → error chunk and finish reason error', async () => {
    const { events } = run([messageStart(), blockStart(0, { type: 'text', text: '' }), textDelta(0, 'Hel'), { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }]);
    await assertValidVelStream(events);
    expect(events.filter((e) => e.type === 'error')).toEqual([{ type: 'error', errorText: 'overloaded_error: Overloaded' }]);
    expect(events.at(-1)).toMatchObject({ type: 'finish', finishReason: 'error' });
    expect(types(events).slice(-4)).toEqual(['error', 'text-end', 'finish-step', 'finish']);
  });

  it('refusal: no text, no error chunk, finish reason content-filter', async () => {
    const { events } = run(readFixture('anthropic', 'anthropic-refusal.chunks.txt'));
    await assertValidVelStream(events);
    expect(types(events)).toEqual(['start', 'start-step', 'finish-step', 'finish']);
    expect(events.at(-1)).toMatchObject({ finishReason: 'content-filter' });
  });

  it('ping is absorbed silently; unknown event types are skipped with a reason', () => {
    const translator = createAnthropicMessagesTranslator({ idPrefix: 'a' });
    expect(translator.push({ type: 'ping' })).toEqual([{ type: 'start' }]); // the stream's start goes out with the first batch
    expect(translator.push({ type: 'ping' })).toEqual([]);
    expect(translator.state.skipped).toEqual([]);
    expect(translator.push({ type: 'brand_new_event' })).toEqual([]);
    expect(translator.state.skipped).toEqual([{ index: 2, reason: 'unknown event type "brand_new_event"' }]);
  });

  describe('abort in the middle: close open blocks → tool-output-error for open provider tools → finish-step → abort → finish', () => {
    const abortAfter = (native: unknown[]) => {
      const translator = createAnthropicMessagesTranslator({ idPrefix: 'a' });
      const events: VelEvent[] = [];
      for (const event of native) events.push(...translator.push(event));
      events.push(...translator.abort('user stopped'));
      expect(translator.push(textDelta(0, 'late'))).toEqual([]);
      return events;
    };

    it('of text', async () => {
      const events = abortAfter([messageStart(), blockStart(0, { type: 'text', text: '' }), textDelta(0, 'Hal')]);
      await assertValidVelStream(events);
      expect(types(events)).toEqual(['start', 'start-step', 'text-start', 'text-delta', 'text-end', 'finish-step', 'abort', 'finish']);
      expect(events.at(-2)).toEqual({ type: 'abort', reason: 'user stopped' });
      expect(events.at(-1)).toMatchObject({ type: 'finish', finishReason: 'other' });
    });

    it('of thinking', async () => {
      const events = abortAfter([messageStart(), blockStart(0, { type: 'thinking', thinking: '', signature: '' }), thinkingDelta(0, 'hmm')]);
      await assertValidVelStream(events);
      expect(types(events).slice(2)).toEqual(['reasoning-start', 'reasoning-delta', 'reasoning-end', 'finish-step', 'abort', 'finish']);
    });

    it('of a client tool call still receiving its input', async () => {
      const events = abortAfter([messageStart(), blockStart(0, { type: 'tool_use', id: 'toolu_x', name: 'f', input: {} }), jsonDelta(0, '{"a":')]);
      await assertValidVelStream(events);
      expect(types(events).slice(2)).toEqual(['tool-input-start', 'tool-input-delta', 'tool-input-error', 'finish-step', 'abort', 'finish']);
    });

    it('of a server tool waiting for its result, with text open', async () => {
      const events = abortAfter([
        messageStart(),
        blockStart(0, { type: 'server_tool_use', id: 'srvtoolu_w', name: 'web_search', input: {} }),
        jsonDelta(0, '{"query":"q"}'),
        blockStop(0),
        blockStart(1, { type: 'text', text: '' }),
        textDelta(1, 'Searching'),
      ]);
      await assertValidVelStream(events);
      expect(types(events).slice(-5)).toEqual(['text-end', 'tool-output-error', 'finish-step', 'abort', 'finish']);
      expect(events.find((e) => e.type === 'tool-output-error')).toMatchObject({ toolCallId: 'srvtoolu_w', providerExecuted: true });
    });
  });

  describe('duplicated and out-of-order events', () => {
    it('duplicate message_start adds nothing and is recorded', () => {
      const { events, translator } = run(readFixture('anthropic', 'duplicate-message-start.chunks.txt'));
      expect(types(events).filter((t) => t === 'start-step')).toHaveLength(1);
      expect(translator.state.skipped).toEqual([{ index: 1, reason: 'duplicate message_start' }]);
      expect(summarize(events).usage).toEqual({ inputTokens: 17, outputTokens: 227, totalTokens: 244 });
    });

    it('hand-picked disorder: delta and stop before start, repeated start/stop, message_delta first, events after message_stop', async () => {
      const { events, translator } = run([
        messageDelta('end_turn', { output_tokens: 3 }),
        textDelta(0, 'early'),
        blockStop(0),
        messageStart(),
        blockStart(0, { type: 'text', text: '' }),
        blockStart(0, { type: 'text', text: '' }),
        textDelta(0, 'Hi'),
        blockStop(0),
        blockStop(0),
        textDelta(0, 'late'),
        blockStart(1, { type: 'tool_use', id: 'toolu_d', name: 'f', input: {} }),
        blockStart(2, { type: 'tool_use', id: 'toolu_d', name: 'f', input: {} }),
        blockStop(1),
        blockStart(3, { type: 'web_search_tool_result', tool_use_id: 'toolu_unknown', content: [] }),
        { type: 'message_stop' },
        textDelta(0, 'after stop'),
      ]);
      await assertValidVelStream(events);
      expect(summarize(events).text).toBe('Hi');
      expect(summarize(events).toolInputs).toEqual([{ toolCallId: 'toolu_d', toolName: 'f', input: {} }]);
      expect(translator.state.skipped.map((s) => s.index)).toEqual([1, 2, 5, 8, 9, 11, 13, 15]);
      // The late message_start fills the input count but does not replace message_delta's final output count.
      expect(summarize(events).usage).toEqual({ inputTokens: 10, outputTokens: 3, totalTokens: 13 });
    });

    it('any mix of duplicated, dropped and moved events from the recordings never throws and ends valid', async () => {
      const streams = fixtureFiles('anthropic').map((file) => readFixture('anthropic', file));
      const op = fc.tuple(fc.constantFrom('dup', 'drop', 'move'), fc.nat(), fc.nat());
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(...streams), fc.array(op, { maxLength: 12 }), fc.boolean(), async (stream, ops, abort) => {
          const events = [...stream];
          for (const [kind, a, b] of ops) {
            if (events.length === 0) break;
            const i = a % events.length;
            if (kind === 'dup') events.splice(i, 0, events[i]);
            else if (kind === 'drop') events.splice(i, 1);
            else events.splice(b % events.length, 0, ...events.splice(i, 1));
          }
          const translator = new AnthropicMessagesTranslator({ idPrefix: 'f' });
          const out: VelEvent[] = [];
          for (const event of events) out.push(...translator.push(event));
          out.push(...(abort ? translator.abort() : translator.finish()));
          await assertValidVelStream(out);
        }),
        { seed: 20_250_101, numRuns: 150 },
      );
    });
  });

  it('two translators with different idPrefix never share an id (text, reasoning, source ids)', () => {
    const native = [
      messageStart(),
      blockStart(0, { type: 'thinking', thinking: '', signature: '' }),
      thinkingDelta(0, 'think'),
      blockStop(0),
      blockStart(1, { type: 'text', text: '' }),
      delta(1, { type: 'citations_delta', citation: { type: 'web_search_result_location', url: 'https://a.example', title: 'A' } }),
      delta(1, { type: 'citations_delta', citation: { type: 'char_location', document_index: 0, document_title: 'D' } }),
      textDelta(1, 'x'),
      blockStop(1),
    ];
    const ids = (events: VelEvent[]) =>
      events.flatMap((e) => {
        if (e.type === 'text-start' || e.type === 'reasoning-start') return [e.id];
        if (e.type === 'source-url' || e.type === 'source-document') return [e.sourceId];
        return [];
      });
    const one = ids(run(native, { idPrefix: 'left' }).events);
    const two = ids(run(native, { idPrefix: 'right' }).events);
    expect(one).toHaveLength(4);
    expect(two).toHaveLength(4);
    expect(one.filter((id) => two.includes(id))).toEqual([]);
    expect(one.every((id) => id.startsWith('left-'))).toBe(true);
    expect(two.every((id) => id.startsWith('right-'))).toBe(true);
  });
});
