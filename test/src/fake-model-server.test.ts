// The fake model server is only useful if the real `openai` client parses what it sends exactly as
// it parses OpenAI itself. These tests drive it with that client (and with raw fetch where the
// bytes on the wire are the point), with no sleeps: holds and concurrency use gates.

import { request as httpRequest } from 'node:http';
import OpenAI from 'openai';
import type { ChatCompletionChunk } from 'openai/resources/chat/completions';
import type { ResponseStreamEvent } from 'openai/resources/responses/responses';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defaultUsage, startFakeModelServer, toolLoopScript } from './fake-model-server.ts';
import type { FakeModelServer, FakeTurn } from './fake-model-server.ts';

let server: FakeModelServer;
let client: OpenAI;

beforeEach(async () => {
  server = await startFakeModelServer();
  client = new OpenAI({ baseURL: server.baseURL, apiKey: 'test-key', maxRetries: 0 });
});

afterEach(async () => {
  await server.close();
});

/** A promise the test settles by hand. */
function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve: () => void = () => {};
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** POSTs JSON and returns the raw answer, for assertions on bytes and headers. */
async function post(path: string, body: unknown): Promise<{ status: number; contentType: string | null; text: string }> {
  const response = await fetch(server.url + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer test-key' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: response.status, contentType: response.headers.get('content-type'), text: await response.text() };
}

/**
 * POSTs with `node:http`, which hands over every byte received before a connection error (fetch
 * may discard unread ones), and reports whether the body ended cleanly.
 */
function readUntilConnectionEnds(path: string, body: unknown): Promise<{ text: string; ending: 'end' | 'error' }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(server.url + path, { method: 'POST', headers: { 'content-type': 'application/json' } }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        text += chunk;
      });
      response.once('end', () => resolve({ text, ending: 'end' }));
      response.once('error', () => resolve({ text, ending: 'error' }));
    });
    request.once('error', reject);
    request.end(JSON.stringify(body));
  });
}

/** Splits raw SSE text into its `data:` payloads (parsed unless `[DONE]`). */
function chatPayloads(text: string): unknown[] {
  return text
    .split('\n\n')
    .filter((block) => block !== '')
    .map((block) => {
      const data = block.slice('data: '.length);
      return data === '[DONE]' ? data : JSON.parse(data);
    });
}

/** Splits raw Responses SSE text into `{ event, data }` records. */
function responseEvents(text: string): Array<{ event: string; data: ResponseStreamEvent }> {
  return text
    .split('\n\n')
    .filter((block) => block !== '')
    .map((block) => {
      const [eventLine = '', dataLine = ''] = block.split('\n');
      return { event: eventLine.slice('event: '.length), data: JSON.parse(dataLine.slice('data: '.length)) };
    });
}

const userMessage = [{ role: 'user' as const, content: 'Say hello' }];

