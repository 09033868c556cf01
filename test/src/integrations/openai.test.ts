import { getEventListeners } from 'node:events';
import { createPipeline, ExecutionDeniedError, SluicePluginError, type SluicePlugin } from '@sluice/core';
import { wrapOpenAI } from '@sluice/core/openai';
import OpenAI, { APIPromise } from 'openai';
import { Stream } from 'openai/streaming';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { startFakeModelServer, type FakeModelServer } from '../fake-model-server.ts';
import { clientTellingHeaders } from '../support/headers-client.ts';
import { decidingPlugin, eventCount, recordingPlugin } from '../support/recording-plugin.ts';
import { FAKE_USAGE, NORMALIZED_USAGE, SCOPE_A } from '../support/scenario.ts';

let server: FakeModelServer;
beforeAll(async () => {
  server = await startFakeModelServer();
});
afterAll(() => server.close());
beforeEach(() => server.reset());
afterEach(() => vi.restoreAllMocks());

const TEXT = 'The quick brown fox jumps over the lazy dog.';
const bare = () => new OpenAI({ baseURL: server.baseURL, apiKey: 'sk-test-bare-client-key', maxRetries: 0 });
const messages = [{ role: 'user' as const, content: 'Say the pangram.' }];

function setup(extra: SluicePlugin[] = []) {
  const recorder = recordingPlugin();
  const errors: SluicePluginError[] = [];
  const sluice = createPipeline({ plugins: [recorder, ...extra], onPluginError: (e) => errors.push(e) });
  const openai = wrapOpenAI(bare(), sluice, { scope: SCOPE_A });
  return { recorder, sluice, openai, errors };
}

async function chatText(stream: AsyncIterable<OpenAI.Chat.Completions.ChatCompletionChunk>): Promise<string> {
  let text = '';
  for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
  return text;
}

