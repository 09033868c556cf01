import { Runner, setTracingDisabled } from '@openai/agents';
import { createPipeline, type SluicePlugin } from '@sluice/core';
import { createModelProvider } from '@sluice/core/agents';
import { wrapOpenAI } from '@sluice/core/openai';
import { otel } from '@sluice/plugin-otel';
import { installAgentsTracingBridge } from '@sluice/plugin-otel/agents';
import { vel } from '@sluice/plugin-vel';
import { createNoopMeter, ROOT_CONTEXT, SpanStatusCode, trace, type Attributes } from '@opentelemetry/api';
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { InMemorySpanExporter, SamplingDecision, SimpleSpanProcessor, TracerProvider, type ReadableSpan, type Sampler } from '@opentelemetry/sdk-trace';
import OpenAI from 'openai';
import { beforeEach, describe, expect, it } from 'vitest';
import { toolLoopScript } from '../fake-model-server.ts';
import { weatherAgent } from '../support/agents-weather.ts';
import { FAKE_USAGE, FINAL_TEXT, SLOT, TOOL_TURNS, useScenarioServer } from '../support/scenario.ts';
import { secretsOf, startVelaWorld } from '../vela/vela-harness.ts';

// The support module disables Agents tracing for other tests; this file needs it, through the bridge only.
setTracingDisabled(false);

const server = useScenarioServer();
const exporter = new InMemorySpanExporter();
const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
const tracer = provider.getTracer('test');
const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
const reader = new PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: 3_600_000 });
const meter = new MeterProvider({ readers: [reader] }).getMeter('test');
const bridge = installAgentsTracingBridge({ tracer });

beforeEach(() => {
  exporter.reset();
});

const client = () => new OpenAI({ baseURL: server().baseURL, apiKey: 'sk-test-client', maxRetries: 0 });
const byName = (spans: ReadableSpan[], prefix: string) => spans.filter((s) => s.name.startsWith(prefix));
const parentId = (span: ReadableSpan) => span.parentSpanContext?.spanId;
/** Span export is asynchronous in sdk-trace 3: wait for it before reading. */
async function finishedSpans(): Promise<ReadableSpan[]> {
  await provider.forceFlush();
  return exporter.getFinishedSpans();
}

describe('otel() with the Agents SDK bridge', () => {
  it.each(['responses', 'chat_completions'] as const)('a two-tool-turn run (%s) is one trace: workflow → invoke_agent → chat ×3 and execute_tool ×2, usage from the fake model', async (api) => {
    const plugin = otel({ tracer, meter, parentContext: () => bridge.parentContext() });
    const sluice = createPipeline({ plugins: [vel(), plugin] });
    const runner = new Runner({ modelProvider: createModelProvider(sluice, { slots: [SLOT], api, client: client() }) });
    const result = await runner.run(weatherAgent(), 'Weather and time in Paris?', { stream: true });
    for await (const _e of result) {
      // drain
    }
    await result.completed;
    await sluice.idle();
    const spans = await finishedSpans();
    const [root] = byName(spans, 'Agent workflow');
    const [agent] = byName(spans, 'invoke_agent weather');
    const chats = byName(spans, 'chat gpt-fake');
    const tools = byName(spans, 'execute_tool');
    expect(root).toBeDefined();
    expect(agent).toBeDefined();
    expect(chats).toHaveLength(3);
    expect(tools.map((t) => t.name).sort()).toEqual(['execute_tool get_time', 'execute_tool get_weather']);
    expect(new Set(spans.map((s) => s.spanContext().traceId)).size).toBe(1);
    expect(parentId(agent!)).toBe(root!.spanContext().spanId);
    for (const span of [...chats, ...tools]) expect(parentId(span)).toBe(agent!.spanContext().spanId);
    for (const chat of chats) {
      expect(chat.kind).toBe(2); // CLIENT
      expect(chat.attributes).toMatchObject({
        'gen_ai.operation.name': 'chat',
        'gen_ai.provider.name': 'openai',
        'gen_ai.request.model': 'gpt-fake',
        'gen_ai.response.model': 'gpt-fake',
        'gen_ai.usage.input_tokens': 21,
        'gen_ai.usage.output_tokens': 9,
        'gen_ai.usage.cache_read.input_tokens': 5,
        'sluice.usage.reasoning_tokens': 4,
        'server.address': '127.0.0.1',
        'server.port': Number(new URL(server().url).port),
        'sluice.slot.id': 'agent',
        'sluice.outcome': 'completed',
      });
      expect(typeof chat.attributes['gen_ai.response.id']).toBe('string');
      expect(chat.events.map((e) => e.name)).toEqual(['sluice.authorization', 'sluice.first_chunk']);
    }
    expect(chats.map((c) => c.attributes['gen_ai.response.finish_reasons'])).toEqual([['tool_calls'], ['tool_calls'], ['stop']]);
    expect(tools.every((t) => t.attributes['gen_ai.operation.name'] === 'execute_tool')).toBe(true);
    expect(plugin.spanCounts()).toEqual({ started: 3, ended: 3 });

    await reader.forceFlush();
    const metrics = metricExporter.getMetrics().flatMap((rm) => rm.scopeMetrics.flatMap((sm) => sm.metrics));
    const names = new Set(metrics.map((m) => m.descriptor.name));
    for (const name of ['gen_ai.client.operation.duration', 'gen_ai.client.token.usage', 'gen_ai.client.operation.time_to_first_chunk', 'sluice.authorization.duration']) expect(names).toContain(name);
  });
});

