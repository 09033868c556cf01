// Conformance of the Responses API translator over every recorded stream (text, tool inputs and
// outputs, usage, sources checked against an oracle computed from the native events), plus the
// edge cases one by one: id rotation, lost deltas, provider-executed tools, failures, abort.
import { usageFromResponses, type VelEvent } from '@sluice/core';
import { describe, expect, it } from 'vitest';
import { assertValidVelStream, fixtureFiles, readFixture, summarize, toUIMessage, uiMessageText } from '../testing/conformance.ts';
import { createOpenAIResponsesTranslator, OpenAIResponsesTranslator } from './openai-responses-translator.ts';

const FAMILY = 'openai-responses';

type Json = Record<string, unknown>;

function run(native: readonly unknown[], idPrefix = 'p'): { events: VelEvent[]; translator: OpenAIResponsesTranslator } {
  const translator = new OpenAIResponsesTranslator({ idPrefix });
  const events: VelEvent[] = [];
  for (const event of native) events.push(...translator.push(event));
  events.push(...translator.finish());
  return { events, translator };
}

const PROVIDER_TOOL_ITEMS = new Set(['web_search_call', 'file_search_call', 'code_interpreter_call', 'image_generation_call', 'mcp_call', 'mcp_list_tools']);
const CLIENT_ACTION_ITEMS = new Set(['function_call', 'custom_tool_call', 'computer_call', 'local_shell_call', 'shell_call', 'apply_patch_call', 'mcp_approval_request']);

/** What the provider said, read straight from the native events (independently of the translator). */
function oracle(native: readonly unknown[]) {
  const events = native as Json[];
  const terminal = events.find((e) => e.type === 'response.completed' || e.type === 'response.incomplete' || e.type === 'response.failed');
  const responses = events.flatMap((e) => (e.response && typeof e.response === 'object' ? [e.response as Json] : []));
  const output = terminal ? ((terminal.response as Json).output as Json[]) : events.filter((e) => e.type === 'response.output_item.done').map((e) => e.item as Json);
  const messages = output.filter((item) => item.type === 'message');
  const parts = messages.flatMap((m) => m.content as Json[]).filter((p) => p.type === 'output_text');
  const text = terminal ? parts.map((p) => p.text as string).join('') : events.filter((e) => e.type === 'response.output_text.done').map((e) => e.text as string).join('');
  const calls = output.flatMap((item) => {
    if (item.type === 'function_call') return [{ toolCallId: item.call_id as string, toolName: item.name as string, input: JSON.parse(item.arguments as string) as unknown }];
    if (item.type === 'custom_tool_call') return [{ toolCallId: item.call_id as string, toolName: item.name as string, input: item.input }];
    return [];
  });
  const usage = [...responses].reverse().find((r) => r.usage && typeof r.usage === 'object')?.usage;
  const errors = [
    ...new Set(
      events.flatMap((e) => {
        if (e.type === 'error') return [((e.error as Json | undefined)?.message ?? e.message) as string];
        if (e.type === 'response.failed') return [((e.response as Json).error as Json).message as string];
        return [];
      }),
    ),
  ];
  let finishReason = 'other';
  if (errors.length > 0) finishReason = 'error';
  else if (terminal?.type === 'response.completed') finishReason = output.some((item) => CLIENT_ACTION_ITEMS.has(item.type as string)) ? 'tool-calls' : 'stop';
  return {
    text,
    calls,
    providerTools: output.filter((item) => PROVIDER_TOOL_ITEMS.has(item.type as string)),
    toolItemCount: output.filter((item) => PROVIDER_TOOL_ITEMS.has(item.type as string) || CLIENT_ACTION_ITEMS.has(item.type as string)).length,
    usage: usage === undefined ? undefined : usageFromResponses(usage),
    sources: [...new Set(parts.flatMap((p) => (p.annotations as Json[]).filter((a) => a.type === 'url_citation').map((a) => a.url as string)))],
    errors,
    finishReason,
  };
}

function toolParts(message: Awaited<ReturnType<typeof toUIMessage>>) {
  return (message?.parts ?? []).filter((part) => part.type.startsWith('tool-') || part.type === 'dynamic-tool');
}

