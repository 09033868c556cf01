import { OpenAIChatCompletionsModel, OpenAIResponsesModel, Runner, withTrace, type RunStreamEvent } from '@openai/agents';
import { createPipeline, ExecutionDeniedError, SluiceConfigError, SluicePluginError, type SluicePlugin } from '@sluice/core';
import { createModelProvider } from '@sluice/core/agents';
import OpenAI from 'openai';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { weatherAgent } from '../support/agents-weather.ts';
import { clientTellingHeaders } from '../support/headers-client.ts';
import { decidingPlugin, eventCount, recordingPlugin } from '../support/recording-plugin.ts';
import { FINAL_TEXT, NORMALIZED_USAGE, SCOPE_A, SCOPE_B, SLOT, useScenarioServer } from '../support/scenario.ts';

const server = useScenarioServer();
afterEach(() => vi.restoreAllMocks());

const client = () => new OpenAI({ baseURL: server().baseURL, apiKey: 'sk-test-default', maxRetries: 0 });

async function drain(stream: AsyncIterable<RunStreamEvent>): Promise<number> {
  let n = 0;
  for await (const _event of stream) n++;
  return n;
}

describe.each(['responses', 'chat_completions'] as const)('createModelProvider (%s)', (api) => {
  // The Responses API always sends `cache_write_tokens` (0 here); Chat Completions has no such field.
  const usage = { ...NORMALIZED_USAGE, cacheWriteInputTokens: api === 'responses' ? 0 : undefined };
  it('a streamed run with two tool turns is three calls, each through the full lifecycle with the server usage', async () => {
    const recorder = recordingPlugin();
    const sluice = createPipeline({ plugins: [recorder] });
    const runner = new Runner({ modelProvider: createModelProvider(sluice, { slots: [SLOT], api, client: client() }), tracingDisabled: true });
    const result = await runner.run(weatherAgent(), 'Weather and time in Paris?', { stream: true });
    await drain(result);
    await result.completed;
    await sluice.idle();

    expect(result.finalOutput).toBe(FINAL_TEXT);
    expect(server().requests.map((r) => [r.api, r.stream])).toEqual(Array(3).fill([api, true]));
    expect(recorder.calls).toHaveLength(3);
    for (const call of recorder.calls) {
      const sequence = recorder.sequence(call.id);
      expect(sequence).toEqual(['beforePrepare', 'prepare', 'onAllow', `onEvent×${eventCount(sequence)}`, 'onReport(completed)']);
      expect(eventCount(sequence)).toBeGreaterThan(1);
      expect([call.source, call.api, call.model, call.slot?.slotId]).toEqual(['agents', api, 'gpt-fake', 'agent']);
    }
    const reports = recorder.reports();
    expect(reports.map((r) => r.outcome.status === 'completed' && r.outcome.usage)).toEqual(Array(3).fill(usage));
    expect(reports.map((r) => r.outcome.status === 'completed' && r.outcome.finishReason)).toEqual(['tool_calls', 'tool_calls', 'stop']);
    expect(recorder.records.filter((r) => r.hook === 'onEvent').every((r) => r.hook === 'onEvent' && r.event.source === 'agents.model')).toBe(true);
    expect(recorder.inFlight).toBe(0);
  });

  it('non-streamed run: three calls, no stream events, completed reports with usage', async () => {
    const recorder = recordingPlugin();
    const sluice = createPipeline({ plugins: [recorder] });
    const runner = new Runner({ modelProvider: createModelProvider(sluice, { slots: [SLOT], api, client: client() }), tracingDisabled: true });
    const result = await runner.run(weatherAgent(), 'Weather and time in Paris?');
    await sluice.idle();
    expect(result.finalOutput).toBe(FINAL_TEXT);
    expect(server().requests.map((r) => r.stream)).toEqual([false, false, false]);
    for (const call of recorder.calls) expect(recorder.sequence(call.id)).toEqual(['beforePrepare', 'prepare', 'onAllow', 'onReport(completed)']);
    expect(recorder.reports().map((r) => r.outcome.status === 'completed' && r.outcome.usage)).toEqual(Array(3).fill(usage));
  });

  it('each call is sent with its own Allow relay settings: base URL, single-use key and resolved model', async () => {
    let issued = 0;
    const relay: SluicePlugin = {
      name: 'relay',
      apply: (hooks) =>
        hooks.prepare.tap('relay', () => ({
          outcome: 'allow',
          executionId: `ex_${++issued}`,
          relay: { baseURL: server().baseURL, apiKey: `vrk_test_key_${issued}`, model: 'gpt-fake-mini' },
        })),
    };
    const recorder = recordingPlugin();
    const sluice = createPipeline({ plugins: [relay, recorder] });
    // No default client: every call must go through the relay settings.
    const runner = new Runner({ modelProvider: createModelProvider(sluice, { slots: [SLOT], api }), tracingDisabled: true });
    const result = await runner.run(weatherAgent(), 'Weather and time in Paris?', { stream: true });
    await drain(result);
    await result.completed;
    expect(server().requests.map((r) => r.headers.authorization)).toEqual(['Bearer vrk_test_key_1', 'Bearer vrk_test_key_2', 'Bearer vrk_test_key_3']);
    expect(server().requests.map((r) => (r.body as { model: string }).model)).toEqual(Array(3).fill('gpt-fake-mini'));
    expect(recorder.records.flatMap((r) => (r.hook === 'onAllow' ? [r.allow.executionId] : []))).toEqual(['ex_1', 'ex_2', 'ex_3']);
  });

  it('without relay settings each call goes out with its own call\'s model, also when a plugin changed it for one call', async () => {
    let n = 0;
    // The second call of the run asks for another model; the SDK model made for the first is not reused for it.
    const reroute: SluicePlugin = { name: 'reroute', apply: (hooks) => hooks.beforePrepare.tap('reroute', (call) => (++n === 2 ? { ...call, model: 'gpt-fake-other' } : call)) };
    const sluice = createPipeline({ plugins: [reroute] });
    const runner = new Runner({ modelProvider: createModelProvider(sluice, { slots: [SLOT], api, client: client() }), tracingDisabled: true });
    await runner.run(weatherAgent(), 'Weather and time in Paris?');
    const slotModel = SLOT.requiredModel.split('/').pop();
    expect(server().requests.map((r) => (r.body as { model: string }).model)).toEqual([slotModel, 'gpt-fake-other', slotModel]);
  });

  it('forwards the ModelRequest intact (instructions, tools, previous turn items)', async () => {
    const sluice = createPipeline();
    const runner = new Runner({ modelProvider: createModelProvider(sluice, { slots: [SLOT], api, client: client() }), tracingDisabled: true });
    await runner.run(weatherAgent(), 'Weather and time in Paris?');
    const last = server().requests[2]!.body as Record<string, unknown>;
    const text = JSON.stringify(last);
    expect(text).toContain('Answer with the weather and time.');
    expect(text).toContain('get_time');
    expect(text).toContain('Sunny, 22°C in Paris');
    expect(text).toContain('14:05 in Paris');
  });

  it('a denied call throws ExecutionDeniedError, fires onDeny then onReport(denied), and sends nothing', async () => {
    const recorder = recordingPlugin();
    const sluice = createPipeline({ plugins: [recorder, decidingPlugin({ outcome: 'deny', code: 'delegation_revoked', message: 'delegation was revoked' })] });
    const runner = new Runner({ modelProvider: createModelProvider(sluice, { slots: [SLOT], api, client: client() }), tracingDisabled: true });
    const result = await runner.run(weatherAgent(), 'Weather?', { stream: true });
    const error = await drain(result).then(() => result.completed).then(
      () => undefined,
      (e: unknown) => e,
    );
    await sluice.idle();
    expect(error).toBeInstanceOf(ExecutionDeniedError);
    expect(error).toMatchObject({ kind: 'deny', reasonCode: 'delegation_revoked', decidedBy: 'authorizer' });
    expect(server().requests).toHaveLength(0);
    expect(recorder.sequence(recorder.calls[0]!.id)).toEqual(['beforePrepare', 'prepare', 'onDeny', 'onReport(denied)']);
    expect(recorder.inFlight).toBe(0);
  });

  it('abort via AbortSignal mid-stream reports aborted exactly once', async () => {
    let release!: () => void;
    server().setScript([{ text: 'one two three four five six seven eight', pauseAfterChunks: 2, gate: new Promise<void>((r) => (release = r)) }]);
    const recorder = recordingPlugin();
    const sluice = createPipeline({ plugins: [recorder] });
    const runner = new Runner({ modelProvider: createModelProvider(sluice, { slots: [SLOT], api, client: client() }), tracingDisabled: true });
    const controller = new AbortController();
    const result = await runner.run(weatherAgent(), 'Count', { stream: true, signal: controller.signal });
    let deltas = 0;
    const consumed = (async () => {
      for await (const event of result) {
        if (event.type === 'raw_model_stream_event' && event.data.type === 'output_text_delta' && ++deltas === 2) controller.abort();
      }
    })().catch((e: unknown) => e);
    await consumed;
    await result.completed.catch(() => undefined);
    release();
    await sluice.idle();
    expect(deltas).toBe(2);
    expect(recorder.reports().map((r) => r.outcome.status)).toEqual(['aborted']);
    expect(recorder.inFlight).toBe(0);
  });

  it('a consumer that stops reading the model stream reports aborted and cancels the request', async () => {
    const recorder = recordingPlugin();
    const sluice = createPipeline({ plugins: [recorder] });
    const model = await createModelProvider(sluice, { slots: [SLOT], api, client: client() }).getModel('agent');
    server().setScript([{ text: 'one two three four five six seven eight' }]);
    const request = { input: 'Count', modelSettings: {}, tools: [], outputType: 'text' as const, handoffs: [], tracing: false as const };
    let events = 0;
    for await (const _event of model.getStreamedResponse(request)) if (++events === 2) break;
    await sluice.idle();
    expect(events).toBe(2);
    expect(recorder.reports().map((r) => r.outcome)).toMatchObject([{ status: 'aborted', reason: 'consumer stopped reading the stream' }]);
    expect(recorder.calls[0]!.signal.aborted).toBe(true);
  });

  it('an abort before the answer\'s headers cancels the HTTP request; no AbortSignal.any per call', async () => {
    const recorder = recordingPlugin();
    const sluice = createPipeline({ plugins: [recorder] });
    const runner = new Runner({ modelProvider: createModelProvider(sluice, { slots: [SLOT], api, client: client() }), tracingDisabled: true });
    const any = vi.spyOn(AbortSignal, 'any');
    let release!: () => void;
    // The server holds the non-streamed answer (no headers yet) until released.
    server().setScript([{ text: 'never sent', gate: new Promise<void>((r) => (release = r)) }]);
    const controller = new AbortController();
    const pending = runner.run(weatherAgent(), 'Count', { signal: controller.signal }).catch((e: unknown) => e);
    await server().waitForRequests(1);
    controller.abort(new Error('user left'));
    expect(await pending).toBeInstanceOf(Error);
    // The server sees the client leave while the gate is still closed: the request was cancelled.
    await server().waitForIdle();
    release();
    await sluice.idle();
    expect(recorder.reports().map((r) => r.outcome)).toMatchObject([{ status: 'aborted', reason: 'user left' }]);
    expect(any).not.toHaveBeenCalled();
  });

  it('an abort while the answer\'s body is read rejects with the SDK\'s abort error, as the bare model does, and reports aborted', async () => {
    const recorder = recordingPlugin();
    const sluice = createPipeline({ plugins: [recorder] });
    const errors: unknown[] = [];
    for (const wrap of [false, true]) {
      let release!: () => void;
      // The server sends the headers and half of the body, then holds the rest until released.
      server().setScript([{ text: 'held', bodyGate: new Promise<void>((r) => (release = r)) }]);
      const { client: openai, headers } = clientTellingHeaders(server().baseURL, 'sk-test-default');
      const model = wrap
        ? createModelProvider(sluice, { slots: [SLOT], api, client: openai }).getModel(SLOT.slotId)
        : api === 'responses'
          ? new OpenAIResponsesModel(openai, 'gpt-fake')
          : new OpenAIChatCompletionsModel(openai, 'gpt-fake');
      const controller = new AbortController();
      const request = { input: 'Hi', modelSettings: {}, tools: [], outputType: 'text' as const, handoffs: [], tracing: false as const, signal: controller.signal };
      const pending = withTrace('abort mid-body', () => Promise.resolve(model).then((m) => m.getResponse(request))).catch((e: unknown) => e);
      await headers;
      controller.abort(new Error('user left'));
      errors.push(await pending);
      release();
      await server().waitForIdle();
    }
    await sluice.idle();
    expect(errors[0]).toBeInstanceOf(OpenAI.APIUserAbortError);
    expect(errors[1]).toBeInstanceOf(OpenAI.APIUserAbortError);
    expect(recorder.reports().map((r) => r.outcome)).toMatchObject([{ status: 'aborted', reason: 'user left' }]);
  });

  it('a 500 before the stream and an error mid-stream each report failed exactly once', async () => {
    const recorder = recordingPlugin();
    const sluice = createPipeline({ plugins: [recorder] });
    const runner = new Runner({ modelProvider: createModelProvider(sluice, { slots: [SLOT], api, client: client() }), tracingDisabled: true });
    server().setScript([{ text: 'x', fault: { kind: 'status', status: 500, message: 'upstream exploded' } }, { text: 'one two three', fault: { kind: 'mid-stream-error', afterChunks: 1, message: 'stream broke' } }]);
    for (let i = 0; i < 2; i++) {
      const result = await runner.run(weatherAgent(), 'Hi', { stream: true, maxTurns: 1 });
      await expect(drain(result).then(() => result.completed)).rejects.toBeDefined();
    }
    await sluice.idle();
    const outcomes = recorder.reports().map((r) => r.outcome);
    expect(outcomes.map((o) => o.status)).toEqual(['failed', 'failed']);
    expect(outcomes[0]).toMatchObject({ error: { statusCode: 500 } });
    expect(recorder.inFlight).toBe(0);
  });

  it('withScope() reaches every call of a run; concurrent runs keep their own scope', async () => {
    const recorder = recordingPlugin();
    const sluice = createPipeline({ plugins: [recorder] });
    const runner = new Runner({ modelProvider: createModelProvider(sluice, { slots: [SLOT], api, client: client() }), tracingDisabled: true });
    const runIn = (scope: typeof SCOPE_A) =>
      sluice.withScope(scope, async () => {
        const result = await runner.run(weatherAgent(), 'Weather and time?', { stream: true });
        await drain(result);
        await result.completed;
      });
    await Promise.all([runIn(SCOPE_A), runIn(SCOPE_B)]);
    const tenants = recorder.calls.map((c) => c.scope?.customerTenantId);
    expect(tenants.filter((t) => t === 't_alpha')).toHaveLength(3);
    expect(tenants.filter((t) => t === 't_beta')).toHaveLength(3);
    expect(tenants).toHaveLength(6);
  });
});

