// Conformance of the Gemini translator over every recorded stream (text, function call arguments and
// usage checked against an oracle that reads the chunks directly), plus targeted cases: thoughts,
// function calls (complete, no-args, streamed `partialArgs`), code execution, files, grounding,
// prompt blocks, finish reasons, aborts, hostile ordering, ids.
import fc from 'fast-check';
import type { VelEvent } from '@sluice/core';
import { isToolUIPart, readUIMessageStream, type UIMessage } from 'ai';
import { describe, expect, it } from 'vitest';
import { toVelFinishReason } from '../finish-reasons.ts';
import { assertValidVelStream, fixtureFiles, readFixture, summarize, toUIMessage, uiMessageText } from '../testing/conformance.ts';
import type { TranslatorOptions } from '../translator.ts';
import { createGeminiTranslator, GeminiTranslator } from './gemini-translator.ts';

const types = (events: readonly VelEvent[]) => events.map((e) => e.type);

function run(native: readonly unknown[], options: TranslatorOptions = { idPrefix: 'g' }): { events: VelEvent[]; translator: GeminiTranslator } {
  const translator = createGeminiTranslator(options);
  const events: VelEvent[] = [];
  for (const chunk of native) events.push(...translator.push(chunk));
  events.push(...translator.finish());
  return { events, translator };
}

/**
 * The final UIMessage as the AI SDK builds it. A stream with `error` chunks makes the shared
 * `toUIMessage` reject (it terminates on error): check that it does, with our error text, then
 * read the message without terminating and return the errors the AI SDK reported.
 */
async function readMessage(events: VelEvent[]): Promise<{ message: UIMessage | undefined; errors: string[] }> {
  const errorTexts = events.flatMap((e) => (e.type === 'error' ? [e.errorText] : []));
  if (errorTexts.length === 0) return { message: await toUIMessage(events), errors: [] };
  await expect(toUIMessage(events)).rejects.toThrow(errorTexts[0]);
  const stream = new ReadableStream<VelEvent>({
    start(controller) {
      for (const event of events) controller.enqueue(event);
      controller.close();
    },
  });
  const errors: string[] = [];
  let message: UIMessage | undefined;
  for await (const m of readUIMessageStream({ stream, onError: (error) => void errors.push(error instanceof Error ? error.message : String(error)) })) message = m;
  return { message, errors };
}

/** The loose shape the oracle reads. */
interface PartialArg {
  jsonPath: string;
  stringValue?: string;
  numberValue?: number;
  boolValue?: boolean;
  nullValue?: unknown;
  willContinue?: boolean;
}
interface Part {
  text?: string;
  thought?: boolean;
  functionCall?: { name?: string; id?: string; args?: Record<string, unknown>; partialArgs?: PartialArg[]; willContinue?: boolean };
}
interface Chunk {
  candidates?: Array<{ content?: { parts?: Part[] }; finishReason?: string }>;
  usageMetadata?: Record<string, unknown>;
  promptFeedback?: { blockReason?: string };
}

interface Expected {
  text: string;
  tools: Array<{ id: string | undefined; toolName: string; input: Record<string, unknown> }>;
  usage: Record<string, number | undefined> | undefined;
  finishReason: string;
}

/** Builds streamed arguments the way the AI SDK's Google provider does: a string already at a path is continued. */
function applyPartialArg(args: Record<string, unknown>, arg: PartialArg): void {
  const segments = [...arg.jsonPath.slice(1).matchAll(/\.?([^.[\]]+)|\[(\d+)\]/g)].map((m) => (m[2] !== undefined ? Number(m[2]) : m[1]!));
  let container: Record<string | number, unknown> = args;
  segments.slice(0, -1).forEach((segment, i) => {
    container[segment] ??= typeof segments[i + 1] === 'number' ? [] : {};
    container = container[segment] as Record<string | number, unknown>;
  });
  const leaf = segments.at(-1)!;
  if (arg.stringValue !== undefined) container[leaf] = typeof container[leaf] === 'string' ? container[leaf] + arg.stringValue : arg.stringValue;
  else if (arg.numberValue !== undefined) container[leaf] = arg.numberValue;
  else if (arg.boolValue !== undefined) container[leaf] = arg.boolValue;
  else if ('nullValue' in arg) container[leaf] = null;
}