describe('OpenAIResponsesTranslator conformance over recorded streams', () => {
  it.each(fixtureFiles(FAMILY))('%s', async (file) => {
    const native = readFixture(FAMILY, file);
    const expected = oracle(native);
    let result: ReturnType<typeof run> | undefined;
    expect(() => (result = run(native))).not.toThrow();
    const { events } = result!;
    await assertValidVelStream(events);

    const summary = summarize(events);
    expect(summary.text).toBe(expected.text);
    for (const call of expected.calls) expect(summary.toolInputs).toContainEqual(call);
    expect(summary.toolInputErrors).toEqual([]);
    expect(summary.usage).toEqual(expected.usage);
    expect(summary.finishReason).toBe(expected.finishReason);
    expect([...summary.sources].sort()).toEqual([...expected.sources].sort());
    expect(summary.errors).toEqual(expected.errors);

    // Every tool OpenAI ran: input and output, under the item id, marked provider-executed.
    for (const item of expected.providerTools) {
      const input = events.find((e) => e.type === 'tool-input-available' && e.toolCallId === item.id);
      expect(input).toMatchObject({ providerExecuted: true });
      const output = events.find((e) => (e.type === 'tool-output-available' || e.type === 'tool-output-error') && e.toolCallId === item.id);
      expect(output?.type).toBe(item.status === 'failed' ? 'tool-output-error' : 'tool-output-available');
    }
    const toolCallIds = new Set(events.flatMap((e) => (e.type === 'tool-input-available' || e.type === 'tool-input-error' ? [e.toolCallId] : [])));
    expect(toolCallIds.size).toBe(expected.toolItemCount);

    // readUIMessageStream fails on `error` chunks by design: check that, then the message without them.
    if (expected.errors.length > 0) await expect(toUIMessage(events)).rejects.toThrow(expected.errors[0]);
    const message = await toUIMessage(events.filter((e) => e.type !== 'error'));
    expect(uiMessageText(message)).toBe(expected.text);
    expect(toolParts(message)).toHaveLength(expected.toolItemCount);
  });

  it('the oracle sees content in the recorded streams (so the comparisons above are not vacuous)', () => {
    const oracles = fixtureFiles(FAMILY).map((file) => oracle(readFixture(FAMILY, file)));
    expect(oracles.some((o) => o.text.length > 0)).toBe(true);
    expect(oracles.some((o) => o.calls.length > 0)).toBe(true);
    expect(oracles.some((o) => o.providerTools.length > 0)).toBe(true);
    expect(oracles.some((o) => o.sources.length > 0)).toBe(true);
    expect(oracles.some((o) => o.errors.length > 0)).toBe(true);
    expect(oracles.filter((o) => o.usage !== undefined).length).toBeGreaterThan(oracles.length / 2);
  });

  it('github-copilot-id-rotation: one reasoning and one text block although every event has a new item id', () => {
    const { events } = run(readFixture(FAMILY, 'github-copilot-id-rotation.1.chunks.txt'));
    expect(events.filter((e) => e.type === 'text-start')).toHaveLength(1);
    expect(events.filter((e) => e.type === 'reasoning-start')).toHaveLength(1);
    expect(summarize(events).reasoning).toBe('**Counting character occurrences**');
  });

  it('openai-phase: the commentary and the final answer are two text blocks, in order', () => {
    const { events } = run(readFixture(FAMILY, 'openai-phase.1.chunks.txt'));
    const starts = events.filter((e) => e.type === 'text-start');
    expect(starts).toHaveLength(2);
    const textOf = (id: string) => events.flatMap((e) => (e.type === 'text-delta' && e.id === id ? [e.delta] : [])).join('');
    expect(textOf((starts[0] as { id: string }).id)).toMatch(/^Got it/);
    expect(textOf((starts[1] as { id: string }).id)).toMatch(/^Here are a few/);
  });

  it('openai-image-generation-tool: the image is a file part with a data URL of the result', () => {
    const native = readFixture(FAMILY, 'openai-image-generation-tool.1.chunks.txt') as Json[];
    const item = native.find((e) => e.type === 'response.output_item.done' && (e.item as Json).type === 'image_generation_call')!.item as Json;
    const { events } = run(native);
    expect(events.filter((e) => e.type === 'file')).toEqual([{ type: 'file', url: `data:image/webp;base64,${item.result as string}`, mediaType: 'image/webp' }]);
  });

  it('openai-code-interpreter-tool: input { code, containerId }, output the logs', () => {
    const native = readFixture(FAMILY, 'openai-code-interpreter-tool.1.chunks.txt') as Json[];
    const items = native.filter((e) => e.type === 'response.output_item.done' && (e.item as Json).type === 'code_interpreter_call').map((e) => e.item as Json);
    const { events } = run(native);
    for (const item of items) {
      expect(events).toContainEqual({ type: 'tool-input-available', toolCallId: item.id, toolName: 'code_interpreter', input: { code: item.code, containerId: item.container_id }, providerExecuted: true });
      expect(events).toContainEqual({ type: 'tool-output-available', toolCallId: item.id, output: { outputs: item.outputs }, providerExecuted: true });
    }
  });
});