describe('chat completions', () => {
  it('answers non-streamed with text, reasoning and usage including cached and reasoning tokens', async () => {
    server.enqueue({
      text: 'Hello there.',
      reasoning: 'The user greets me.',
      usage: { inputTokens: 40, outputTokens: 12, cachedInputTokens: 32, reasoningTokens: 5 },
    });
    const completion = await client.chat.completions.create({ model: 'gpt-test', messages: userMessage });

    expect(completion.object).toBe('chat.completion');
    expect(completion.model).toBe('gpt-test');
    expect(completion.choices[0]?.message.content).toBe('Hello there.');
    expect(completion.choices[0]?.message.role).toBe('assistant');
    expect(completion.choices[0]?.finish_reason).toBe('stop');
    expect((completion.choices[0]?.message as { reasoning_content?: string }).reasoning_content).toBe('The user greets me.');
    expect(completion.usage).toEqual({
      prompt_tokens: 40,
      completion_tokens: 12,
      total_tokens: 52,
      prompt_tokens_details: { cached_tokens: 32 },
      completion_tokens_details: { reasoning_tokens: 5 },
    });
  });

  it('answers tool calls non-streamed with null content', async () => {
    server.enqueue({ toolCalls: [{ id: 'call_1', name: 'lookup', arguments: '{"q":"x"}' }] });
    const completion = await client.chat.completions.create({ model: 'gpt-test', messages: userMessage });

    expect(completion.choices[0]?.message.content).toBeNull();
    expect(completion.choices[0]?.finish_reason).toBe('tool_calls');
    expect(completion.choices[0]?.message.tool_calls).toEqual([
      { id: 'call_1', type: 'function', function: { name: 'lookup', arguments: '{"q":"x"}' } },
    ]);
  });

  it('streams text whose deltas concatenate to the turn text, with the usage chunk when asked', async () => {
    server.enqueue({ text: 'Hello big world.', usage: { inputTokens: 9, outputTokens: 4, cachedInputTokens: 2, reasoningTokens: 0 } });
    const stream = await client.chat.completions.create({
      model: 'gpt-test',
      messages: userMessage,
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks: ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);

    const pieces = chunks.flatMap((chunk) => chunk.choices.map((choice) => choice.delta.content ?? ''));
    expect(pieces.filter((piece) => piece !== '')).toEqual(['Hello', ' big', ' world.']);
    expect(pieces.join('')).toBe('Hello big world.');
    expect(chunks[0]?.choices[0]?.delta.role).toBe('assistant');
    expect(new Set(chunks.map((chunk) => chunk.id)).size).toBe(1);
    expect(new Set(chunks.map((chunk) => chunk.created)).size).toBe(1);
    expect(chunks.every((chunk) => chunk.object === 'chat.completion.chunk' && chunk.model === 'gpt-test')).toBe(true);
    const finish = chunks.at(-2);
    expect(finish?.choices[0]?.finish_reason).toBe('stop');
    const last = chunks.at(-1);
    expect(last?.choices).toEqual([]);
    expect(last?.usage).toEqual({
      prompt_tokens: 9,
      completion_tokens: 4,
      total_tokens: 13,
      prompt_tokens_details: { cached_tokens: 2 },
      completion_tokens_details: { reasoning_tokens: 0 },
    });
  });

  it('frames the stream as `data: …` events ending in [DONE], and sends no usage unless asked', async () => {
    server.enqueue({ text: 'One two' });
    const raw = await post('/v1/chat/completions', { model: 'gpt-test', messages: userMessage, stream: true });

    expect(raw.status).toBe(200);
    expect(raw.contentType).toBe('text/event-stream');
    expect(raw.text).toMatch(/^(data: \{.*\}\n\n)+data: \[DONE\]\n\n$/);
    const payloads = chatPayloads(raw.text);
    expect(payloads.at(-1)).toBe('[DONE]');
    const chunks = payloads.slice(0, -1) as Array<Record<string, unknown>>;
    expect(chunks.some((chunk) => 'usage' in chunk)).toBe(false);
    expect(chunks).toHaveLength(4); // role, "One", " two", finish
  });

  it('streams reasoning_content pieces before the text', async () => {
    server.enqueue({ reasoning: 'Think first.', text: 'Answer.' });
    const stream = await client.chat.completions.create({ model: 'gpt-test', messages: userMessage, stream: true });
    const order: string[] = [];
    let reasoning = '';
    for await (const chunk of stream) {
      const delta = chunk.choices[0]?.delta as { content?: string | null; reasoning_content?: string | null } | undefined;
      if (delta?.reasoning_content) {
        reasoning += delta.reasoning_content;
        order.push('reasoning');
      }
      if (delta?.content) order.push('text');
    }
    expect(reasoning).toBe('Think first.');
    expect(order).toEqual(['reasoning', 'reasoning', 'text']);
  });

  it('streams parallel tool calls that the SDK reassembles to the exact names and arguments', async () => {
    const weather = JSON.stringify({ city: 'Paris', unit: 'celsius', days: [1, 2, 3] });
    const time = JSON.stringify({ zone: 'Europe/Paris' });
    server.enqueue({ toolCalls: [{ name: 'get_weather', arguments: weather }, { id: 'call_time', name: 'get_time', arguments: time }] });
    const runner = client.chat.completions.stream({ model: 'gpt-test', messages: userMessage });
    const rawChunks: ChatCompletionChunk[] = [];
    runner.on('chunk', (chunk) => rawChunks.push(chunk));
    const completion = await runner.finalChatCompletion();

    const calls = completion.choices[0]?.message.tool_calls ?? [];
    expect(calls.map((call) => (call.type === 'function' ? [call.function.name, call.function.arguments] : []))).toEqual([
      ['get_weather', weather],
      ['get_time', time],
    ]);
    expect(calls[1]?.id).toBe('call_time');
    expect(calls[0]?.id).toMatch(/^call_/);
    expect(completion.choices[0]?.finish_reason).toBe('tool_calls');

    const toolDeltas = rawChunks.flatMap((chunk) => chunk.choices[0]?.delta.tool_calls ?? []);
    const headers = toolDeltas.filter((delta) => delta.id !== undefined);
    expect(headers.map((delta) => [delta.index, delta.type, delta.function?.name, delta.function?.arguments])).toEqual([
      [0, 'function', 'get_weather', ''],
      [1, 'function', 'get_time', ''],
    ]);
    const argumentDeltas = toolDeltas.filter((delta) => delta.id === undefined);
    expect(argumentDeltas.length).toBeGreaterThan(2); // the arguments really arrive in pieces
    expect(argumentDeltas.every((delta) => Object.keys(delta).sort().join() === 'function,index')).toBe(true);
    expect(argumentDeltas.every((delta) => Object.keys(delta.function ?? {}).join() === 'arguments')).toBe(true);
  });

  it('splits text by chunkSize when given', async () => {
    server.enqueue({ text: 'abcdefg', chunkSize: 3 });
    const raw = await post('/chat/completions', { model: 'gpt-test', messages: userMessage, stream: true });
    const contents = (chatPayloads(raw.text).slice(0, -1) as ChatCompletionChunk[]).map((chunk) => chunk.choices[0]?.delta.content);
    expect(contents.filter((content) => content)).toEqual(['abc', 'def', 'g']);
  });
});

describe('responses API', () => {
  it('streams reasoning, text and a function call as ordered, numbered events', async () => {
    server.enqueue({
      reasoning: 'Need the weather.',
      text: 'Let me check.',
      toolCalls: [{ id: 'call_w', name: 'get_weather', arguments: '{"city":"Paris"}' }],
      usage: { inputTokens: 30, outputTokens: 20, cachedInputTokens: 10, reasoningTokens: 6 },
    });
    const raw = await post('/v1/responses', { model: 'gpt-test', input: 'Weather?', stream: true });

    expect(raw.contentType).toBe('text/event-stream');
    expect(raw.text).not.toContain('[DONE]');
    const events = responseEvents(raw.text);
    expect(events.every(({ event, data }) => event === data.type)).toBe(true);
    expect(events.map(({ data }) => data.sequence_number)).toEqual(events.map((_, index) => index));
    const types = events.map(({ data }) => data.type).filter((type, index, all) => !type.endsWith('.delta') || all[index - 1] !== type);
    expect(types).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.reasoning_summary_part.added',
      'response.reasoning_summary_text.delta',
      'response.reasoning_summary_text.done',
      'response.reasoning_summary_part.done',
      'response.output_item.done',
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.delta',
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.output_item.added',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.done',
      'response.output_item.done',
      'response.completed',
    ]);
    const inProgress = events[1]?.data;
    expect(inProgress?.type === 'response.in_progress' && [inProgress.response.status, inProgress.response.output]).toEqual([
      'in_progress',
      [],
    ]);
    const textDelta = events.find(({ data }) => data.type === 'response.output_text.delta')?.data;
    expect(textDelta).toMatchObject({ output_index: 1, content_index: 0, delta: 'Let', logprobs: [] });
    expect(textDelta?.type === 'response.output_text.delta' && textDelta.item_id).toMatch(/^msg_/);
    const completed = events.at(-1)?.data;
    if (completed?.type !== 'response.completed') throw new Error('expected response.completed last');
    expect(completed.response.status).toBe('completed');
    expect(completed.response.model).toBe('gpt-test');
    expect(completed.response.usage).toEqual({
      input_tokens: 30,
      input_tokens_details: { cached_tokens: 10, cache_write_tokens: 0 },
      output_tokens: 20,
      output_tokens_details: { reasoning_tokens: 6 },
      total_tokens: 50,
    });
    expect(completed.response.output.map((item) => item.type)).toEqual(['reasoning', 'message', 'function_call']);
    expect(completed.response.id).toMatch(/^resp_/);
  });

  it('gives the SDK a finalResponse with output_text, reasoning and exact function call arguments', async () => {
    const args = JSON.stringify({ city: 'Paris', when: ['today', 'tomorrow'] });
    server.enqueue({
      reasoning: 'Two steps.',
      text: 'Checking the weather now.',
      toolCalls: [
        { name: 'get_weather', arguments: args },
        { name: 'get_time', arguments: '{}' },
      ],
    });
    const stream = client.responses.stream({ model: 'gpt-test', input: 'Weather?' });
    const seen: string[] = [];
    stream.on('event', (event) => seen.push(event.type));
    const response = await stream.finalResponse();

    expect(response.output_text).toBe('Checking the weather now.');
    const reasoning = response.output.find((item) => item.type === 'reasoning');
    expect(reasoning?.type === 'reasoning' && reasoning.summary).toEqual([{ type: 'summary_text', text: 'Two steps.' }]);
    const calls = response.output.flatMap((item) => (item.type === 'function_call' ? [item] : []));
    expect(calls.map((call) => [call.name, call.arguments, call.status])).toEqual([
      ['get_weather', args, 'completed'],
      ['get_time', '{}', 'completed'],
    ]);
    expect(calls.every((call) => call.call_id.startsWith('call_') && call.id?.startsWith('fc_'))).toBe(true);
    expect(new Set(calls.map((call) => call.call_id)).size).toBe(2);
    expect(seen.at(-1)).toBe('response.completed');
  });

  it('answers non-streamed with the final response object and echoes previous_response_id', async () => {
    server.enqueue({ text: 'Done.', reasoning: 'Short.', usage: { inputTokens: 5, outputTokens: 3, reasoningTokens: 1 } });
    const response = await client.responses.create({ model: 'gpt-test', input: 'Go', previous_response_id: 'resp_prev' });

    expect(response.object).toBe('response');
    expect(response.status).toBe('completed');
    expect(response.previous_response_id).toBe('resp_prev');
    expect(response.output_text).toBe('Done.');
    expect(response.output.map((item) => item.type)).toEqual(['reasoning', 'message']);
    expect(response.usage).toEqual({
      input_tokens: 5,
      input_tokens_details: { cached_tokens: 0, cache_write_tokens: 0 },
      output_tokens: 3,
      output_tokens_details: { reasoning_tokens: 1 },
      total_tokens: 8,
    });
  });

  it('reports finishReason length as an incomplete response', async () => {
    server.enqueue({ text: 'Cut', finishReason: 'length' });
    const response = await client.responses.stream({ model: 'gpt-test', input: 'Go' }).finalResponse();
    expect(response.status).toBe('incomplete');
    expect(response.incomplete_details).toEqual({ reason: 'max_output_tokens' });
  });
});