/**
 * The argument deltas of a streamed call, made the simple way: after every chunk the arguments are
 * serialized again, less closing brackets and the quote of a string still open; what extends the
 * text sent is the delta, and a text that no longer extends it stops the deltas. Then the rest of
 * the final JSON.
 */
function reserializedDeltas(chunks: readonly PartialArg[][]): string[] {
  const args: Record<string, unknown> = {};
  const deltas: string[] = [];
  let open: string | undefined;
  let sent = '';
  let stopped = false;
  for (const partialArgs of chunks) {
    for (const arg of partialArgs) {
      if (arg.stringValue !== undefined && open !== arg.jsonPath) applyPartialArg(args, { ...arg, stringValue: undefined, nullValue: null } as PartialArg);
      applyPartialArg(args, arg);
      open = arg.stringValue !== undefined && arg.willContinue === true ? arg.jsonPath : undefined;
    }
    if (stopped) continue;
    let text = JSON.stringify(args).replace(/[\]}]+$/, '');
    if (open !== undefined) text = text.slice(0, -1);
    if (!text.startsWith(sent)) {
      stopped = true;
      continue;
    }
    if (text.length > sent.length) deltas.push(text.slice(sent.length));
    sent = text;
  }
  const final = JSON.stringify(args);
  if (!stopped && final.startsWith(sent) && final.length > sent.length) deltas.push(final.slice(sent.length));
  return deltas;
}

/** What the chunks say, read without the translator. */
function oracle(native: readonly unknown[]): Expected {
  let text = '';
  const tools: Expected['tools'] = [];
  let streaming: Expected['tools'][number] | undefined;
  let usageMeta: Record<string, unknown> | undefined;
  let finish: string | undefined;
  let blocked = false;
  for (const raw of native) {
    const chunk = raw as Chunk;
    const meta = chunk.usageMetadata;
    if (meta && Object.keys(meta).some((k) => k.endsWith('TokenCount'))) usageMeta = meta;
    if (chunk.promptFeedback?.blockReason) blocked = true;
    const candidate = chunk.candidates?.[0];
    for (const part of candidate?.content?.parts ?? []) {
      if (typeof part.text === 'string' && part.thought !== true) text += part.text;
      const call = part.functionCall;
      if (!call) continue;
      if (call.name !== undefined && (call.willContinue === true || call.partialArgs !== undefined)) {
        streaming = { id: call.id, toolName: call.name, input: {} };
        tools.push(streaming);
        for (const arg of call.partialArgs ?? []) applyPartialArg(streaming.input, arg);
      } else if (call.name !== undefined) {
        tools.push({ id: call.id, toolName: call.name, input: call.args ?? {} });
      } else if (call.partialArgs && streaming) {
        for (const arg of call.partialArgs) applyPartialArg(streaming.input, arg);
      }
    }
    finish = candidate?.finishReason ?? finish;
  }
  const n = (key: string) => (typeof usageMeta?.[key] === 'number' ? (usageMeta[key] as number) : undefined);
  const candidates = n('candidatesTokenCount');
  const thoughts = n('thoughtsTokenCount');
  const prompt = n('promptTokenCount');
  const toolUsePrompt = n('toolUsePromptTokenCount');
  return {
    text,
    tools,
    usage: usageMeta && {
      inputTokens: prompt === undefined && toolUsePrompt === undefined ? undefined : (prompt ?? 0) + (toolUsePrompt ?? 0),
      outputTokens: candidates === undefined && thoughts === undefined ? undefined : (candidates ?? 0) + (thoughts ?? 0),
      totalTokens: n('totalTokenCount'),
      cachedInputTokens: n('cachedContentTokenCount'),
      reasoningTokens: thoughts,
    },
    finishReason: blocked ? 'content-filter' : finish === 'STOP' && tools.length > 0 ? 'tool-calls' : (toVelFinishReason(finish) ?? 'other'),
  };
}