describe('otel() span lifecycle', () => {
  it.each([
    ['with metrics', meter],
    ['without metrics or content (only the parent context is kept in flight)', createNoopMeter()],
  ])('%s: the span is the child of the parent context at the call\'s start, not of the one at its report', async (_label, callMeter) => {
    const outer = tracer.startSpan('http request');
    const other = tracer.startSpan('unrelated');
    let current = trace.setSpan(ROOT_CONTEXT, outer);
    const plugin = otel({ tracer, meter: callMeter, parentContext: () => current });
    const sluice = createPipeline({ plugins: [plugin] });
    const stream = await wrapOpenAI(client(), sluice).chat.completions.create({ model: 'gpt-fake', messages: [{ role: 'user', content: 'hi' }], stream: true });
    // The call has started under `outer`; its stream is read, and the call reported, under `other`.
    current = trace.setSpan(ROOT_CONTEXT, other);
    for await (const _chunk of stream) {
      // drain
    }
    await sluice.idle();
    outer.end();
    other.end();
    const [chat] = byName(await finishedSpans(), 'chat gpt-fake');
    expect(parentId(chat!)).toBe(outer.spanContext().spanId);
    expect(chat!.spanContext().traceId).toBe(outer.spanContext().traceId);
    expect(plugin.spanCounts()).toEqual({ started: 1, ended: 1 });
  });

  it('a denied call: a span with the deny event and reason, status ERROR, ended', async () => {
    const plugin = otel({ tracer, meter });
    const deny: SluicePlugin = { name: 'vela-stand-in', apply: (h) => h.prepare.tap('vela-stand-in', () => ({ outcome: 'deny', code: 'delegation_revoked', message: 'revoked', executionId: 'ex_9' })) };
    const sluice = createPipeline({ plugins: [plugin, deny] });
    await wrapOpenAI(client(), sluice).chat.completions.create({ model: 'gpt-fake', messages: [{ role: 'user', content: 'hi' }] }).catch(() => undefined);
    await sluice.idle();
    const [span] = await finishedSpans();
    expect(span!.status.code).toBe(SpanStatusCode.ERROR);
    expect(span!.attributes).toMatchObject({ 'error.type': 'ExecutionDeniedError', 'sluice.authorization.outcome': 'deny', 'sluice.authorization.reason_code': 'delegation_revoked' });
    expect(span!.events.map((e) => [e.name, e.attributes?.['sluice.authorization.reason_code']])).toEqual([['sluice.authorization', 'delegation_revoked']]);
    expect(plugin.spanCounts()).toEqual({ started: 1, ended: 1 });
    expect(server().requests).toHaveLength(0);
  });

  it('a later beforePrepare tap that returns a reshaped copy of the call: the span still ends, with the copy\'s model', async () => {
    const plugin = otel({ tracer, meter });
    const reshape: SluicePlugin = { name: 'router', apply: (h) => h.beforePrepare.tap('router', (call) => ({ ...call, model: 'gpt-fake-routed' })) };
    const sluice = createPipeline({ plugins: [plugin, reshape] });
    await wrapOpenAI(client(), sluice).chat.completions.create({ model: 'gpt-fake', messages: [{ role: 'user', content: 'hi' }] });
    await sluice.idle();
    const spans = await finishedSpans();
    expect(plugin.spanCounts()).toEqual({ started: 1, ended: 1 });
    expect(spans.map((s) => [s.name, s.attributes['gen_ai.request.model'], s.attributes['sluice.outcome']])).toEqual([['chat gpt-fake-routed', 'gpt-fake-routed', 'completed']]);
    expect(spans[0]!.events.map((e) => e.name)).toEqual(['sluice.authorization']);
  });

  it('the span covers the call from beforePrepare to the report: start before a held authorization, events in order, end after the stream', async () => {
    const plugin = otel({ tracer, meter });
    let openGate!: () => void;
    const gate = new Promise<void>((resolve) => (openGate = resolve));
    let waiting!: () => void;
    const authorizing = new Promise<void>((resolve) => (waiting = resolve));
    const slowAuthorizer: SluicePlugin = {
      name: 'slow-authorizer',
      apply: (h) =>
        h.prepare.tapPromise('slow-authorizer', async () => {
          waiting();
          await gate;
          return undefined;
        }),
    };
    const sluice = createPipeline({ plugins: [plugin, slowAuthorizer] });
    server().setScript([{ text: 'one two three', usage: FAKE_USAGE }]);
    const startedAt = performance.timeOrigin + performance.now();
    const pending = wrapOpenAI(client(), sluice).chat.completions.create({ model: 'gpt-fake', messages: [{ role: 'user', content: 'x' }], stream: true });
    await authorizing;
    const heldAt = performance.timeOrigin + performance.now();
    openGate();
    for await (const _c of await pending) {
      // drain
    }
    await sluice.idle();
    const endedBy = performance.timeOrigin + performance.now();
    const [span] = await finishedSpans();
    const ms = ([seconds, nanos]: readonly [number, number]) => seconds * 1000 + nanos / 1e6;
    const [authorization, firstChunk] = span!.events;
    expect(span!.events.map((e) => e.name)).toEqual(['sluice.authorization', 'sluice.first_chunk']);
    expect(ms(span!.startTime)).toBeGreaterThanOrEqual(startedAt - 1); // the SDK's clock maps performance.now() with ms rounding
    expect(ms(span!.startTime)).toBeLessThanOrEqual(heldAt + 1);
    expect(ms(span!.startTime)).toBeLessThan(ms(authorization!.time)); // the authorization waited inside the span
    expect(ms(authorization!.time)).toBeGreaterThanOrEqual(heldAt - 1); // authorized only after the gate opened
    expect(ms(firstChunk!.time)).toBeGreaterThanOrEqual(ms(authorization!.time));
    expect(ms(span!.endTime)).toBeGreaterThanOrEqual(ms(firstChunk!.time));
    expect(ms(span!.endTime)).toBeLessThanOrEqual(endedBy + 1);
    expect(span!.attributes['sluice.outcome']).toBe('completed');
    expect(plugin.spanCounts()).toEqual({ started: 1, ended: 1 });
  });

  it('1,000 mixed calls (success, deny, abort, break, failure): every started span ended, once', async () => {
    const plugin = otel({ tracer, meter });
    const deny: SluicePlugin = { name: 'deny-some', apply: (h) => h.prepare.tap('deny-some', (call) => (call.attributes.kind === 'deny' ? { outcome: 'blocked', code: 'budget_exceeded', message: 'no budget' } : undefined)) };
    const sluice = createPipeline({ plugins: [plugin, deny] });
    server().setScript((request) => ((request.body as { messages: Array<{ content: string }> }).messages[0]!.content === 'fail' ? { text: 'x', fault: { kind: 'status', status: 500 } } : { text: 'one two three' }));
    const kinds = ['ok', 'deny', 'abort', 'break', 'fail'] as const;
    const one = async (i: number) => {
      const kind = kinds[i % kinds.length]!;
      const openai = wrapOpenAI(client(), sluice, { attributes: () => ({ kind }) });
      const controller = new AbortController();
      try {
        const stream = await openai.chat.completions.create({ model: 'gpt-fake', messages: [{ role: 'user', content: kind }], stream: true }, { signal: controller.signal });
        for await (const _c of stream) {
          if (kind === 'break') break;
          if (kind === 'abort') controller.abort('gone');
        }
      } catch {
        // deny, abort and fail throw
      }
    };
    for (let batch = 0; batch < 20; batch++) await Promise.all(Array.from({ length: 50 }, (_, j) => one(batch * 50 + j)));
    await sluice.idle();
    expect(plugin.spanCounts()).toEqual({ started: 1000, ended: 1000 });
    const spans = await finishedSpans();
    expect(spans).toHaveLength(1000);
    const outcomes = spans.reduce<Record<string, number>>((acc, s) => ((acc[String(s.attributes['sluice.outcome'])] = (acc[String(s.attributes['sluice.outcome'])] ?? 0) + 1), acc), {});
    expect(outcomes).toEqual({ completed: 200, denied: 200, aborted: 400, failed: 200 });
  });

  it('a sampler sees the creation-time attributes and the outcome: it can keep only the failed calls', async () => {
    const seen: Attributes[] = [];
    const failedOnly: Sampler = {
      shouldSample: (_context, _traceId, _name, _kind, attributes) => {
        seen.push({ ...attributes });
        return { decision: attributes['sluice.outcome'] === 'failed' ? SamplingDecision.RECORD_AND_SAMPLED : SamplingDecision.NOT_RECORD };
      },
      toString: () => 'failed-only',
    };
    const sampledExporter = new InMemorySpanExporter();
    const sampled = new TracerProvider({ sampler: failedOnly, spanProcessors: [new SimpleSpanProcessor({ exporter: sampledExporter })] });
    const sluice = createPipeline({ plugins: [otel({ tracer: sampled.getTracer('test') })] });
    server().setScript([{ text: 'fine' }, { text: 'x', fault: { kind: 'status', status: 500 } }, { text: 'fine again' }]);
    const openai = wrapOpenAI(client(), sluice);
    const messages = [{ role: 'user' as const, content: 'x' }];
    await openai.chat.completions.create({ model: 'gpt-fake', messages });
    await expect(openai.chat.completions.create({ model: 'gpt-fake', messages })).rejects.toBeInstanceOf(OpenAI.InternalServerError);
    await openai.chat.completions.create({ model: 'gpt-fake', messages });
    await sluice.idle();
    await sampled.forceFlush();
    const port = Number(new URL(server().baseURL).port);
    expect(seen).toEqual(
      ['completed', 'failed', 'completed'].map((outcome) => ({
        'gen_ai.operation.name': 'chat',
        'gen_ai.provider.name': 'openai',
        'gen_ai.request.model': 'gpt-fake',
        'server.address': '127.0.0.1',
        'server.port': port,
        'sluice.outcome': outcome,
      })),
    );
    const spans = sampledExporter.getFinishedSpans();
    expect(spans.map((s) => s.attributes['sluice.outcome'])).toEqual(['failed']);
    // The attributes set after creation are on the exported span too.
    expect(spans[0]!.attributes).toMatchObject({ 'error.type': 'InternalServerError', 'http.response.status_code': 500, 'sluice.source': 'openai', 'sluice.api': 'chat_completions' });
    await sampled.shutdown();
  });

  it('OTEL_SEMCONV_STABILITY_OPT_IN=gen_ai_latest_experimental switches to the newest names', async () => {
    const plugin = otel({ tracer, meter, semconv: 'latest' });
    const sluice = createPipeline({ plugins: [plugin] });
    server().setScript([{ text: 'hi', usage: FAKE_USAGE }]);
    for await (const _c of await wrapOpenAI(client(), sluice).chat.completions.create({ model: 'gpt-fake', messages: [{ role: 'user', content: 'x' }], stream: true })) {
      // drain
    }
    await sluice.idle();
    const [span] = await finishedSpans();
    expect(span!.attributes['gen_ai.usage.reasoning.output_tokens']).toBe(4);
    expect(span!.attributes['sluice.usage.reasoning_tokens']).toBeUndefined();
    expect(span!.attributes['gen_ai.request.stream']).toBe(true);
    expect(typeof span!.attributes['gen_ai.response.time_to_first_chunk']).toBe('number');
    const { semconvFromEnvironment } = await import('@sluice/plugin-otel');
    expect(semconvFromEnvironment({ OTEL_SEMCONV_STABILITY_OPT_IN: 'http,gen_ai_latest_experimental' })).toBe('latest');
    expect(semconvFromEnvironment({})).toBe('v1.41');
  });

  it('content only with recordContent, redacted; no relay key, app token or upstream key in any attribute or event', async () => {
    const world = await startVelaWorld({ budgetUsd: 5, extraPlugins: [] });
    try {
      const plugin = otel({ tracer, meter, recordContent: true, parentContext: () => bridge.parentContext() });
      world.sluice.use(vel());
      world.sluice.use(plugin);
      world.upstream.setScript(toolLoopScript({ toolCalls: TOOL_TURNS, finalText: FINAL_TEXT, usage: FAKE_USAGE }));
      const runner = new Runner({ modelProvider: createModelProvider(world.sluice, { slots: [SLOT], scope: world.scope }) });
      const result = await runner.run(weatherAgent(), 'Weather in Paris? my key is sk-proj-abcdefghijklmnop123', { stream: true });
      for await (const _e of result) {
        // drain
      }
      await result.completed;
      await world.sluice.idle();
      const spans = await finishedSpans();
      const chats = byName(spans, 'chat');
      expect(chats).toHaveLength(3);
      expect(String(chats[0]!.attributes['gen_ai.input.messages'])).toContain('sk-[redacted]');
      expect(String(chats[2]!.attributes['gen_ai.output.messages'])).toContain(FINAL_TEXT);
      expect(world.relayKeys).toHaveLength(3);
      const exported = JSON.stringify(spans.map((s) => ({ name: s.name, attributes: s.attributes, events: s.events, resource: s.resource.attributes, status: s.status })));
      expect(exported).toContain('sluice.vela.execution_id');
      for (const secret of [...secretsOf(world), 'sk-proj-abcdefghijklmnop123']) expect(exported).not.toContain(secret);
    } finally {
      await world.close();
    }
  });
});
