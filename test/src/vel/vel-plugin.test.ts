import { createOpenAI } from '@ai-sdk/openai';
import { Runner } from '@openai/agents';
import { createPipeline, type SluicePlugin, type VelEvent } from '@sluice/core';
import { createModelProvider } from '@sluice/core/agents';
import { createSluiceModel } from '@sluice/core/ai-sdk';
import { wrapOpenAI } from '@sluice/core/openai';
import { createVelResponse, vel, velStreamFromRun, velStreamFromStreamText, VEL_STREAM_HEADERS } from '@sluice/plugin-vel';
import { isStepCount, readUIMessageStream, streamText, tool, type UIMessage } from 'ai';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { assertValidVelStream, summarize, toUIMessage, uiMessageText } from '../../../plugins/vel/src/testing/conformance.ts';
import { weatherAgent } from '../support/agents-weather.ts';
import { FINAL_TEXT, SLOT, useScenarioServer } from '../support/scenario.ts';

const server = useScenarioServer();
const client = () => new OpenAI({ baseURL: server().baseURL, apiKey: 'sk-test', maxRetries: 0 });

/** Collects each call's Vel events from the plugin, keyed by call id. */
function collector() {
  const byCall = new Map<string, VelEvent[]>();
  const plugin = vel({ onEvents: (call, events) => void byCall.set(call.id, [...(byCall.get(call.id) ?? []), ...events]) });
  return { plugin, byCall };
}

describe('vel() on the pipeline', () => {
  it.each(['responses', 'chat_completions'] as const)('translates every call of an Agents run (%s) into a valid stream with the usage; later taps read event.vel', async (api) => {
    const { plugin, byCall } = collector();
    const seenByLaterTap: number[] = [];
    const later: SluicePlugin = { name: 'later', apply: (h) => h.onEvent.tap('later', (_call, event) => void seenByLaterTap.push(event.vel.length)) };
    const sluice = createPipeline({ plugins: [later, plugin] }); // registered after `later`, still taps first
    const runner = new Runner({ modelProvider: createModelProvider(sluice, { slots: [SLOT], api, client: client() }), tracingDisabled: true });
    const result = await runner.run(weatherAgent(), 'Weather and time?', { stream: true });
    for await (const _e of result) {
      // drain
    }
    await result.completed;
    await sluice.idle();
    expect(byCall.size).toBe(3);
    expect(seenByLaterTap.some((n) => n > 0)).toBe(true);
    const streams = [...byCall.values()];
    for (const events of streams) await assertValidVelStream(events);
    const summaries = streams.map(summarize);
    expect(summaries.map((s) => s.toolInputs.map((t) => [t.toolName, t.input]))).toEqual([[['get_weather', { city: 'Paris' }]], [['get_time', { city: 'Paris' }]], []]);
    expect(summaries[2]!.text).toBe(FINAL_TEXT);
    expect(summaries.map((s) => s.finishReason)).toEqual(['tool-calls', 'tool-calls', 'stop']);
    expect(summaries.map((s) => s.usage?.inputTokens)).toEqual([21, 21, 21]);
  });

  it('wrapOpenAI streams (both APIs) and AI SDK steps all produce valid Vel; parallel calls never share ids', async () => {
    const { plugin, byCall } = collector();
    const sluice = createPipeline({ plugins: [plugin] });
    const openai = wrapOpenAI(client(), sluice);
    server().setScript((request) => ({ text: `Answer for request ${request.id}: the quick brown fox.` }));
    const consume = async (stream: AsyncIterable<unknown>) => {
      for await (const _c of stream) {
        // drain
      }
    };
    await Promise.all([
      openai.chat.completions.create({ model: 'gpt-fake', messages: [{ role: 'user', content: 'a' }], stream: true }).then(consume),
      openai.chat.completions.create({ model: 'gpt-fake', messages: [{ role: 'user', content: 'b' }], stream: true }).then(consume),
      openai.responses.create({ model: 'gpt-fake', input: 'c', stream: true }).then(consume),
      streamText({ model: createSluiceModel(sluice, { model: 'gpt-fake', api: 'chat_completions', fallback: createOpenAI({ baseURL: server().baseURL, apiKey: 'k' }).chat('gpt-fake') }), prompt: 'd' }).consumeStream(),
    ]);
    await sluice.idle();
    expect(byCall.size).toBe(4);
    const idSets = [...byCall.values()].map((events) => new Set(events.flatMap((e) => ('id' in e && typeof e.id === 'string' ? [e.id] : []))));
    for (const [i, a] of idSets.entries()) {
      expect(a.size).toBeGreaterThan(0);
      for (const b of idSets.slice(i + 1)) expect([...a].filter((id) => b.has(id))).toEqual([]);
    }
    for (const events of byCall.values()) {
      await assertValidVelStream(events);
      expect(summarize(events).text).toMatch(/^Answer for request \d+: the quick brown fox\.$/);
    }
  });

  it('a denied call and an aborted stream close their Vel streams properly for listeners', async () => {
    const { plugin, byCall } = collector();
    const deny: SluicePlugin = { name: 'deny-second', apply: (h) => h.prepare.tap('deny-second', (call) => (call.attributes.deny ? { outcome: 'deny', code: 'tenant_suspended', message: 'suspended' } : undefined)) };
    const sluice = createPipeline({ plugins: [plugin, deny] });
    let release!: () => void;
    server().setScript([{ text: 'one two three four five', pauseAfterChunks: 2, gate: new Promise<void>((r) => (release = r)) }]);
    const controller = new AbortController();
    const stream = await wrapOpenAI(client(), sluice).chat.completions.create({ model: 'gpt-fake', messages: [{ role: 'user', content: 'x' }], stream: true }, { signal: controller.signal });
    let n = 0;
    for await (const _c of stream) if (++n === 2) controller.abort();
    release();
    await wrapOpenAI(client(), sluice, { attributes: () => ({ deny: true }) }).chat.completions.create({ model: 'gpt-fake', messages: [] }).catch(() => undefined);
    await sluice.idle();
    const [aborted, denied] = [...byCall.values()];
    await assertValidVelStream(aborted!);
    expect(aborted!.slice(-3).map((e) => e.type)).toEqual(['finish-step', 'abort', 'finish']);
    await assertValidVelStream(denied!);
    expect(denied!.map((e) => e.type)).toEqual(['start', 'error', 'finish']);
    expect(summarize(denied!).errors[0]).toContain('tenant_suspended');
  });
});

