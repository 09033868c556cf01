import { createOpenAI } from '@ai-sdk/openai';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { createPipeline, ExecutionDeniedError, type SluicePlugin } from '@sluice/core';
import { createSluiceModel, sluiceMiddleware } from '@sluice/core/ai-sdk';
import { generateText, isStepCount, streamText, tool, wrapLanguageModel } from 'ai';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { decidingPlugin, eventCount, recordingPlugin } from '../support/recording-plugin.ts';
import { FINAL_TEXT, NORMALIZED_USAGE, SCOPE_B, SLOT, useScenarioServer } from '../support/scenario.ts';

const server = useScenarioServer();

const tools = {
  get_weather: tool({ description: 'Weather', inputSchema: z.object({ city: z.string() }), execute: async ({ city }) => `Sunny, 22°C in ${city}` }),
  get_time: tool({ description: 'Time', inputSchema: z.object({ city: z.string() }), execute: async ({ city }) => `14:05 in ${city}` }),
};

function relayPlugin(): SluicePlugin {
  let n = 0;
  return {
    name: 'relay',
    apply: (h) => h.prepare.tap('relay', () => ({ outcome: 'allow', executionId: `ex_${++n}`, relay: { baseURL: server().baseURL, apiKey: `vrk_ai_sdk_key_${n}`, model: 'gpt-fake-mini' } })),
  };
}

describe.each(['chat_completions', 'responses'] as const)('createSluiceModel (%s)', (api) => {
  const usage = { ...NORMALIZED_USAGE, cacheWriteInputTokens: api === 'responses' ? 0 : undefined };

  it('streamText with tools over three steps: each step a full lifecycle on its own relay key', async () => {
    const recorder = recordingPlugin();
    const sluice = createPipeline({ plugins: [recorder, relayPlugin()] });
    const model = createSluiceModel(sluice, { model: SLOT, api, scope: SCOPE_B });
    const result = streamText({ model, prompt: 'Weather and time in Paris?', tools, stopWhen: isStepCount(5) });
    let text = '';
    const toolParts: string[] = [];
    for await (const part of result.fullStream) {
      if (part.type === 'text-delta') text += part.text;
      if (part.type === 'tool-call') toolParts.push(`${part.toolName}(${JSON.stringify(part.input)})`);
    }
    await sluice.idle();
    expect(text).toBe(FINAL_TEXT);
    expect(toolParts).toEqual(['get_weather({"city":"Paris"})', 'get_time({"city":"Paris"})']);
    expect(server().requests.map((r) => r.headers.authorization)).toEqual(['Bearer vrk_ai_sdk_key_1', 'Bearer vrk_ai_sdk_key_2', 'Bearer vrk_ai_sdk_key_3']);
    expect(server().requests.map((r) => [r.api, (r.body as { model: string }).model])).toEqual(Array(3).fill([api, 'gpt-fake-mini']));
    expect(recorder.calls).toHaveLength(3);
    for (const call of recorder.calls) {
      const sequence = recorder.sequence(call.id);
      expect(sequence).toEqual(['beforePrepare', 'prepare', 'onAllow', `onEvent×${eventCount(sequence)}`, 'onReport(completed)']);
      expect(eventCount(sequence)).toBeGreaterThan(2);
      expect([call.source, call.api, call.model, call.scope]).toEqual(['ai-sdk', api, 'gpt-fake', SCOPE_B]);
    }
    expect(recorder.reports().map((r) => r.outcome.status === 'completed' && r.outcome.usage)).toEqual(Array(3).fill(usage));
    expect(recorder.reports().map((r) => r.outcome.status === 'completed' && r.outcome.finishReason)).toEqual(['tool_calls', 'tool_calls', 'stop']);
  });

  it('generateText with tools: three non-streamed calls, usage per call', async () => {
    const recorder = recordingPlugin();
    const sluice = createPipeline({ plugins: [recorder, relayPlugin()] });
    const result = await generateText({ model: createSluiceModel(sluice, { model: 'gpt-fake', api }), prompt: 'Weather?', tools, stopWhen: isStepCount(5) });
    await sluice.idle();
    expect(result.text).toBe(FINAL_TEXT);
    expect(recorder.calls.map((c) => recorder.sequence(c.id))).toEqual(Array(3).fill(['beforePrepare', 'prepare', 'onAllow', 'onReport(completed)']));
    expect(recorder.reports().map((r) => r.outcome.status === 'completed' && r.outcome.usage)).toEqual(Array(3).fill(usage));
  });
});