// ── hand-written events ──────────────────────────────────────────────────────────────────────

const response = (extra: Json = {}): Json => ({ id: 'resp_1', model: 'gpt-test', output: [], usage: null, ...extra });
const created: Json = { type: 'response.created', response: response({ status: 'in_progress' }) };
const messageAdded = (id: string, outputIndex = 0): Json => ({ type: 'response.output_item.added', output_index: outputIndex, item: { id, type: 'message', role: 'assistant', content: [] } });
const textDelta = (itemId: string, delta: string, outputIndex = 0): Json => ({ type: 'response.output_text.delta', item_id: itemId, output_index: outputIndex, content_index: 0, delta });
const fnAdded = (id: string, callId: string, name: string, outputIndex = 0): Json => ({ type: 'response.output_item.added', output_index: outputIndex, item: { id, type: 'function_call', call_id: callId, name, arguments: '' } });
const types = (events: readonly VelEvent[]) => events.map((e) => e.type);

describe('OpenAIResponsesTranslator items', () => {
  it('maps by output_index when the item id is unknown', async () => {
    const { events } = run([created, messageAdded('id-1'), textDelta('id-2', 'Hel'), textDelta('id-3', 'lo'), { type: 'response.output_text.done', item_id: 'id-4', output_index: 0, content_index: 0, text: 'Hello' }]);
    await assertValidVelStream(events);
    expect(types(events).filter((t) => t.startsWith('text-'))).toEqual(['text-start', 'text-delta', 'text-delta', 'text-end']);
    expect(summarize(events).text).toBe('Hello');
  });

  it('the final text is authoritative: what the deltas missed is written at .done', () => {
    const { events } = run([created, messageAdded('m'), textDelta('m', 'Hel'), { type: 'response.output_text.done', item_id: 'm', output_index: 0, content_index: 0, text: 'Hello world' }]);
    expect(summarize(events).text).toBe('Hello world');
  });

  it.each([
    ['same length, other text', ['ab', 'c'], 'abd'],
    ['shorter than the deltas', ['Hello', ' world'], 'Hello'],
    ['other text before the missed tail', ['Hel', 'lo'], 'Help me'],
  ])('a final text that is not the deltas\' continuation (%s): the streamed text stands, the event is skipped with a reason', (_name, deltas, final) => {
    const done = { type: 'response.output_text.done', item_id: 'm', output_index: 0, content_index: 0, text: final };
    const { events, translator } = run([created, messageAdded('m'), ...deltas.map((d) => textDelta('m', d)), done]);
    expect(summarize(events).text).toBe(deltas.join(''));
    expect(translator.state.skipped).toContainEqual({ index: deltas.length + 2, reason: 'the final text of m:0 differs from its deltas; the streamed text stands' });
  });

  it('the final text is checked in UTF-16 code units: emoji and accents split across deltas still match', () => {
    const final = 'Café 👋🏽 done';
    const deltas = ['Caf', 'é \ud83d', '\udc4b\ud83c\udffd', ' do'];
    const { events, translator } = run([created, messageAdded('m'), ...deltas.map((d) => textDelta('m', d)), { type: 'response.output_text.done', item_id: 'm', output_index: 0, content_index: 0, text: final }]);
    expect(summarize(events).text).toBe(final);
    expect(translator.state.skipped).toEqual([]);
  });

  it('reasoning: the final summary fills what its deltas missed, and a different one is skipped', () => {
    const reasoningAdded = { type: 'response.output_item.added', output_index: 0, item: { id: 'rs_1', type: 'reasoning', summary: [] } };
    const summaryDelta = (delta: string, index = 0) => ({ type: 'response.reasoning_summary_text.delta', item_id: 'rs_1', output_index: 0, summary_index: index, delta });
    const summaryDone = (text: string, index = 0) => ({ type: 'response.reasoning_summary_text.done', item_id: 'rs_1', output_index: 0, summary_index: index, text });
    const { events, translator } = run([created, reasoningAdded, summaryDelta('Think'), summaryDone('Think harder.'), summaryDelta('One', 1), summaryDone('Two', 1)]);
    expect(summarize(events).reasoning).toBe('Think harder.One');
    expect(translator.state.skipped.map((s) => s.reason)).toEqual(['the final reasoning of rs_1:s1 differs from its deltas; the streamed text stands']);
  });

  it('function call arguments: deltas under the call id, the final arguments settle the input', async () => {
    const { events } = run([
      created,
      fnAdded('fc_1', 'call_1', 'lookup'),
      { type: 'response.function_call_arguments.delta', item_id: 'fc_1', output_index: 0, delta: '{"q":' },
      // a lost delta: `"vel"}` never arrives
      { type: 'response.function_call_arguments.done', item_id: 'fc_1', output_index: 0, arguments: '{"q":"vel"}' },
      { type: 'response.completed', response: response({ status: 'completed' }) },
    ]);
    await assertValidVelStream(events);
    expect(events).toContainEqual({ type: 'tool-input-delta', toolCallId: 'call_1', inputTextDelta: '{"q":' });
    expect(summarize(events).toolInputs).toEqual([{ toolCallId: 'call_1', toolName: 'lookup', input: { q: 'vel' } }]);
    expect(summarize(events).finishReason).toBe('tool-calls');
  });

  it('malformed final arguments become tool-input-error', async () => {
    const { events } = run([created, fnAdded('fc_1', 'call_1', 'f'), { type: 'response.output_item.done', output_index: 0, item: { id: 'fc_1', type: 'function_call', call_id: 'call_1', name: 'f', arguments: '{oops' } }]);
    await assertValidVelStream(events);
    expect(summarize(events).toolInputErrors).toEqual(['call_1']);
  });

  it('a function call whose added event was lost is settled from output_item.done', async () => {
    const { events } = run([
      created,
      { type: 'response.function_call_arguments.delta', item_id: 'fc_9', output_index: 0, delta: '{"a":1}' },
      { type: 'response.output_item.done', output_index: 0, item: { id: 'fc_9', type: 'function_call', call_id: 'call_9', name: 'g', arguments: '{"a":1}' } },
    ]);
    await assertValidVelStream(events);
    expect(summarize(events).toolInputs).toEqual([{ toolCallId: 'call_9', toolName: 'g', input: { a: 1 } }]);
  });

  it('reasoning summaries are keyed by summary_index; reasoning text is reasoning too', async () => {
    const { events } = run([
      created,
      { type: 'response.output_item.added', output_index: 0, item: { id: 'rs_1', type: 'reasoning', summary: [] } },
      { type: 'response.reasoning_summary_text.delta', item_id: 'rs_1', output_index: 0, summary_index: 0, delta: 'First. ' },
      { type: 'response.reasoning_summary_text.delta', item_id: 'rs_1', output_index: 0, summary_index: 1, delta: 'Second. ' },
      { type: 'response.reasoning_text.delta', item_id: 'rs_1', output_index: 0, content_index: 0, delta: 'raw' },
      { type: 'response.output_item.done', output_index: 0, item: { id: 'rs_1', type: 'reasoning', summary: [{ type: 'summary_text', text: 'First. ' }, { type: 'summary_text', text: 'Second. ' }] } },
    ]);
    await assertValidVelStream(events);
    expect(events.filter((e) => e.type === 'reasoning-start')).toHaveLength(3);
    expect(summarize(events).reasoning).toBe('First. Second. raw');
  });

  it('url citations become source-url once per URL; file citations source-document', async () => {
    const cite = (url: string, title: string): Json => ({ type: 'response.output_text.annotation.added', item_id: 'm', output_index: 0, content_index: 0, annotation: { type: 'url_citation', url, title, start_index: 0, end_index: 1 } });
    const { events } = run([
      created,
      messageAdded('m'),
      textDelta('m', 'See.'),
      cite('https://a.example', 'A'),
      cite('https://a.example', 'A again'),
      cite('https://b.example', 'B'),
      { type: 'response.output_text.annotation.added', item_id: 'm', output_index: 0, content_index: 0, annotation: { type: 'file_citation', file_id: 'file_1', filename: 'notes.txt', index: 0 } },
    ]);
    await assertValidVelStream(events);
    expect(events.filter((e) => e.type === 'source-url').map((e) => [(e as { url: string }).url, (e as { title?: string }).title])).toEqual([
      ['https://a.example', 'A'],
      ['https://b.example', 'B'],
    ]);
    expect(events.filter((e) => e.type === 'source-document')).toMatchObject([{ title: 'notes.txt', filename: 'notes.txt' }]);
  });

  it('a failed provider tool gets tool-output-error', async () => {
    const { events } = run([
      created,
      { type: 'response.output_item.added', output_index: 0, item: { id: 'ws_1', type: 'web_search_call', status: 'in_progress' } },
      { type: 'response.output_item.done', output_index: 0, item: { id: 'ws_1', type: 'web_search_call', status: 'failed', action: { type: 'search', query: 'q' } } },
    ]);
    await assertValidVelStream(events);
    expect(events).toContainEqual({ type: 'tool-input-available', toolCallId: 'ws_1', toolName: 'web_search', input: { action: { type: 'search', query: 'q' } }, providerExecuted: true });
    expect(events.find((e) => e.type === 'tool-output-error')).toMatchObject({ toolCallId: 'ws_1', providerExecuted: true });
  });

  it('an MCP call is a dynamic provider-executed tool with the parsed arguments and the output', async () => {
    const { events } = run([
      created,
      { type: 'response.output_item.added', output_index: 0, item: { id: 'mcp_1', type: 'mcp_call', name: 'shorten', server_label: 's', arguments: '' } },
      { type: 'response.mcp_call_arguments.delta', item_id: 'mcp_1', output_index: 0, delta: '{"url":"https://x"}' },
      { type: 'response.mcp_call_arguments.done', item_id: 'mcp_1', output_index: 0, arguments: '{"url":"https://x"}' },
      { type: 'response.output_item.done', output_index: 0, item: { id: 'mcp_1', type: 'mcp_call', name: 'shorten', server_label: 's', arguments: '{"url":"https://x"}', output: 'https://y' } },
    ]);
    await assertValidVelStream(events);
    expect(events).toContainEqual({ type: 'tool-input-available', toolCallId: 'mcp_1', toolName: 'shorten', input: { url: 'https://x' }, providerExecuted: true, dynamic: true });
    expect(events).toContainEqual({ type: 'tool-output-available', toolCallId: 'mcp_1', output: 'https://y', providerExecuted: true, dynamic: true });
  });
});