describe('velStreamFromRun + createVelResponse', () => {
  it.each(['responses', 'chat_completions'] as const)('a whole run (%s) is one message: a step per model call, tool outputs between them, usage summed', async (api) => {
    const runner = new Runner({ modelProvider: createModelProvider(createPipeline(), { slots: [SLOT], api, client: client() }), tracingDisabled: true });
    const result = await runner.run(weatherAgent(), 'Weather and time?', { stream: true });
    const events: VelEvent[] = [];
    for await (const event of velStreamFromRun(result)) events.push(event);
    await assertValidVelStream(events);
    expect(events.filter((e) => e.type === 'start-step')).toHaveLength(3);
    const types = events.map((e) => e.type);
    // Each tool output comes after the step that asked for it and before the next step.
    const firstOutput = types.indexOf('tool-output-available');
    expect(types.slice(0, firstOutput).filter((t) => t === 'finish-step')).toHaveLength(1);
    expect(types.slice(0, firstOutput).filter((t) => t === 'start-step')).toHaveLength(1);
    const message = await toUIMessage(events);
    expect(uiMessageText(message)).toBe(FINAL_TEXT);
    const toolParts = (message?.parts ?? []).filter((p) => p.type.startsWith('tool-'));
    expect(toolParts).toMatchObject([
      { type: 'tool-get_weather', state: 'output-available', input: { city: 'Paris' }, output: 'Sunny, 22°C in Paris' },
      { type: 'tool-get_time', state: 'output-available', input: { city: 'Paris' }, output: '14:05 in Paris' },
    ]);
    expect(summarize(events).usage).toMatchObject({ inputTokens: 63, outputTokens: 27, totalTokens: 90 });
  });

  it('served as an SSE Response, useChat-compatible: the AI SDK reads it back into the same message', async () => {
    const runner = new Runner({ modelProvider: createModelProvider(createPipeline(), { slots: [SLOT], client: client() }), tracingDisabled: true });
    const result = await runner.run(weatherAgent(), 'Weather and time?', { stream: true });
    const response = createVelResponse(velStreamFromRun(result));
    for (const [name, value] of Object.entries(VEL_STREAM_HEADERS)) expect(response.headers.get(name)).toBe(value);
    const body = await response.text();
    expect(body.endsWith('data: [DONE]\n\n')).toBe(true);
    const frames = body.split('\n\n').filter(Boolean);
    expect(frames.every((f) => f.startsWith('data: '))).toBe(true);
    const { parseJsonEventStream, uiMessageChunkSchema } = await import('ai');
    const chunks = parseJsonEventStream({ stream: new Response(body).body!, schema: uiMessageChunkSchema });
    let last: UIMessage | undefined;
    const stream = chunks.pipeThrough(new TransformStream({ transform: (r, c) => (r.success ? c.enqueue(r.value) : c.error(r.error)) }));
    for await (const message of readUIMessageStream({ stream, terminateOnError: true })) last = message;
    expect(uiMessageText(last)).toBe(FINAL_TEXT);
  });

  it('an aborted run ends in the abort order', async () => {
    let release!: () => void;
    server().setScript([{ text: 'one two three four five', pauseAfterChunks: 2, gate: new Promise<void>((r) => (release = r)) }]);
    const controller = new AbortController();
    const runner = new Runner({ modelProvider: createModelProvider(createPipeline(), { slots: [SLOT], client: client() }), tracingDisabled: true });
    const result = await runner.run(weatherAgent(), 'Count', { stream: true, signal: controller.signal });
    const events: VelEvent[] = [];
    for await (const event of velStreamFromRun(result, { signal: controller.signal })) {
      events.push(event);
      if (event.type === 'text-delta' && events.filter((e) => e.type === 'text-delta').length === 2) controller.abort('user left');
    }
    release();
    await assertValidVelStream(events);
    expect(events.slice(-4).map((e) => e.type)).toEqual(['text-end', 'finish-step', 'abort', 'finish']);
  });
});