describe('createSluiceModel', () => {
  it('uses a custom model factory (here openai-compatible) and the fallback when no relay is given', async () => {
    const recorder = recordingPlugin();
    const sluice = createPipeline({ plugins: [recorder] });
    const fallback = createOpenAICompatible({ name: 'fake', baseURL: server().baseURL, apiKey: 'sk-fallback-key', includeUsage: true }).chatModel('gpt-fake');
    const result = await generateText({ model: createSluiceModel(sluice, { model: 'gpt-fake', api: 'chat_completions', fallback }), prompt: 'Hi', tools, stopWhen: isStepCount(5) });
    await sluice.idle();
    expect(result.text).toBe(FINAL_TEXT);
    expect(server().requests.every((r) => r.headers.authorization === 'Bearer sk-fallback-key')).toBe(true);
    expect(recorder.reports()).toHaveLength(3);
  });

  it('a denial surfaces as ExecutionDeniedError from streamText, and the server gets nothing', async () => {
    const recorder = recordingPlugin();
    const sluice = createPipeline({ plugins: [recorder, decidingPlugin({ outcome: 'deny', code: 'model_not_allowed', message: 'not for this tenant' })] });
    const errors: unknown[] = [];
    const result = streamText({ model: createSluiceModel(sluice, { model: 'gpt-fake' }), prompt: 'Hi', onError: ({ error }) => void errors.push(error) });
    for await (const _part of result.fullStream) {
      // drain
    }
    await sluice.idle();
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(ExecutionDeniedError);
    expect(server().requests).toHaveLength(0);
    expect(recorder.sequence(recorder.calls[0]!.id)).toEqual(['beforePrepare', 'prepare', 'onDeny', 'onReport(denied)']);
  });

  it('abort mid-stream and a consumer that stops reading each report aborted once', async () => {
    const recorder = recordingPlugin();
    const sluice = createPipeline({ plugins: [recorder] });
    const fallback = createOpenAI({ baseURL: server().baseURL, apiKey: 'sk-fallback-key' }).chat('gpt-fake');
    const model = createSluiceModel(sluice, { model: 'gpt-fake', api: 'chat_completions', fallback });
    let release!: () => void;
    server().setScript([{ text: 'one two three four five six', pauseAfterChunks: 2, gate: new Promise<void>((r) => (release = r)) }, { text: 'one two three four five six' }]);

    const controller = new AbortController();
    const aborted = streamText({ model, prompt: 'Count', abortSignal: controller.signal });
    let deltas = 0;
    for await (const part of aborted.fullStream) if (part.type === 'text-delta' && ++deltas === 2) controller.abort();
    release();

    // streamText itself reads the model stream to the end whatever its consumer does, so the
    // consumer that stops early is the model's direct reader here.
    const { stream } = await model.doStream({ prompt: [{ role: 'user', content: [{ type: 'text', text: 'Count' }] }] });
    const reader = stream.getReader();
    const first = await reader.read();
    await reader.cancel();
    await sluice.idle();

    expect(first.done).toBe(false);

    expect(deltas).toBe(2);
    expect(recorder.reports().map((r) => r.outcome.status)).toEqual(['aborted', 'aborted']);
    expect(recorder.inFlight).toBe(0);
  });
});

describe('sluiceMiddleware', () => {
  it('wraps an existing model: streamed steps go through the lifecycle with usage; the model keeps its own key', async () => {
    const recorder = recordingPlugin();
    const sluice = createPipeline({ plugins: [recorder] });
    const base = createOpenAI({ baseURL: server().baseURL, apiKey: 'sk-own-key' }).chat('gpt-fake');
    const model = wrapLanguageModel({ model: base, middleware: sluiceMiddleware(sluice) });
    const result = streamText({ model, prompt: 'Weather?', tools, stopWhen: isStepCount(5) });
    expect(await result.text).toBe(FINAL_TEXT);
    await sluice.idle();
    expect(server().requests.every((r) => r.headers.authorization === 'Bearer sk-own-key')).toBe(true);
    expect(recorder.calls.map((c) => c.api)).toEqual(['chat_completions', 'chat_completions', 'chat_completions']);
    for (const call of recorder.calls) expect(recorder.sequence(call.id).at(-1)).toBe('onReport(completed)');
    expect(recorder.reports().map((r) => r.outcome.status === 'completed' && r.outcome.usage)).toEqual(Array(3).fill(NORMALIZED_USAGE));
  });

  it('a denial stops generateText before the model is called', async () => {
    const sluice = createPipeline({ plugins: [decidingPlugin({ outcome: 'deny', code: 'tenant_suspended', message: 'suspended' })] });
    const model = wrapLanguageModel({ model: createOpenAI({ baseURL: server().baseURL, apiKey: 'sk-own-key' }).chat('gpt-fake'), middleware: sluiceMiddleware(sluice) });
    await expect(generateText({ model, prompt: 'hi' })).rejects.toMatchObject({ reasonCode: 'tenant_suspended' });
    expect(server().requests).toHaveLength(0);
  });
});