describe('wrapOpenAI', () => {
  it('chat.completions.create streamed: same types and content as the bare client, full lifecycle, usage', async () => {
    const { recorder, sluice, openai } = setup();
    server.enqueue({ text: TEXT, usage: FAKE_USAGE }, { text: TEXT, usage: FAKE_USAGE });
    const stream = await openai.chat.completions.create({ model: 'gpt-fake', messages, stream: true });
    expect(stream).toBeInstanceOf(Stream);
    const chunks: OpenAI.Chat.Completions.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    const bareChunks: OpenAI.Chat.Completions.ChatCompletionChunk[] = [];
    for await (const chunk of await bare().chat.completions.create({ model: 'gpt-fake', messages, stream: true })) bareChunks.push(chunk);
    await sluice.idle();

    // The caller did not ask for usage: the usage-only chunk is hidden, content is identical.
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? '')).toEqual(bareChunks.map((c) => c.choices[0]?.delta.content ?? ''));
    expect(chunks.every((c) => c.choices.length > 0)).toBe(true);
    expect((server.requests[0]!.body as { stream_options?: unknown }).stream_options).toEqual({ include_usage: true });
    const call = recorder.calls[0]!;
    const sequence = recorder.sequence(call.id);
    expect(sequence).toEqual(['beforePrepare', 'prepare', 'onAllow', `onEvent×${eventCount(sequence)}`, 'onReport(completed)']);
    expect(eventCount(sequence)).toBe(chunks.length + 1); // + the hidden usage chunk
    expect([call.source, call.api, call.stream, call.scope]).toEqual(['openai', 'chat_completions', true, SCOPE_A]);
    expect(recorder.reports()[0]!.outcome).toMatchObject({ status: 'completed', usage: NORMALIZED_USAGE, finishReason: 'stop', responseModel: 'gpt-fake' });
  });

  it('chat streamed with include_usage asked by the caller keeps the usage chunk', async () => {
    const { openai } = setup();
    server.enqueue({ text: TEXT, usage: FAKE_USAGE });
    const stream = await openai.chat.completions.create({ model: 'gpt-fake', messages, stream: true, stream_options: { include_usage: true } });
    const chunks: OpenAI.Chat.Completions.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { prompt_tokens: 21, completion_tokens: 9 } });
  });

  it('chat.completions.create non-streamed returns the ChatCompletion with withResponse() intact', async () => {
    const { recorder, sluice, openai } = setup();
    server.enqueue({ text: TEXT, usage: FAKE_USAGE });
    const { data, response, request_id } = await openai.chat.completions.create({ model: 'gpt-fake', messages }).withResponse();
    await sluice.idle();
    expect(data.choices[0]!.message.content).toBe(TEXT);
    expect(response.status).toBe(200);
    // The fake server's x-request-id reaches both the pair and the parsed object, as on the bare client.
    expect(request_id).toMatch(/^req_fake_/);
    expect((data as { _request_id?: string | null })._request_id).toBe(request_id);
    expect(recorder.sequence(recorder.calls[0]!.id)).toEqual(['beforePrepare', 'prepare', 'onAllow', 'onReport(completed)']);
    expect(recorder.reports()[0]!.outcome).toMatchObject({ usage: NORMALIZED_USAGE, responseId: data.id, response: data });
  });

  it('asResponse() hands over the unread body, as the bare client does, and still reports once', async () => {
    const { recorder, sluice, openai } = setup();
    server.enqueue({ text: TEXT });
    const response = await openai.chat.completions.create({ model: 'gpt-fake', messages }).asResponse();
    const body = (await response.json()) as OpenAI.Chat.Completions.ChatCompletion;
    await sluice.idle();
    expect(body.choices[0]!.message.content).toBe(TEXT);
    expect(recorder.reports().map((r) => r.outcome.status)).toEqual(['completed']);
  });

  it('the promise create() returns works as the SDK\'s: then, catch, finally, and the parse() helper built on it (_thenUnwrap)', async () => {
    const { recorder, sluice, openai } = setup();
    server.enqueue({ text: TEXT }, { text: TEXT }, { text: TEXT, fault: { kind: 'status', status: 500, message: 'upstream exploded' } });
    const parsed = await openai.chat.completions.parse({ model: 'gpt-fake', messages });
    let finallyRan = false;
    const completion = await openai.chat.completions.create({ model: 'gpt-fake', messages }).finally(() => (finallyRan = true));
    const caught = await openai.chat.completions.create({ model: 'gpt-fake', messages }).catch((e: unknown) => e);
    await sluice.idle();
    expect(parsed.choices[0]!.message).toMatchObject({ content: TEXT, parsed: null });
    expect(parsed._request_id).toMatch(/^req_fake_/);
    expect([completion.choices[0]!.message.content, finallyRan]).toEqual([TEXT, true]);
    expect(caught).toBeInstanceOf(OpenAI.InternalServerError);
    expect(recorder.reports().map((r) => r.outcome.status)).toEqual(['completed', 'completed', 'failed']);
  });

  it('create() returns an APIPromise that overrides every method the SDK gives one (it is made without the SDK\'s constructor, whose state those methods would read)', async () => {
    const { sluice, openai } = setup();
    server.enqueue({ text: TEXT });
    const promise = openai.chat.completions.create({ model: 'gpt-fake', messages });
    expect(promise).toBeInstanceOf(APIPromise);
    expect(promise).toBeInstanceOf(Promise);
    // A method the SDK adds to APIPromise must be reviewed here: unless it is overridden, it may read
    // the client the SDK's constructor stores (TypeError on this promise).
    expect(Object.getOwnPropertyNames(APIPromise.prototype).sort()).toEqual(['_thenUnwrap', 'asResponse', 'catch', 'constructor', 'finally', 'parse', 'then', 'withResponse']);
    const overridden = Object.getOwnPropertyNames(Object.getPrototypeOf(promise)).sort();
    expect(overridden).toEqual(['_thenUnwrap', 'asResponse', 'catch', 'constructor', 'finally', 'then', 'withResponse']);
    expect((await promise).choices[0]!.message.content).toBe(TEXT);
    await sluice.idle();
  });

  it('a stream that ends without its final event reports failed (truncated), not completed', async () => {
    const { recorder, sluice, openai } = setup();
    server.enqueue({ text: TEXT, fault: { kind: 'truncate', afterChunks: 2 } }, { text: TEXT, fault: { kind: 'truncate', afterChunks: 2 } });
    await chatText(await openai.chat.completions.create({ model: 'gpt-fake', messages, stream: true }));
    for await (const _event of await openai.responses.create({ model: 'gpt-fake', input: 'hi', stream: true })) {
      // drain
    }
    await sluice.idle();
    expect(recorder.reports().map((r) => r.outcome)).toMatchObject([
      { status: 'failed', error: { type: 'StreamTruncatedError' } },
      { status: 'failed', error: { type: 'StreamTruncatedError' } },
    ]);
  });

  it('responses.create streamed and not: lifecycle, usage, response id', async () => {
    const { recorder, sluice, openai } = setup();
    server.enqueue({ text: TEXT, usage: FAKE_USAGE }, { text: TEXT, usage: FAKE_USAGE, toolCalls: [{ name: 'lookup', arguments: '{"q":"fox"}' }] });
    const stream = await openai.responses.create({ model: 'gpt-fake', input: 'Say the pangram.', stream: true });
    let text = '';
    let completedId = '';
    for await (const event of stream) {
      if (event.type === 'response.output_text.delta') text += event.delta;
      if (event.type === 'response.completed') completedId = event.response.id;
    }
    const whole = await openai.responses.create({ model: 'gpt-fake', input: 'Look it up.' });
    await sluice.idle();
    expect(text).toBe(TEXT);
    const [streamed, nonStreamed] = recorder.reports();
    const usage = { ...NORMALIZED_USAGE, cacheWriteInputTokens: 0 };
    expect(streamed!.outcome).toMatchObject({ status: 'completed', usage, responseId: completedId, finishReason: 'stop' });
    expect(nonStreamed!.outcome).toMatchObject({ status: 'completed', usage, responseId: whole.id, finishReason: 'tool_calls' });
    expect(recorder.sequence(streamed!.call.id).at(-1)).toBe('onReport(completed)');
    expect(eventCount(recorder.sequence(streamed!.call.id))).toBeGreaterThan(5);
    expect(recorder.records.every((r) => r.hook !== 'onEvent' || r.callId !== streamed!.call.id || r.event.source === 'openai.responses')).toBe(true);
  });

  it('the SDK helpers built on create() (responses.stream, chat.completions.stream) go through the pipeline', async () => {
    const { recorder, sluice, openai } = setup();
    server.enqueue({ text: TEXT }, { text: TEXT });
    const final = await openai.responses.stream({ model: 'gpt-fake', input: 'hi' }).finalResponse();
    const completion = await openai.chat.completions.stream({ model: 'gpt-fake', messages }).finalChatCompletion();
    await sluice.idle();
    expect(final.output_text).toBe(TEXT);
    expect(completion.choices[0]!.message.content).toBe(TEXT);
    expect(recorder.reports().map((r) => [r.call.api, r.outcome.status])).toEqual([
      ['responses', 'completed'],
      ['chat_completions', 'completed'],
    ]);
  });

  it('a deny answer: ExecutionDeniedError, onDeny → onReport(denied), zero requests at the server', async () => {
    const { recorder, sluice, openai } = setup([decidingPlugin({ outcome: 'blocked', code: 'budget_exceeded', message: 'budget exhausted', retryAfterMs: 30_000 })]);
    const error = await openai.chat.completions.create({ model: 'gpt-fake', messages, stream: true }).catch((e: unknown) => e);
    await sluice.idle();
    expect(error).toBeInstanceOf(ExecutionDeniedError);
    expect(error).toMatchObject({ kind: 'blocked', reasonCode: 'budget_exceeded', retryAfterMs: 30_000 });
    expect(server.requests).toHaveLength(0);
    expect(recorder.sequence(recorder.calls[0]!.id)).toEqual(['beforePrepare', 'prepare', 'onDeny', 'onReport(denied)']);
  });

  it('abort mid-stream, consumer break, a 500 and a mid-stream error each report exactly once; in-flight ends at 0', async () => {
    const { recorder, sluice, openai } = setup();
    let release!: () => void;
    server.enqueue(
      { text: TEXT, pauseAfterChunks: 3, gate: new Promise<void>((r) => (release = r)) },
      { text: TEXT },
      { text: TEXT, fault: { kind: 'status', status: 500, message: 'internal' } },
      { text: TEXT, fault: { kind: 'mid-stream-error', afterChunks: 2, message: 'overloaded' } },
    );
    // 1. abort via AbortSignal after two chunks
    const controller = new AbortController();
    const aborted = await openai.chat.completions.create({ model: 'gpt-fake', messages, stream: true }, { signal: controller.signal });
    let seen = 0;
    const abortError = await (async () => {
      for await (const _chunk of aborted) if (++seen === 2) controller.abort();
    })().catch((e: unknown) => e);
    release();
    // The bare SDK ends an aborted stream quietly too; the report still says aborted.
    expect(abortError).toBeUndefined();
    expect(seen).toBe(2);
    // 2. consumer break after the first chunk
    for await (const _chunk of await openai.chat.completions.create({ model: 'gpt-fake', messages, stream: true })) break;
    // 3. 500 before the stream
    const status = await openai.chat.completions.create({ model: 'gpt-fake', messages, stream: true }).catch((e: unknown) => e);
    expect(status).toBeInstanceOf(OpenAI.InternalServerError);
    // 4. error mid-stream
    const midStream = await chatText(await openai.chat.completions.create({ model: 'gpt-fake', messages, stream: true })).catch((e: unknown) => e);
    expect(midStream).toBeInstanceOf(Error);
    await sluice.idle();
    const outcomes = recorder.reports().map((r) => r.outcome);
    expect(outcomes.map((o) => o.status)).toEqual(['aborted', 'aborted', 'failed', 'failed']);
    expect(outcomes[1]).toMatchObject({ reason: 'consumer stopped reading the stream' });
    expect(outcomes[3]).toMatchObject({ error: { message: expect.stringContaining('overloaded') } });
    expect(outcomes[2]).toMatchObject({ error: { statusCode: 500, type: 'InternalServerError' } });
    expect(new Set(recorder.records.filter((r) => r.hook === 'onReport').map((r) => r.callId)).size).toBe(4);
    expect(recorder.inFlight).toBe(0);
  });

  it('an abort before the answer\'s headers cancels the HTTP request, rejects with the SDK\'s abort error and reports aborted', async () => {
    const { recorder, sluice, openai } = setup();
    let release!: () => void;
    // The server holds the non-streamed answer (no headers yet) until released.
    server.enqueue({ text: TEXT, gate: new Promise<void>((r) => (release = r)) });
    const controller = new AbortController();
    const pending = openai.chat.completions.create({ model: 'gpt-fake', messages }, { signal: controller.signal }).catch((e: unknown) => e);
    await server.waitForRequests(1);
    controller.abort(new Error('user left'));
    expect(await pending).toBeInstanceOf(OpenAI.APIUserAbortError);
    // The server sees the client leave while the gate is still closed: the request was cancelled.
    await server.waitForIdle();
    release();
    await sluice.idle();
    expect(recorder.reports().map((r) => r.outcome)).toMatchObject([{ status: 'aborted', reason: 'user left' }]);
  });

  it('ties each request to its call through the call\'s controller: no AbortSignal.any (which the bare SDK uses for a caller\'s signal), no listener on the call\'s signal', async () => {
    const { recorder, sluice, openai } = setup();
    const any = vi.spyOn(AbortSignal, 'any');
    await bare().chat.completions.create({ model: 'gpt-fake', messages }, { signal: new AbortController().signal });
    const bareCompositions = any.mock.calls.length;
    await openai.chat.completions.create({ model: 'gpt-fake', messages }, { signal: new AbortController().signal });
    expect(await chatText(await openai.chat.completions.create({ model: 'gpt-fake', messages, stream: true }))).toBe('Hello from the fake model.');
    await openai.responses.create({ model: 'gpt-fake', input: 'hi' });
    await sluice.idle();
    expect(bareCompositions).toBe(1);
    expect(any.mock.calls.length).toBe(bareCompositions);
    expect(recorder.reports().map((r) => r.outcome.status)).toEqual(['completed', 'completed', 'completed']);
    // A listener per request would stay on the call's signal; the call's controller aborts the request instead.
    expect(recorder.calls.map((call) => getEventListeners(call.signal, 'abort').length)).toEqual([0, 0, 0]);
  });

  it('the SDK gets no caller signal to listen to: none of its abort listeners while it reads a body', async () => {
    const { recorder, sluice, openai } = setup();
    const listen = vi.spyOn(EventTarget.prototype, 'addEventListener');
    // Given a caller's signal, the bare client listens to it while it reads a non-streamed body.
    const callerSignal = new AbortController().signal;
    await bare().chat.completions.create({ model: 'gpt-fake', messages }, { signal: callerSignal });
    expect(listen.mock.contexts.filter((target) => target === callerSignal)).toHaveLength(1);
    await openai.chat.completions.create({ model: 'gpt-fake', messages }, { signal: new AbortController().signal });
    await openai.responses.create({ model: 'gpt-fake', input: 'hi' });
    await sluice.idle();
    const callSignals = new Set(recorder.calls.map((call) => call.signal));
    expect(callSignals.size).toBe(2);
    expect(listen.mock.contexts.filter((target) => callSignals.has(target as AbortSignal))).toEqual([]);
    expect(recorder.reports().map((r) => r.outcome.status)).toEqual(['completed', 'completed']);
  });

  it('an abort while the answer\'s body is read rejects with the SDK\'s abort error, as on the bare client, and reports aborted', async () => {
    const { recorder, sluice } = setup();
    const errors: unknown[] = [];
    for (const wrap of [false, true]) {
      let release!: () => void;
      // The server sends the headers and half of the body, then holds the rest until released.
      server.enqueue({ text: TEXT, bodyGate: new Promise<void>((r) => (release = r)) });
      const { client, headers } = clientTellingHeaders(server.baseURL, 'sk-test-bare-client-key');
      const openai = wrap ? wrapOpenAI(client, sluice, { scope: SCOPE_A }) : client;
      const controller = new AbortController();
      const pending = openai.chat.completions.create({ model: 'gpt-fake', messages }, { signal: controller.signal }).catch((e: unknown) => e);
      await headers;
      controller.abort(new Error('user left'));
      errors.push(await pending);
      release();
      await server.waitForIdle();
    }
    await sluice.idle();
    expect(errors[0]).toBeInstanceOf(OpenAI.APIUserAbortError);
    expect(errors[1]).toBeInstanceOf(OpenAI.APIUserAbortError);
    expect(recorder.reports().map((r) => r.outcome)).toMatchObject([{ status: 'aborted', reason: 'user left' }]);
  });

  it('a plugin throwing in onEvent and onReport changes nothing in the stream; onPluginError gets both, named', async () => {
    const faulty: SluicePlugin = {
      name: 'faulty-audit',
      apply(hooks) {
        hooks.onEvent.tap('faulty-audit', () => {
          throw new Error('cannot count tokens');
        });
        hooks.onReport.tapPromise('faulty-audit', async () => {
          throw new Error('audit store offline');
        });
      },
    };
    const { openai, sluice, errors } = setup([faulty]);
    server.enqueue({ text: TEXT });
    const text = await chatText(await openai.chat.completions.create({ model: 'gpt-fake', messages, stream: true }));
    await sluice.idle();
    expect(text).toBe(TEXT);
    const onEvent = errors.filter((e) => e.hook === 'onEvent');
    expect(onEvent.length).toBeGreaterThan(1);
    expect(onEvent.every((e) => e.plugin === 'faulty-audit')).toBe(true);
    expect(errors.filter((e) => e.hook === 'onReport').map((e) => [e.plugin, e.message])).toEqual([
      ['faulty-audit', 'Plugin "faulty-audit" failed in onReport: audit store offline'],
    ]);
  });

  it('a plugin throwing in beforePrepare: SluicePluginError naming it, no request reached the server', async () => {
    const faulty: SluicePlugin = { name: 'faulty-limiter', apply: (h) => h.beforePrepare.tap('faulty-limiter', () => { throw new Error('limiter crashed'); }) };
    const { openai, recorder, sluice } = setup([faulty]);
    const error = await openai.responses.create({ model: 'gpt-fake', input: 'hi' }).catch((e: unknown) => e);
    await sluice.idle();
    expect(error).toBeInstanceOf(SluicePluginError);
    expect(error).toMatchObject({ plugin: 'faulty-limiter', hook: 'beforePrepare' });
    expect(server.requests).toHaveLength(0);
    expect(recorder.reports().map((r) => r.outcome.status)).toEqual(['failed']);
  });

  it('sends with its own copy of the client made at wrap time: an apiKey function is asked per request, so rotated keys reach the server', async () => {
    let n = 0;
    const rotating = new OpenAI({ baseURL: server.baseURL, apiKey: async () => `sk-test-rotated-${++n}`, maxRetries: 0 });
    const { sluice } = setup();
    const openai = wrapOpenAI(rotating, sluice);
    await openai.chat.completions.create({ model: 'gpt-fake', messages });
    await openai.chat.completions.create({ model: 'gpt-fake', messages });
    await sluice.idle();
    expect(server.requests.map((r) => r.headers.authorization)).toEqual(['Bearer sk-test-rotated-1', 'Bearer sk-test-rotated-2']);
  });

  it('does not change the client it wraps', async () => {
    const original = bare();
    const { sluice } = setup();
    const wrapped = wrapOpenAI(original, sluice);
    expect(wrapped).not.toBe(original);
    expect(original.chat.completions.create).toBe(OpenAI.Chat.Completions.prototype.create);
    expect(wrapped.chat.completions.create).not.toBe(OpenAI.Chat.Completions.prototype.create);
    // Only Sluice's own sending copy links call signals; the app's client and the copy it gets back
    // send every other request (files, models, ...) the SDK's way.
    expect(original.fetchWithTimeout).toBe(OpenAI.prototype.fetchWithTimeout);
    expect(wrapped.fetchWithTimeout).toBe(OpenAI.prototype.fetchWithTimeout);
  });
});