describe('turn selection and usage', () => {
  it('answers queued turns in order, then the default turn', async () => {
    server.enqueue({ text: 'first' }, { text: 'second' });
    const texts: Array<string | null | undefined> = [];
    for (let i = 0; i < 3; i++) {
      const completion = await client.chat.completions.create({ model: 'gpt-test', messages: userMessage });
      texts.push(completion.choices[0]?.message.content);
    }
    expect(texts).toEqual(['first', 'second', 'Hello from the fake model.']);
  });

  it('asks a function script per request, and reports deterministic default usage', async () => {
    server.setScript((request) => ({ text: `answer to #${request.id} via ${request.api}` }));
    const body = { model: 'gpt-test', messages: userMessage };
    const first = await client.chat.completions.create(body);
    const second = await client.chat.completions.create(body);
    const response = await client.responses.create({ model: 'gpt-test', input: 'x' });

    expect(first.choices[0]?.message.content).toBe('answer to #1 via chat_completions');
    expect(second.choices[0]?.message.content).toBe('answer to #2 via chat_completions');
    expect(response.output_text).toBe('answer to #3 via responses');
    const expected = defaultUsage(body, { text: 'answer to #1 via chat_completions' });
    expect(first.usage?.prompt_tokens).toBe(expected.inputTokens);
    expect(first.usage?.completion_tokens).toBe(expected.outputTokens);
    expect(second.usage?.prompt_tokens).toBe(first.usage?.prompt_tokens);
    expect(first.usage?.prompt_tokens).toBeGreaterThan(0);
  });

  it('toolLoopScript answers tool turns until every call has a result, then the final text', async () => {
    server.setScript(
      toolLoopScript({
        toolCalls: [
          [
            { name: 'fetch', arguments: '{"n":1}' },
            { name: 'fetch', arguments: '{"n":2}' },
          ],
          [{ name: 'search', arguments: '{"q":"a"}' }],
        ],
        finalText: 'All done.',
      }),
    );
    // Chat: the conversation grows by the assistant turn and its tool results each round.
    const messages: OpenAI.Chat.ChatCompletionMessageParam[] = [...userMessage];
    const answers: string[] = [];
    for (let round = 0; round < 3; round++) {
      const completion = await client.chat.completions.create({ model: 'gpt-test', messages });
      const message = completion.choices[0]?.message;
      if (!message) throw new Error('no message');
      const calls = (message.tool_calls ?? []).flatMap((call) => (call.type === 'function' ? [call] : []));
      answers.push(message.content ?? calls.map((call) => `${call.function.name}${call.function.arguments}`).join(' '));
      messages.push(message);
      for (const call of calls) messages.push({ role: 'tool', tool_call_id: call.id, content: 'result' });
    }
    // The parallel first turn leaves two results, which must still lead to the second turn.
    expect(answers).toEqual(['fetch{"n":1} fetch{"n":2}', 'search{"q":"a"}', 'All done.']);
    expect(server.requests).toHaveLength(3);

    // Responses: the same rule counts function_call_output items.
    const withResults = await client.responses.create({
      model: 'gpt-test',
      input: [
        { role: 'user', content: 'go' },
        { type: 'function_call_output', call_id: 'call_1', output: 'r1' },
        { type: 'function_call_output', call_id: 'call_2', output: 'r2' },
      ],
    });
    expect(withResults.output.map((item) => (item.type === 'function_call' ? item.arguments : item.type))).toEqual([
      '{"q":"a"}',
    ]);
  });
});