describe('GeminiTranslator conformance (recorded streams)', () => {
  it('covers at least the known recordings', () => {
    expect(fixtureFiles('google')).toEqual(expect.arrayContaining(['google-text.chunks.txt', 'google-vertex-stream-tool-call-arguments-nested.1.chunks.txt', 'issue-19758-prompt-block.chunks.txt']));
  });

  it.each(fixtureFiles('google'))('%s', async (file) => {
    const native = readFixture('google', file);
    let result: ReturnType<typeof run> | undefined;
    expect(() => (result = run(native))).not.toThrow();
    const { events } = result!;
    await assertValidVelStream(events);

    const want = oracle(native);
    const summary = summarize(events);
    expect(summary.text).toBe(want.text);
    expect(summary.toolInputs.map(({ toolName, input }) => ({ toolName, input }))).toEqual(want.tools.map(({ toolName, input }) => ({ toolName, input })));
    // Provider ids are kept; missing ones are synthesized in this translator's namespace.
    expect(summary.toolInputs.map((t) => t.toolCallId)).toEqual(want.tools.map((t, i) => t.id ?? summary.toolInputs[i]!.toolCallId));
    for (const [i, tool] of want.tools.entries()) if (tool.id === undefined) expect(summary.toolInputs[i]!.toolCallId).toMatch(/^g-call-\d+$/);
    expect(summary.toolInputErrors).toEqual([]);
    expect(summary.usage).toEqual(want.usage);
    expect(summary.finishReason).toBe(want.finishReason);

    const { message, errors } = await readMessage(events);
    expect(errors).toEqual(summary.errors);
    expect(uiMessageText(message)).toBe(want.text);
    const toolParts = (message?.parts ?? []).filter(isToolUIPart);
    expect(toolParts.map((p) => p.input)).toEqual(want.tools.map((t) => t.input));
  });

  it('the oracle agrees with hand-read values', () => {
    const nested = oracle(readFixture('google', 'google-vertex-stream-tool-call-arguments-nested.1.chunks.txt'));
    const recipe = nested.tools[0]?.input.recipe as { name: string; ingredients: unknown[]; steps: string[] };
    expect(recipe.name).toBe('Lasagna');
    expect(recipe.ingredients[0]).toEqual({ amount: '16 oz', name: 'Lasagna noodles' });
    expect(recipe.steps[4]).toBe('In a 9x13 baking dish, spread a thin layer of meat sauce.');
    expect(oracle(readFixture('google', 'gemma-4-output-usage.chunks.txt')).usage).toEqual({ inputTokens: 6, outputTokens: 77, totalTokens: 83, reasoningTokens: 76 });
  });
});

const chunk = (parts: unknown[], extra: Record<string, unknown> = {}) => ({ candidates: [{ content: { role: 'model', parts }, ...extra }], responseId: 'resp_1', modelVersion: 'gemini-test' });