describe('AI SDK multi-step with tools', () => {
  it('each step of streamText through the plugin is a valid stream with the tool call', async () => {
    const { plugin, byCall } = collector();
    const sluice = createPipeline({ plugins: [plugin] });
    const model = createSluiceModel(sluice, { model: 'gpt-fake', api: 'chat_completions', fallback: createOpenAI({ baseURL: server().baseURL, apiKey: 'k' }).chat('gpt-fake') });
    const tools = {
      get_weather: tool({ inputSchema: z.object({ city: z.string() }), execute: async ({ city }) => `Sunny in ${city}` }),
      get_time: tool({ inputSchema: z.object({ city: z.string() }), execute: async ({ city }) => `14:05 in ${city}` }),
    };
    expect(await streamText({ model, prompt: 'Weather?', tools, stopWhen: isStepCount(5) }).text).toBe(FINAL_TEXT);
    await sluice.idle();
    const summaries = [...byCall.values()].map(summarize);
    expect(summaries.map((s) => s.toolInputs.map((t) => t.toolName))).toEqual([['get_weather'], ['get_time'], []]);
    for (const events of byCall.values()) await assertValidVelStream(events);
  });
});

describe('velStreamFromStreamText', () => {
  it('a multi-step streamText run is one valid message with both tool outputs and the summed usage', async () => {
    const model = createSluiceModel(createPipeline(), { model: 'gpt-fake', api: 'chat_completions', fallback: createOpenAI({ baseURL: server().baseURL, apiKey: 'k' }).chat('gpt-fake') });
    const tools = {
      get_weather: tool({ inputSchema: z.object({ city: z.string() }), execute: async ({ city }) => `Sunny in ${city}` }),
      get_time: tool({ inputSchema: z.object({ city: z.string() }), execute: async ({ city }) => `14:05 in ${city}` }),
    };
    const result = streamText({ model, prompt: 'Weather?', tools, stopWhen: isStepCount(5) });
    const events: VelEvent[] = [];
    for await (const event of velStreamFromStreamText(result.fullStream)) events.push(event);
    await assertValidVelStream(events);
    expect(events.filter((e) => e.type === 'start-step')).toHaveLength(3);
    const message = await toUIMessage(events);
    expect(uiMessageText(message)).toBe(FINAL_TEXT);
    expect((message?.parts ?? []).filter((p) => p.type.startsWith('tool-'))).toMatchObject([
      { type: 'tool-get_weather', state: 'output-available', output: 'Sunny in Paris' },
      { type: 'tool-get_time', state: 'output-available', output: '14:05 in Paris' },
    ]);
    expect(summarize(events).usage).toMatchObject({ inputTokens: 63, outputTokens: 27 });
  });
});