describe('faults', () => {
  it('answers a status fault with an OpenAI error and retry-after, which the SDK maps to RateLimitError', async () => {
    server.enqueue({ fault: { kind: 'status', status: 429, retryAfter: '7', message: 'Slow down' } });
    const error = await client.chat.completions.create({ model: 'gpt-test', messages: userMessage }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    const rateLimit = error as InstanceType<typeof OpenAI.RateLimitError>;
    expect(rateLimit.status).toBe(429);
    expect(rateLimit.headers?.get('retry-after')).toBe('7');
    expect(rateLimit.error).toMatchObject({ message: 'Slow down', code: 'rate_limit_exceeded' });
    expect(server.requests).toHaveLength(1); // maxRetries: 0, and the fault is not retried by the server
  });

  it('makes chat stream iteration throw on a mid-stream error, after the chunks before it', async () => {
    server.enqueue({ text: 'one two three four', fault: { kind: 'mid-stream-error', afterChunks: 2, message: 'model exploded' } });
    const stream = await client.chat.completions.create({ model: 'gpt-test', messages: userMessage, stream: true });
    let text = '';
    const error = await (async () => {
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    })().catch((e: unknown) => e);

    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect((error as Error).message).toContain('model exploded');
    expect(text).toBe('one two');
  });

  it('sends `event: error` then response.failed on a Responses mid-stream error', async () => {
    server.enqueue({ text: 'alpha beta', fault: { kind: 'mid-stream-error', afterChunks: 1, message: 'boom' } });
    const raw = await post('/v1/responses', { model: 'gpt-test', input: 'x', stream: true });
    const events = responseEvents(raw.text);
    expect(events.slice(-2).map(({ event }) => event)).toEqual(['error', 'response.failed']);
    const failed = events.at(-1)?.data;
    expect(failed?.type === 'response.failed' && [failed.response.status, failed.response.error?.message]).toEqual(['failed', 'boom']);
    expect(events.filter(({ event }) => event === 'response.output_text.delta')).toHaveLength(1);

    server.enqueue({ text: 'alpha beta', fault: { kind: 'mid-stream-error', afterChunks: 1, message: 'boom' } });
    const error = await client.responses.stream({ model: 'gpt-test', input: 'x' }).finalResponse().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect((error as Error).message).toContain('boom');
  });

  it('drops the connection after the given chunks, which makes stream iteration throw', async () => {
    server.enqueue({ text: 'one two three', fault: { kind: 'drop', afterChunks: 1 } });
    const raw = await readUntilConnectionEnds('/v1/chat/completions', { model: 'gpt-test', messages: userMessage, stream: true });
    expect(raw.ending).toBe('error'); // no clean end of the chunked body
    expect((chatPayloads(raw.text) as ChatCompletionChunk[]).map((chunk) => chunk.choices[0]?.delta.content)).toEqual(['', 'one']);

    server.enqueue({ text: 'one two three', fault: { kind: 'drop', afterChunks: 1 } });
    const stream = await client.chat.completions.create({ model: 'gpt-test', messages: userMessage, stream: true });
    let text = '';
    const error = await (async () => {
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    })().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect(text).not.toBe('one two three');

    server.enqueue({ text: 'one two three', fault: { kind: 'drop', afterChunks: 1 } });
    await expect(client.responses.stream({ model: 'gpt-test', input: 'x' }).finalResponse()).rejects.toThrow();
  });

  it('ends a truncated stream cleanly without the final event or [DONE]', async () => {
    server.enqueue({ text: 'one two three', fault: { kind: 'truncate', afterChunks: 2 } });
    const chat = await post('/v1/chat/completions', { model: 'gpt-test', messages: userMessage, stream: true });
    expect(chat.status).toBe(200);
    expect(chat.text).not.toContain('[DONE]');
    expect(chat.text).not.toContain('finish_reason":"stop');
    expect((chatPayloads(chat.text) as ChatCompletionChunk[]).map((chunk) => chunk.choices[0]?.delta.content)).toEqual(['', 'one', ' two']);

    server.enqueue({ text: 'one two three', fault: { kind: 'truncate', afterChunks: 5 } });
    const responses = await post('/v1/responses', { model: 'gpt-test', input: 'x', stream: true });
    const types = responseEvents(responses.text).map(({ event }) => event);
    expect(types).toContain('response.output_item.done');
    expect(types).not.toContain('response.completed');
  });

  it('writes one malformed event and carries on, which the SDK rejects', async () => {
    server.enqueue({ text: 'one two', fault: { kind: 'malformed', afterChunks: 1 } });
    const raw = await post('/v1/chat/completions', { model: 'gpt-test', messages: userMessage, stream: true });
    const blocks = raw.text.split('\n\n').filter((block) => block !== '');
    const broken = blocks.filter((block) => {
      try {
        JSON.parse(block.slice('data: '.length));
        return false;
      } catch {
        return block !== 'data: [DONE]';
      }
    });
    expect(broken).toHaveLength(1);
    expect(blocks.at(-1)).toBe('data: [DONE]');

    server.enqueue({ text: 'one two', fault: { kind: 'malformed', afterChunks: 1 } });
    const quiet = new OpenAI({ baseURL: server.baseURL, apiKey: 'test-key', maxRetries: 0, logLevel: 'off' });
    const stream = await quiet.chat.completions.create({ model: 'gpt-test', messages: userMessage, stream: true });
    await expect(
      (async () => {
        for await (const _chunk of stream) {
          // drain
        }
      })(),
    ).rejects.toThrow(SyntaxError);
  });
});

describe('holds, concurrency and bookkeeping', () => {
  it('holds a stream at the gate until the test opens it', async () => {
    const gate = deferred();
    server.enqueue({ text: 'Hello held world', pauseAfterChunks: 1, gate: gate.promise });
    const stream = await client.chat.completions.create({ model: 'gpt-test', messages: userMessage, stream: true });
    const iterator = stream[Symbol.asyncIterator]();
    let text = '';
    while (text === '') {
      const next = await iterator.next();
      if (next.done) throw new Error('stream ended early');
      text += next.value.choices[0]?.delta.content ?? '';
    }
    let nextArrived = false;
    const pending = iterator.next().then((result) => {
      nextArrived = true;
      return result;
    });
    await client.models.list(); // a full round trip on another connection while the stream is held
    expect(text).toBe('Hello');
    expect(nextArrived).toBe(false);
    expect(server.inFlight).toBe(1);

    gate.resolve();
    const next = await pending;
    text += next.done ? '' : (next.value.choices[0]?.delta.content ?? '');
    for (let result = await iterator.next(); !result.done; result = await iterator.next()) {
      text += result.value.choices[0]?.delta.content ?? '';
    }
    expect(text).toBe('Hello held world');
  });

  it('counts in-flight model requests: three held streams make inFlight and maxInFlight 3', async () => {
    const gate = deferred();
    const turn: FakeTurn = { text: 'parallel answer', gate: gate.promise };
    server.enqueue(turn, turn, turn);
    expect([server.inFlight, server.maxInFlight]).toEqual([0, 0]);
    const streams = await Promise.all(
      [0, 1, 2].map(() => client.chat.completions.create({ model: 'gpt-test', messages: userMessage, stream: true })),
    );
    await server.waitForRequests(3);
    expect(server.inFlight).toBe(3);
    expect(server.maxInFlight).toBe(3);

    gate.resolve();
    const texts = await Promise.all(
      streams.map(async (stream) => {
        let text = '';
        for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
        return text;
      }),
    );
    expect(texts).toEqual(['parallel answer', 'parallel answer', 'parallel answer']);
    expect(server.maxInFlight).toBe(3);
  });

  it('records every request with method, path, api, stream flag, body and headers', async () => {
    await client.chat.completions.create(
      { model: 'gpt-test', messages: userMessage },
      { headers: { 'x-test-run': 'abc' } },
    );
    await (await client.responses.create({ model: 'gpt-test', input: 'hi', stream: true })).controller.abort();
    const missing = await post('/v1/nothing-here', { a: 1 });
    const badJson = await post('/v1/chat/completions', '{not json');
    await server.waitForRequests(4);

    expect(server.requests.map((r) => [r.id, r.method, r.path, r.api, r.stream])).toEqual([
      [1, 'POST', '/v1/chat/completions', 'chat_completions', false],
      [2, 'POST', '/v1/responses', 'responses', true],
      [3, 'POST', '/v1/nothing-here', 'other', false],
      [4, 'POST', '/v1/chat/completions', 'chat_completions', false],
    ]);
    expect(server.requests[0]?.body).toEqual({ model: 'gpt-test', messages: userMessage });
    expect(server.requests[0]?.headers.authorization).toBe('Bearer test-key');
    expect(server.requests[0]?.headers['x-test-run']).toBe('abc');
    expect(server.requests[3]?.body).toBe('{not json');
    expect(typeof server.requests[0]?.receivedAt).toBe('number');

    expect(missing.status).toBe(404);
    expect(JSON.parse(missing.text)).toMatchObject({ error: { type: 'invalid_request_error', code: 'unknown_url' } });
    expect(badJson.status).toBe(400);
    expect(JSON.parse(badJson.text)).toMatchObject({ error: { type: 'invalid_request_error', code: 'invalid_json' } });
    expect(typeof JSON.parse(badJson.text).error.message).toBe('string');

    server.reset();
    expect(server.requests).toEqual([]);
  });

  it('lists models', async () => {
    const models = [];
    for await (const model of client.models.list()) models.push(model.id);
    expect(models).toContain('gpt-fake');
    expect(server.requests[0]?.path).toBe('/v1/models');
  });

  it('closes promptly with a stream held open, and the client sees the connection end', async () => {
    server.enqueue({ text: 'never finished', gate: new Promise(() => {}) });
    const stream = await client.chat.completions.create({ model: 'gpt-test', messages: userMessage, stream: true });
    const consumed = (async () => {
      for await (const _chunk of stream) {
        // drain until the server goes away
      }
    })().then(
      () => 'ended',
      () => 'threw',
    );
    await server.close();
    expect(await consumed).toBe('threw');
    await expect(server.waitForRequests(5)).rejects.toThrow(/closed/);
  });
});
