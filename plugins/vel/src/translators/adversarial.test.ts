// Property-based: every translator, fed hostile input — random JSON, truncated, duplicated and
// shuffled real streams, unknown event types — never throws and always yields a valid stream.
import fc from 'fast-check';
import type { VelEvent } from '@sluice/core';
import { describe, expect, it } from 'vitest';
import { fixtureFiles, readFixture } from '../testing/conformance.ts';
import type { VelTranslator } from '../translator.ts';
import { validateVelStream } from '../validate-vel-stream.ts';
import { AgentsModelTranslator } from './agents-model-translator.ts';
import { AgentsRunTranslator } from './agents-run-translator.ts';
import { AiSdkStreamTranslator } from './ai-sdk-stream-translator.ts';
import { AiSdkTextStreamTranslator } from './ai-sdk-text-stream-translator.ts';
import { AnthropicMessagesTranslator } from './anthropic-messages-translator.ts';
import { GeminiTranslator } from './gemini-translator.ts';
import { OpenAIChatTranslator } from './openai-chat-translator.ts';
import { OpenAIResponsesTranslator } from './openai-responses-translator.ts';

const AI_SDK_PARTS: unknown[] = [
  { type: 'stream-start', warnings: [] },
  { type: 'response-metadata', id: 'resp_1', modelId: 'm' },
  { type: 'reasoning-start', id: 'r1' },
  { type: 'reasoning-delta', id: 'r1', delta: 'thinking' },
  { type: 'reasoning-end', id: 'r1' },
  { type: 'text-start', id: 't1' },
  { type: 'text-delta', id: 't1', delta: 'Hello' },
  { type: 'text-delta', id: 't1', delta: ' world' },
  { type: 'text-end', id: 't1' },
  { type: 'tool-input-start', id: 'call_1', toolName: 'lookup' },
  { type: 'tool-input-delta', id: 'call_1', delta: '{"q":"x"}' },
  { type: 'tool-input-end', id: 'call_1' },
  { type: 'tool-call', toolCallId: 'call_1', toolName: 'lookup', input: '{"q":"x"}' },
  { type: 'tool-call', toolCallId: 'srv_1', toolName: 'web_search', input: '{}', providerExecuted: true },
  { type: 'tool-result', toolCallId: 'srv_1', toolName: 'web_search', result: { ok: true } },
  { type: 'source', sourceType: 'url', id: 's1', url: 'https://example.com', title: 'Example' },
  { type: 'finish', finishReason: { unified: 'tool-calls', raw: 'tool_calls' }, usage: { inputTokens: { total: 5 }, outputTokens: { total: 3 } } },
];

const TEXT_STREAM_PARTS: unknown[] = [
  { type: 'start' },
  { type: 'start-step', request: {}, warnings: [] },
  { type: 'text-start', id: 't1' },
  { type: 'text-delta', id: 't1', text: 'Checking' },
  { type: 'text-end', id: 't1' },
  { type: 'tool-input-start', id: 'call_1', toolName: 'get_weather' },
  { type: 'tool-input-delta', id: 'call_1', delta: '{"city":"Paris"}' },
  { type: 'tool-call', toolCallId: 'call_1', toolName: 'get_weather', input: { city: 'Paris' } },
  { type: 'finish-step', response: { id: 'r1', modelId: 'm' }, usage: {}, finishReason: 'tool-calls' },
  { type: 'tool-result', toolCallId: 'call_1', toolName: 'get_weather', input: { city: 'Paris' }, output: 'Sunny' },
  { type: 'start-step', request: {}, warnings: [] },
  { type: 'text-delta', id: 't2', text: 'Sunny.' },
  { type: 'finish-step', response: { id: 'r2', modelId: 'm' }, usage: {}, finishReason: 'stop' },
  { type: 'finish', finishReason: 'stop', totalUsage: { inputTokens: 5, outputTokens: 3, totalTokens: 8 } },
];

const responsesEvents = () => readFixture('openai-responses', fixtureFiles('openai-responses')[0]!);

interface Subject {
  name: string;
  create: () => VelTranslator;
  /** Real (or realistic) native streams to mutate. */
  streams: () => unknown[][];
}

const fromFamily = (family: string) => () => fixtureFiles(family).map((file) => readFixture(family, file));