describe('OpenAIResponsesTranslator endings', () => {
  it('response.completed: usage through the core converter, id and model', () => {
    const usage = { input_tokens: 10, input_tokens_details: { cached_tokens: 4 }, output_tokens: 5, output_tokens_details: { reasoning_tokens: 2 }, total_tokens: 15 };
    const { events, translator } = run([created, messageAdded('m'), textDelta('m', 'ok'), { type: 'response.completed', response: response({ id: 'resp_final', status: 'completed', usage }) }]);
    expect(events.at(-1)).toEqual({
      type: 'finish',
      finishReason: 'stop',
      messageMetadata: { usage: { inputTokens: 10, outputTokens: 5, totalTokens: 15, cachedInputTokens: 4, reasoningTokens: 2 }, model: 'gpt-test', responseId: 'resp_final' },
    });
    expect(translator.state.usage).toEqual(usageFromResponses(usage));
  });

  it.each([
    ['max_output_tokens', 'length'],
    ['content_filter', 'content-filter'],
  ])('response.incomplete with reason %s finishes with %s', (reason, expected) => {
    const { events } = run([created, messageAdded('m'), textDelta('m', 'cut'), { type: 'response.incomplete', response: response({ status: 'incomplete', incomplete_details: { reason } }) }]);
    expect(summarize(events).finishReason).toBe(expected);
  });

  it('an error event followed by response.failed writes one error and finishes with error', async () => {
    const { events } = run([
      created,
      { type: 'error', code: 'server_error', message: 'The server had an error', param: null },
      { type: 'response.failed', response: response({ status: 'failed', error: { code: 'server_error', message: 'The server had an error' } }) },
    ]);
    await assertValidVelStream(events);
    expect(summarize(events)).toMatchObject({ errors: ['The server had an error'], finishReason: 'error' });
  });

  it('response.failed alone writes its error', () => {
    const { events } = run([created, { type: 'response.failed', response: response({ status: 'failed', error: { code: 'x', message: 'Boom' } }) }]);
    expect(summarize(events)).toMatchObject({ errors: ['Boom'], finishReason: 'error' });
  });

  it('a refusal alone finishes with content-filter', () => {
    const { events } = run([
      created,
      messageAdded('m'),
      { type: 'response.refusal.delta', item_id: 'm', output_index: 0, content_index: 0, delta: 'I cannot help.' },
      { type: 'response.completed', response: response({ status: 'completed' }) },
    ]);
    expect(summarize(events)).toMatchObject({ text: 'I cannot help.', finishReason: 'content-filter' });
  });

  it('a stream with only response.completed is translated from its output', async () => {
    const { events } = run([
      {
        type: 'response.completed',
        response: response({
          status: 'completed',
          output: [
            { id: 'm', type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'From the final response.', annotations: [] }] },
            { id: 'fc', type: 'function_call', call_id: 'call_x', name: 'f', arguments: '{"z":0}' },
          ],
        }),
      },
    ]);
    await assertValidVelStream(events);
    expect(summarize(events)).toMatchObject({ text: 'From the final response.', toolInputs: [{ toolCallId: 'call_x', toolName: 'f', input: { z: 0 } }], finishReason: 'tool-calls' });
  });

  it('events that carry nothing new (content part opened, hosted tool progress) are absorbed: state.skipped lists only what could not be used', async () => {
    const searchAdded: Json = { type: 'response.output_item.added', output_index: 1, item: { id: 'ws_1', type: 'web_search_call', status: 'in_progress' } };
    const progress = ['in_progress', 'searching', 'completed'].map((step): Json => ({ type: `response.web_search_call.${step}`, item_id: 'ws_1', output_index: 1 }));
    const { events, translator } = run([
      created,
      messageAdded('m'),
      { type: 'response.content_part.added', item_id: 'm', output_index: 0, content_index: 0, part: { type: 'output_text', text: '' } },
      textDelta('m', 'Hi'),
      searchAdded,
      ...progress,
      { type: 'response.output_item.done', output_index: 1, item: { id: 'ws_1', type: 'web_search_call', status: 'completed', action: { type: 'search', query: 'q' } } },
      { type: 'response.completed', response: response({ status: 'completed' }) },
    ]);
    await assertValidVelStream(events);
    expect(summarize(events).text).toBe('Hi');
    expect(translator.state.skipped).toEqual([]);
  });

  it('no recorded stream has a skip record for an event type the translator knows to carry nothing new', () => {
    const progress = /^response\.(content_part\.added|reasoning_summary_part\.added|\w+_call\.(in_progress|searching|completed|interpreting|generating|partial_image|failed)|mcp_list_tools\.\w+|shell_call_command\.\w+)/;
    const reasons = fixtureFiles(FAMILY).flatMap((file) => run(readFixture(FAMILY, file)).translator.state.skipped.map((s) => s.reason));
    expect(reasons.filter((reason) => progress.test(reason))).toEqual([]);
  });

  it('unknown event types are skipped with a reason', () => {
    const translator = createOpenAIResponsesTranslator({ idPrefix: 'p' });
    translator.push(created);
    expect(translator.push({ type: 'response.brand_new_thing', foo: 1 })).toEqual([]);
    expect(translator.push(42)).toEqual([]);
    expect(translator.state.skipped).toEqual([
      { index: 1, reason: 'unknown event type "response.brand_new_thing"' },
      { index: 2, reason: expect.stringMatching(/malformed event/) },
    ]);
  });
  it.each(['toString', 'constructor', '__proto__'])('prototype keys (%s) as event or item type are skipped, and the stream stays valid', async (name) => {
    const { events, translator } = run([
      created,
      { type: name },
      { type: 'response.output_item.added', output_index: 0, item: { id: 'x', type: name } },
      { type: 'response.incomplete', response: response({ incomplete_details: { reason: name } }) },
    ]);
    await assertValidVelStream(events);
    expect(translator.state.skipped.map((s) => s.reason)).toEqual([`unknown event type ${JSON.stringify(name)}`, `output item of unknown type ${JSON.stringify(name)}`]);
    expect(summarize(events).finishReason).toBe('other');
  });
});