describe('GeminiTranslator targeted cases', () => {
  it('thoughts and text alternate as separate reasoning and text blocks', async () => {
    const { events } = run([
      chunk([{ text: 'plan', thought: true }]),
      chunk([{ text: ' more', thought: true }]),
      chunk([{ text: 'Answer' }]),
      chunk([{ text: 'again?', thought: true }]),
      chunk([{ text: ' done' }, { text: '', thoughtSignature: 'sig' }], { finishReason: 'STOP' }),
    ]);
    await assertValidVelStream(events);
    expect(types(events)).toEqual([
      'start', 'start-step',
      'reasoning-start', 'reasoning-delta', 'reasoning-delta', 'reasoning-end',
      'text-start', 'text-delta', 'text-end',
      'reasoning-start', 'reasoning-delta', 'reasoning-end',
      'text-start', 'text-delta', 'text-end',
      'finish-step', 'finish',
    ]);
    expect(summarize(events)).toMatchObject({ text: 'Answer done', reasoning: 'plan moreagain?', finishReason: 'stop' });
  });

  it('function calls: provider id kept, missing id synthesized, no args → {}, nested args, STOP → tool-calls', async () => {
    const nested = { filter: { tags: ['a', 'b'], range: { from: 1, to: 2 } }, limit: 3 };
    const { events } = run([chunk([{ text: 'Calling.' }, { functionCall: { id: 'fc_1', name: 'search', args: nested } }, { functionCall: { name: 'now' } }], { finishReason: 'STOP' })]);
    await assertValidVelStream(events);
    expect(summarize(events).toolInputs).toEqual([
      { toolCallId: 'fc_1', toolName: 'search', input: nested },
      { toolCallId: 'g-call-1', toolName: 'now', input: {} },
    ]);
    expect(events.at(-1)).toMatchObject({ type: 'finish', finishReason: 'tool-calls' });
    expect(types(events).indexOf('text-end')).toBeLessThan(types(events).indexOf('tool-input-available'));
  });

  it('streamed partialArgs: deltas concatenate to the final JSON; strings continue; numbers, booleans, null', async () => {
    const { events } = run([
      chunk([{ functionCall: { name: 'book', willContinue: true } }]),
      chunk([{ functionCall: { partialArgs: [{ jsonPath: '$.city', stringValue: 'San Fr', willContinue: true }], willContinue: true } }]),
      chunk([{ functionCall: { partialArgs: [{ jsonPath: '$.city', stringValue: 'ancisco "SF"', willContinue: true }], willContinue: true } }]),
      chunk([{ functionCall: { partialArgs: [{ jsonPath: '$.city', stringValue: '' }], willContinue: true } }]),
      chunk([{ functionCall: { willContinue: true } }]),
      chunk([{ functionCall: { partialArgs: [{ jsonPath: '$.guests[0].age', numberValue: 42 }, { jsonPath: '$.guests[0].vip', boolValue: true }, { jsonPath: '$.note', nullValue: 'NULL_VALUE' }], willContinue: true } }]),
      chunk([{ functionCall: {} }], { finishReason: 'STOP' }),
    ]);
    await assertValidVelStream(events);
    const input = { city: 'San Francisco "SF"', guests: [{ age: 42, vip: true }], note: null };
    expect(summarize(events).toolInputs).toEqual([{ toolCallId: 'g-call-1', toolName: 'book', input }]);
    const deltas = events.flatMap((e) => (e.type === 'tool-input-delta' ? [e.inputTextDelta] : []));
    expect(deltas.length).toBeGreaterThan(2);
    expect(deltas.join('')).toBe(JSON.stringify(input));
    expect(events.at(-1)).toMatchObject({ finishReason: 'tool-calls' });
  });

  it('a long string argument streamed in many chunks: deltas are each chunk\'s escaped text, concatenating to the final JSON', () => {
    const pieces = Array.from({ length: 3000 }, (_, i) => `line ${i} "q" \\ é 👋\n`);
    const { events } = run([
      chunk([{ functionCall: { name: 'write_file', willContinue: true } }]),
      chunk([{ functionCall: { partialArgs: [{ jsonPath: '$.path', stringValue: 'a.txt' }], willContinue: true } }]),
      ...pieces.map((piece) => chunk([{ functionCall: { partialArgs: [{ jsonPath: '$.content', stringValue: piece, willContinue: true }], willContinue: true } }])),
      chunk([{ functionCall: { partialArgs: [{ jsonPath: '$.content', stringValue: '' }] } }], { finishReason: 'STOP' }),
    ]);
    const deltas = events.flatMap((e) => (e.type === 'tool-input-delta' ? [e.inputTextDelta] : []));
    const input = { path: 'a.txt', content: pieces.join('') };
    expect(deltas.join('')).toBe(JSON.stringify(input));
    // After the first piece (sent with its key): one delta per piece, then the closing quote and brace.
    expect(deltas.slice(-(pieces.length + 1))).toEqual([...pieces.slice(1).map((piece) => JSON.stringify(piece).slice(1, -1)), '"', '}']);
    expect(summarize(events).toolInputs).toEqual([{ toolCallId: 'g-call-1', toolName: 'write_file', input }]);
  });

  const str = (jsonPath: string, stringValue: string, willContinue = true): PartialArg => ({ jsonPath, stringValue, willContinue });
  it.each<[string, PartialArg[][]]>([
    ['a surrogate pair split across two chunks', [[str('$.a', 'x\ud83d')], [str('$.a', '\udc4by')], [str('$.a', 'z')]]],
    ['a string continued after a later key was set', [[str('$.b.c', 'x')], [{ jsonPath: '$.b.d', numberValue: 1 }], [str('$.b.c', 'y')], [str('$.b.c', 'z')]]],
    ['an open string that is not the last value', [[str('$.b.c', 'x', false), { jsonPath: '$.b.d', numberValue: 1 }, str('$.b.c', 'y')], [str('$.b.c', 'z')], [str('$.b.c', 'w')]]],
    ['a string continued after an array element after it was set', [[str('$.list[0]', 'x')], [str('$.list[0]', 'y')], [{ jsonPath: '$.list[1]', numberValue: 2 }], [str('$.list[0]', 'z')]]],
    ['a string that closes, then opens again at the same path', [[str('$.a', 'x')], [str('$.a', 'y', false)], [str('$.a', 'z')], [str('$.a', 'w')]]],
  ])('%s: the same deltas as serializing the arguments after every chunk', (_name, chunks) => {
    const { events } = run([
      chunk([{ functionCall: { name: 'f', willContinue: true } }]),
      ...chunks.map((partialArgs) => chunk([{ functionCall: { partialArgs, willContinue: true } }])),
      chunk([{ functionCall: {} }], { finishReason: 'STOP' }),
    ]);
    expect(events.flatMap((e) => (e.type === 'tool-input-delta' ? [e.inputTextDelta] : []))).toEqual(reserializedDeltas(chunks));
  });

  it('streamed arguments, any order and any text (quotes, escapes, surrogate pairs split across chunks): the same deltas as serializing the arguments after every chunk', () => {
    const paths = ['$.a', '$.b.c', '$.list[0]', '$.list[1]', '$.b.d'];
    const partialArg = fc.oneof(
      { weight: 4, arbitrary: fc.record({ jsonPath: fc.constantFrom(...paths), stringValue: fc.string({ unit: fc.constantFrom('a', '"', '\\', '\n', 'é', '\ud83d', '\udc4b', '👋') }), willContinue: fc.boolean() }) },
      { weight: 1, arbitrary: fc.record({ jsonPath: fc.constantFrom(...paths), numberValue: fc.integer() }) },
    );
    fc.assert(
      fc.property(fc.array(fc.array(partialArg, { minLength: 1, maxLength: 3 }), { maxLength: 25 }), (chunks) => {
        const { events } = run([
          chunk([{ functionCall: { name: 'f', willContinue: true } }]),
          ...chunks.map((partialArgs) => chunk([{ functionCall: { partialArgs, willContinue: true } }])),
          chunk([{ functionCall: {} }], { finishReason: 'STOP' }),
        ]);
        expect(events.flatMap((e) => (e.type === 'tool-input-delta' ? [e.inputTextDelta] : []))).toEqual(reserializedDeltas(chunks));
      }),
      { numRuns: 300 },
    );
  });

  it('the nested recording streams its arguments as deltas that concatenate to the final JSON', () => {
    const { events } = run(readFixture('google', 'google-vertex-stream-tool-call-arguments-nested.1.chunks.txt'));
    const deltas = events.flatMap((e) => (e.type === 'tool-input-delta' ? [e.inputTextDelta] : []));
    expect(deltas.length).toBeGreaterThan(10);
    expect(deltas.join('')).toBe(JSON.stringify(summarize(events).toolInputs[0]?.input));
  });

  it('a streamed call whose arguments arrive out of order still gets the right input (deltas stop, input does not)', async () => {
    const { events } = run([
      chunk([{ functionCall: { name: 'f', willContinue: true } }]),
      chunk([{ functionCall: { partialArgs: [{ jsonPath: '$.a.x', numberValue: 1 }, { jsonPath: '$.b', numberValue: 2 }, { jsonPath: '$.a.y', numberValue: 3 }], willContinue: true } }]),
      chunk([{ functionCall: {} }]),
    ]);
    await assertValidVelStream(events);
    expect(summarize(events).toolInputs[0]?.input).toEqual({ a: { x: 1, y: 3 }, b: 2 });
  });

  it('a string functionCall.args that is not JSON → tool-input-error', async () => {
    const { events } = run([chunk([{ functionCall: { name: 'f', args: '{"a":' } }])]);
    await assertValidVelStream(events);
    expect(events.find((e) => e.type === 'tool-input-error')).toMatchObject({ toolName: 'f', input: '{"a":' });
  });

  it('code execution: a provider-executed tool with input { language, code } and output { outcome, output }', async () => {
    const { events } = run([
      chunk([{ text: 'Let me compute.' }, { executableCode: { language: 'PYTHON', code: 'print(1+1)' } }]),
      chunk([{ codeExecutionResult: { outcome: 'OUTCOME_OK', output: '2\n' } }, { text: 'It is 2.' }], { finishReason: 'STOP' }),
    ]);
    await assertValidVelStream(events);
    expect(events.find((e) => e.type === 'tool-input-available')).toEqual({ type: 'tool-input-available', toolCallId: 'g-call-1', toolName: 'code_execution', input: { language: 'PYTHON', code: 'print(1+1)' }, providerExecuted: true });
    expect(events.find((e) => e.type === 'tool-output-available')).toEqual({ type: 'tool-output-available', toolCallId: 'g-call-1', output: { outcome: 'OUTCOME_OK', output: '2\n' }, providerExecuted: true });
    expect(events.at(-1)).toMatchObject({ finishReason: 'stop' }); // provider-executed calls leave nothing for the client
    const message = await toUIMessage(events);
    expect(uiMessageText(message)).toBe('Let me compute.It is 2.');
    expect(message?.parts.find(isToolUIPart)).toMatchObject({ state: 'output-available' });
  });

  it('inlineData → file with a data URL; grounding chunks → source-url, deduplicated', async () => {
    const grounding = { groundingChunks: [{ web: { uri: 'https://a.example', title: 'A' } }, { web: { uri: 'https://b.example', title: 'B' } }, { web: { uri: 'https://a.example', title: 'A' } }] };
    const { events } = run([
      chunk([{ inlineData: { mimeType: 'image/png', data: 'iVBORw0KGgo=' } }]),
      chunk([{ text: 'See sources.' }], { groundingMetadata: grounding }),
      chunk([], { groundingMetadata: grounding, finishReason: 'STOP' }),
    ]);
    await assertValidVelStream(events);
    expect(events.filter((e) => e.type === 'file')).toEqual([{ type: 'file', url: 'data:image/png;base64,iVBORw0KGgo=', mediaType: 'image/png' }]);
    expect(summarize(events).sources).toEqual(['https://a.example', 'https://b.example']);
    const message = await toUIMessage(events);
    expect(message?.parts.filter((p) => p.type === 'source-url')).toHaveLength(2);
    expect(message?.parts.find((p) => p.type === 'file')).toMatchObject({ url: 'data:image/png;base64,iVBORw0KGgo=' });
  });

  it('usage: the last chunk with counts; output = candidates + thoughts; cached and tool-use prompt counted as input', () => {
    const { events, translator } = run([
      { ...chunk([{ text: 'a' }]), usageMetadata: { promptTokenCount: 100, candidatesTokenCount: 1, totalTokenCount: 101 } },
      { ...chunk([{ text: 'b' }], { finishReason: 'STOP' }), usageMetadata: { promptTokenCount: 100, toolUsePromptTokenCount: 7, cachedContentTokenCount: 60, candidatesTokenCount: 5, thoughtsTokenCount: 9, totalTokenCount: 121 } },
      { usageMetadata: { trafficType: 'ON_DEMAND' } },
    ]);
    const usage = { inputTokens: 107, outputTokens: 14, totalTokens: 121, cachedInputTokens: 60, reasoningTokens: 9 };
    expect(summarize(events).usage).toEqual(usage);
    expect(translator.state).toMatchObject({ responseId: 'resp_1', model: 'gemini-test' });
  });

  it('a blocked prompt → an error naming the block reason, finish reason content-filter; later content is ignored', async () => {
    const { events, translator } = run([
      { promptFeedback: { blockReason: 'SAFETY', blockReasonMessage: 'unsafe' }, usageMetadata: { promptTokenCount: 4, totalTokenCount: 4 } },
      chunk([{ text: 'should not appear' }], { finishReason: 'STOP' }),
    ]);
    await assertValidVelStream(events);
    expect(events.filter((e) => e.type === 'error')).toEqual([{ type: 'error', errorText: 'Gemini blocked the prompt: SAFETY (unsafe)' }]);
    expect(summarize(events)).toMatchObject({ text: '', finishReason: 'content-filter' });
    expect(translator.state.skipped).toEqual([{ index: 1, reason: 'candidate content after the prompt was blocked' }]);
  });

  it.each([
    ['MAX_TOKENS', 'length'],
    ['SAFETY', 'content-filter'],
    ['MALFORMED_FUNCTION_CALL', 'error'],
    ['SOMETHING_NEW', 'other'],
  ])('finish reason %s → %s', (raw, vel) => {
    const { events } = run([chunk([{ text: 'x' }], { finishReason: raw })]);
    expect(events.at(-1)).toMatchObject({ type: 'finish', finishReason: vel });
  });

  it('a streamed error chunk → error event and finish reason error', async () => {
    const { events } = run([chunk([{ text: 'partial' }]), { error: { code: 503, message: 'The model is overloaded.', status: 'UNAVAILABLE' } }]);
    await assertValidVelStream(events);
    expect(summarize(events)).toMatchObject({ errors: ['UNAVAILABLE: The model is overloaded.'], finishReason: 'error', text: 'partial' });
  });

  it('chunks that are not GenerateContentResponses are skipped with a reason', () => {
    const translator = createGeminiTranslator({ idPrefix: 'g' });
    translator.push({ type: 'x-unknown' });
    translator.push(42);
    expect(translator.state.skipped.map((s) => s.index)).toEqual([0, 1]);
    expect(translator.state.skipped[0]!.reason).toContain('not a GenerateContentResponse');
  });

  describe('abort in the middle: close open blocks → tool-output-error for open provider tools → finish-step → abort → finish', () => {
    const abortAfter = (native: unknown[]) => {
      const translator = createGeminiTranslator({ idPrefix: 'g' });
      const events: VelEvent[] = [];
      for (const c of native) events.push(...translator.push(c));
      events.push(...translator.abort('user stopped'));
      expect(translator.push(chunk([{ text: 'late' }]))).toEqual([]);
      return events;
    };

    it('of text', async () => {
      const events = abortAfter([chunk([{ text: 'Hal' }])]);
      await assertValidVelStream(events);
      expect(types(events)).toEqual(['start', 'start-step', 'text-start', 'text-delta', 'text-end', 'finish-step', 'abort', 'finish']);
      expect(events.at(-2)).toEqual({ type: 'abort', reason: 'user stopped' });
    });

    it('of a thought', async () => {
      const events = abortAfter([chunk([{ text: 'hmm', thought: true }])]);
      await assertValidVelStream(events);
      expect(types(events).slice(2)).toEqual(['reasoning-start', 'reasoning-delta', 'reasoning-end', 'finish-step', 'abort', 'finish']);
    });

    it('of a function call still streaming its arguments', async () => {
      const events = abortAfter([chunk([{ functionCall: { name: 'f', willContinue: true } }]), chunk([{ functionCall: { partialArgs: [{ jsonPath: '$.a', stringValue: 'x', willContinue: true }], willContinue: true } }])]);
      await assertValidVelStream(events);
      expect(types(events).slice(2)).toEqual(['tool-input-start', 'tool-input-delta', 'tool-input-error', 'finish-step', 'abort', 'finish']);
    });

    it('of code execution waiting for its result, with text open', async () => {
      const events = abortAfter([chunk([{ executableCode: { language: 'PYTHON', code: 'x' } }, { text: 'Running' }])]);
      await assertValidVelStream(events);
      expect(types(events).slice(-5)).toEqual(['text-end', 'tool-output-error', 'finish-step', 'abort', 'finish']);
    });
  });

  describe('duplicated and out-of-order chunks', () => {
    it('hand-picked disorder: partialArgs with no call, a duplicated terminal, a result with no code, a duplicated provider id', async () => {
      const { events, translator } = run([
        chunk([{ functionCall: { partialArgs: [{ jsonPath: '$.a', numberValue: 1 }] } }]),
        chunk([{ codeExecutionResult: { outcome: 'OUTCOME_OK', output: '' } }]),
        chunk([{ functionCall: { id: 'c1', name: 'f', args: { a: 1 } } }]),
        chunk([{ functionCall: { id: 'c1', name: 'f', args: { a: 1 } } }]),
        chunk([{ functionCall: {} }]),
        chunk([{ text: 'ok' }], { finishReason: 'STOP' }),
        chunk([{ text: 'ok' }], { finishReason: 'STOP' }),
      ]);
      await assertValidVelStream(events);
      expect(summarize(events).toolInputs).toEqual([{ toolCallId: 'c1', toolName: 'f', input: { a: 1 } }]);
      expect(translator.state.skipped.map((s) => s.index)).toEqual([0, 1, 3, 4]);
    });

    it('any mix of duplicated, dropped and moved chunks from the recordings never throws and ends valid', async () => {
      const streams = fixtureFiles('google').map((file) => readFixture('google', file));
      const op = fc.tuple(fc.constantFrom('dup', 'drop', 'move'), fc.nat(), fc.nat());
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(...streams), fc.array(op, { maxLength: 12 }), fc.boolean(), async (stream, ops, abort) => {
          const chunks = [...stream];
          for (const [kind, a, b] of ops) {
            if (chunks.length === 0) break;
            const i = a % chunks.length;
            if (kind === 'dup') chunks.splice(i, 0, chunks[i]);
            else if (kind === 'drop') chunks.splice(i, 1);
            else chunks.splice(b % chunks.length, 0, ...chunks.splice(i, 1));
          }
          const translator = new GeminiTranslator({ idPrefix: 'f' });
          const out: VelEvent[] = [];
          for (const c of chunks) out.push(...translator.push(c));
          out.push(...(abort ? translator.abort() : translator.finish()));
          await assertValidVelStream(out);
        }),
        { seed: 20_250_101, numRuns: 150 },
      );
    });
  });

  it('two translators with different idPrefix never share an id (blocks, sources, synthesized call ids)', () => {
    const native = [
      chunk([{ text: 'think', thought: true }]),
      chunk([{ text: 'answer' }, { functionCall: { name: 'f', args: {} } }, { executableCode: { language: 'PYTHON', code: '1' } }], { groundingMetadata: { groundingChunks: [{ web: { uri: 'https://a.example' } }] } }),
    ];
    const ids = (events: VelEvent[]) =>
      events.flatMap((e) => {
        if (e.type === 'text-start' || e.type === 'reasoning-start') return [e.id];
        if (e.type === 'source-url') return [e.sourceId];
        if (e.type === 'tool-input-available') return [e.toolCallId];
        return [];
      });
    const one = ids(run(native, { idPrefix: 'left' }).events);
    const two = ids(run(native, { idPrefix: 'right' }).events);
    expect(one).toHaveLength(5);
    expect(two).toHaveLength(5);
    expect(one.filter((id) => two.includes(id))).toEqual([]);
    expect(one.every((id) => id.startsWith('left-'))).toBe(true);
    expect(two.every((id) => id.startsWith('right-'))).toBe(true);
  });
});