const SUBJECTS: Subject[] = [
  { name: 'OpenAIChatTranslator', create: () => new OpenAIChatTranslator(), streams: fromFamily('openai-chat') },
  { name: 'OpenAIResponsesTranslator', create: () => new OpenAIResponsesTranslator(), streams: fromFamily('openai-responses') },
  { name: 'AnthropicMessagesTranslator', create: () => new AnthropicMessagesTranslator(), streams: fromFamily('anthropic') },
  { name: 'GeminiTranslator', create: () => new GeminiTranslator(), streams: fromFamily('google') },
  { name: 'AiSdkStreamTranslator', create: () => new AiSdkStreamTranslator(), streams: () => [AI_SDK_PARTS] },
  { name: 'AiSdkTextStreamTranslator', create: () => new AiSdkTextStreamTranslator(), streams: () => [TEXT_STREAM_PARTS] },
  {
    name: 'AgentsModelTranslator',
    create: () => new AgentsModelTranslator(),
    streams: () => [responsesEvents().map((event) => ({ type: 'model', event, providerData: { rawModelEventSource: 'openai-responses' } }))],
  },
  {
    name: 'AgentsRunTranslator',
    create: () => new AgentsRunTranslator(),
    streams: () => [
      [
        ...responsesEvents().map((event) => ({ type: 'raw_model_stream_event', data: { type: 'model', event, providerData: { rawModelEventSource: 'openai-responses' } } })),
        { type: 'raw_model_stream_event', data: { type: 'response_done', response: { id: 'r', output: [], usage: { inputTokens: 1, outputTokens: 1, totalTokens: 2 } } } },
        { type: 'agent_updated_stream_event', agent: { name: 'Other' } },
      ],
    ],
  },
];

function run(subject: Subject, events: unknown[], end: 'finish' | 'abort' | 'fail'): VelEvent[] {
  const translator = subject.create();
  const out: VelEvent[] = [];
  for (const event of events) out.push(...translator.push(event));
  out.push(...(end === 'finish' ? translator.finish() : end === 'abort' ? translator.abort('stop') : translator.fail('boom')));
  out.push(...translator.push({ type: 'late' }), ...translator.finish());
  return out;
}

function expectValid(events: VelEvent[]): void {
  const result = validateVelStream(events);
  if (!result.valid) throw new Error(`${result.message} at ${result.index}: ${JSON.stringify(events[result.index])}`);
}

const end = fc.constantFrom<'finish' | 'abort' | 'fail'>('finish', 'abort', 'fail');
const RUNS = { numRuns: 60 };

describe.each(SUBJECTS)('$name under hostile input', (subject) => {
  it('random JSON values never throw and end valid', () => {
    fc.assert(fc.property(fc.array(fc.jsonValue(), { maxLength: 30 }), end, (events, how) => expectValid(run(subject, events, how))), RUNS);
  });

  it('random objects with a type field (known and unknown types) never throw and end valid', () => {
    const known = subject.streams().flat().flatMap((e) => (typeof (e as { type?: unknown })?.type === 'string' ? [(e as { type: string }).type] : []));
    const typeArb = known.length > 0 ? fc.oneof(fc.constantFrom(...known), fc.string()) : fc.string();
    const event = fc.record({ type: typeArb, id: fc.option(fc.string()), delta: fc.option(fc.oneof(fc.string(), fc.jsonValue())), index: fc.option(fc.integer()) }, { requiredKeys: ['type'] });
    fc.assert(fc.property(fc.array(event, { maxLength: 30 }), end, (events, how) => expectValid(run(subject, events, how))), RUNS);
  });

  it('real streams truncated, with duplicated events, or shuffled, end valid', () => {
    const streams = subject.streams();
    const mutated = fc
      .record({ stream: fc.constantFrom(...streams), cut: fc.nat(), dupes: fc.array(fc.nat(), { maxLength: 5 }), shuffle: fc.boolean(), seed: fc.integer() })
      .map(({ stream, cut, dupes, shuffle, seed }) => {
        let events = stream.slice(0, stream.length === 0 ? 0 : (cut % stream.length) + 1);
        for (const d of dupes) if (events.length) events.splice(d % events.length, 0, events[d % events.length]);
        if (shuffle) {
          events = [...events];
          let s = seed;
          for (let i = events.length - 1; i > 0; i--) {
            s = (s * 1103515245 + 12345) & 0x7fffffff;
            const j = s % (i + 1);
            [events[i], events[j]] = [events[j], events[i]];
          }
        }
        return events;
      });
    fc.assert(fc.property(mutated, end, (events, how) => expectValid(run(subject, events, how))), RUNS);
  });

  it('fail() after part of a real stream: the error chunk, then finish with finish reason "error"', () => {
    for (const stream of subject.streams()) {
      const translator = subject.create();
      const events = stream.slice(0, Math.ceil(stream.length / 2)).flatMap((event) => translator.push(event));
      events.push(...translator.fail('the connection dropped'));
      expectValid(events);
      expect(events).toContainEqual({ type: 'error', errorText: 'the connection dropped' });
      expect(events.at(-1)).toMatchObject({ type: 'finish', finishReason: 'error' });
    }
  });

  it('unknown event types are skipped with a reason', () => {
    const translator = subject.create();
    expect(translator.push({ type: 'x-unknown-event-type', payload: 1 })).toEqual(expect.any(Array));
    expect(translator.state.skipped.length).toBeGreaterThan(0);
    expect(translator.state.skipped[0]!.reason).toEqual(expect.any(String));
  });
});