describe('createModelProvider configuration', () => {
  it('an unknown slot is a clear error listing the known slots', () => {
    const provider = createModelProvider(createPipeline(), { slots: [SLOT, { ...SLOT, slotId: 'summarizer' }] });
    expect(() => provider.getModel('gpt-4o')).toThrow(SluiceConfigError);
    expect(() => provider.getModel('gpt-4o')).toThrow('unknown model slot "gpt-4o"; known slots: "agent", "summarizer"');
    expect(provider.getModel('')).toBe(provider.getModel('agent'));
  });

  it('rejects invalid slots naming the field', () => {
    expect(() => createModelProvider(createPipeline(), { slots: [{ ...SLOT, selectionMode: 'any' as 'locked' }] })).toThrow('slots[0].selectionMode');
    expect(() => createModelProvider(createPipeline(), { slots: [] })).toThrow('Invalid slots');
  });

  it('without relay settings or a default client, the call fails closed before any request', async () => {
    const recorder = recordingPlugin();
    const sluice = createPipeline({ plugins: [recorder] });
    const runner = new Runner({ modelProvider: createModelProvider(sluice, { slots: [SLOT] }), tracingDisabled: true });
    await expect(runner.run(weatherAgent(), 'Hi')).rejects.toThrow(/no default client was configured/);
    await sluice.idle();
    expect(server().requests).toHaveLength(0);
    expect(recorder.reports().map((r) => r.outcome.status)).toEqual(['failed']);
  });

  it('a plugin throwing in beforePrepare fails the run with SluicePluginError and no request', async () => {
    const faulty: SluicePlugin = { name: 'faulty-limiter', apply: (h) => h.beforePrepare.tap('faulty-limiter', () => { throw new Error('redis down'); }) };
    const sluice = createPipeline({ plugins: [faulty] });
    const runner = new Runner({ modelProvider: createModelProvider(sluice, { slots: [SLOT], client: client() }), tracingDisabled: true });
    const error = await runner.run(weatherAgent(), 'Hi').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SluicePluginError);
    expect(error).toMatchObject({ plugin: 'faulty-limiter', hook: 'beforePrepare' });
    expect(server().requests).toHaveLength(0);
  });
});