describe('OpenAIResponsesTranslator abort', () => {
  it('in the middle of text', () => {
    const translator = new OpenAIResponsesTranslator({ idPrefix: 'p' });
    translator.push(created);
    translator.push(messageAdded('m'));
    translator.push(textDelta('m', 'Hal'));
    expect(types(translator.abort())).toEqual(['text-end', 'finish-step', 'abort', 'finish']);
  });

  it('in the middle of reasoning', () => {
    const translator = new OpenAIResponsesTranslator({ idPrefix: 'p' });
    translator.push(created);
    translator.push({ type: 'response.reasoning_summary_text.delta', item_id: 'rs', output_index: 0, summary_index: 0, delta: 'hmm' });
    expect(types(translator.abort())).toEqual(['reasoning-end', 'finish-step', 'abort', 'finish']);
  });

  it('in the middle of a function call', () => {
    const translator = new OpenAIResponsesTranslator({ idPrefix: 'p' });
    translator.push(created);
    translator.push(fnAdded('fc', 'call', 'f'));
    translator.push({ type: 'response.function_call_arguments.delta', item_id: 'fc', output_index: 0, delta: '{"a' });
    expect(types(translator.abort())).toEqual(['tool-input-error', 'finish-step', 'abort', 'finish']);
  });

  it('while a provider-executed tool runs, with text open: close blocks → tool-output-error → finish-step → abort → finish', async () => {
    const translator = new OpenAIResponsesTranslator({ idPrefix: 'p' });
    const events = [
      ...translator.push(created),
      ...translator.push({ type: 'response.output_item.added', output_index: 0, item: { id: 'ci_1', type: 'code_interpreter_call', status: 'in_progress', code: '', container_id: 'cntr_1', outputs: [] } }),
      ...translator.push({ type: 'response.code_interpreter_call_code.delta', item_id: 'ci_1', output_index: 0, delta: 'print("hi")' }),
      ...translator.push({ type: 'response.code_interpreter_call_code.done', item_id: 'ci_1', output_index: 0, code: 'print("hi")' }),
      ...translator.push(messageAdded('m', 1)),
      ...translator.push(textDelta('m', 'Running', 1)),
    ];
    expect(events).toContainEqual({ type: 'tool-input-available', toolCallId: 'ci_1', toolName: 'code_interpreter', input: { code: 'print("hi")', containerId: 'cntr_1' }, providerExecuted: true });
    const out = translator.abort('user');
    expect(types(out)).toEqual(['text-end', 'tool-output-error', 'finish-step', 'abort', 'finish']);
    expect(out[1]).toMatchObject({ toolCallId: 'ci_1', providerExecuted: true });
    await assertValidVelStream([...events, ...out]);
  });
});

describe('OpenAIResponsesTranslator ids', () => {
  it('two translators with different idPrefix, interleaved, never share a text or reasoning id', async () => {
    const native = readFixture(FAMILY, 'github-copilot-id-rotation.1.chunks.txt');
    const a = new OpenAIResponsesTranslator({ idPrefix: 'node-a' });
    const b = new OpenAIResponsesTranslator({ idPrefix: 'node-b' });
    const eventsA: VelEvent[] = [];
    const eventsB: VelEvent[] = [];
    for (const e of native) {
      eventsA.push(...a.push(e));
      eventsB.push(...b.push(e));
    }
    eventsA.push(...a.finish());
    eventsB.push(...b.finish());
    await assertValidVelStream(eventsA);
    await assertValidVelStream(eventsB);
    const ids = (events: VelEvent[]) => new Set(events.flatMap((e) => (e.type.startsWith('text-') || e.type.startsWith('reasoning-') ? [(e as { id: string }).id] : [])));
    const idsA = ids(eventsA);
    const idsB = ids(eventsB);
    expect(idsA.size).toBe(2);
    expect(idsB.size).toBe(2);
    for (const id of idsA) expect(idsB.has(id)).toBe(false);
    for (const id of idsB) expect(id.startsWith('node-b-')).toBe(true);
  });
});
