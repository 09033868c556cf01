// The relay is the only way from an app to the model. These tests use the real `openai` client
// against it (streamed and not, both APIs) and the fake upstream behind it, and check the four
// promises: single use (also under a race), the bound model, expiry, and an unbuffered pass-through
// that records what it saw — including when the client leaves mid-stream.

import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { startFakeModelServer, type FakeModelServer } from '../../../../test/src/fake-model-server.ts';
import type { PrepareAllow } from '../protocol.ts';
import { asAllow, asError, useHarnesses, UPSTREAM_KEY } from './test-harness.ts';
import type { Harness } from './test-harness.ts';

const { fake, harness } = useHarnesses();

function client(allow: PrepareAllow): OpenAI {
  return new OpenAI({ baseURL: allow.relay.baseUrl, apiKey: allow.relay.apiKey, maxRetries: 0 });
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve: () => void = () => {};
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** Model requests the fake upstream received. */
function modelRequests(): FakeModelServer['requests'] {
  return fake().requests.filter((request) => request.api !== 'other');
}

async function relayRaw(h: Harness, apiKey: string, body: unknown = { model: 'gpt-fake', messages: [{ role: 'user', content: 'hi' }] }) {
  return h.request('POST', '/relay/v1/chat/completions', { headers: { authorization: `Bearer ${apiKey}` }, body });
}

describe('relay: pass-through with the openai client', () => {
  it('streams chat completions intact, with the upstream key, and records the observed usage', async () => {
    const h = await harness();
    fake().enqueue({ text: 'Streaming through the relay works.', usage: { inputTokens: 17, outputTokens: 6 } });
    const allow = asAllow(await h.prepare());
    const { data: stream, response } = await client(allow)
      .chat.completions.create({
        model: allow.relay.model,
        messages: [{ role: 'user', content: 'Say something.' }],
        stream: true,
        stream_options: { include_usage: true },
      })
      .withResponse();
    expect(response.headers.get('x-request-id')).toMatch(/^req_fake_/);
    let text = '';
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      usage = chunk.usage ?? usage;
    }
    expect(text).toBe('Streaming through the relay works.');
    expect(usage).toMatchObject({ prompt_tokens: 17, completion_tokens: 6 });

    const [upstream] = modelRequests();
    expect(modelRequests()).toHaveLength(1);
    expect(upstream?.path).toBe('/v1/chat/completions');
    expect(upstream?.headers.authorization).toBe(`Bearer ${UPSTREAM_KEY}`);
    expect(JSON.stringify(upstream?.headers)).not.toContain(allow.relay.apiKey);
    expect(upstream?.body).toEqual({
      model: 'gpt-fake',
      messages: [{ role: 'user', content: 'Say something.' }],
      stream: true,
      stream_options: { include_usage: true },
    });

    await h.vela.settled();
    expect(h.vela.admin.audit()[0]).toMatchObject({ relayStatus: 'completed', relayInputTokens: 17, relayOutputTokens: 6, status: 'pending' });
  });

  it('streams the Responses API intact and records usage from response.completed', async () => {
    const h = await harness();
    fake().enqueue({ text: 'Responses pass through too.', usage: { inputTokens: 40, outputTokens: 5 } });
    const allow = asAllow(await h.prepare(h.prepareBody({ api: 'responses' })));
    const stream = await client(allow).responses.create({ model: allow.relay.model, input: 'Say something.', stream: true });
    let text = '';
    const types: string[] = [];
    for await (const event of stream) {
      types.push(event.type);
      if (event.type === 'response.output_text.delta') text += event.delta;
    }
    expect(text).toBe('Responses pass through too.');
    expect(types.at(-1)).toBe('response.completed');
    expect(modelRequests().map((request) => request.path)).toEqual(['/v1/responses']);
    await h.vela.settled();
    expect(h.vela.admin.audit()[0]).toMatchObject({ relayStatus: 'completed', relayInputTokens: 40, relayOutputTokens: 5 });
  });

  it('passes non-streamed answers and records their usage', async () => {
    const h = await harness();
    fake().enqueue({ text: 'Not streamed.', usage: { inputTokens: 8, outputTokens: 3 } });
    const allow = asAllow(await h.prepare());
    const completion = await client(allow).chat.completions.create({ model: allow.relay.model, messages: [{ role: 'user', content: 'hi' }] });
    expect(completion.choices[0]?.message.content).toBe('Not streamed.');
    await h.vela.settled();
    expect(h.vela.admin.audit()[0]).toMatchObject({ relayStatus: 'completed', relayInputTokens: 8, relayOutputTokens: 3 });
  });

  it('is unbuffered: chunks reach the client while the upstream is still holding its stream', async () => {
    const h = await harness();
    const gate = deferred();
    fake().enqueue({ text: 'one two three four', gate: gate.promise, pauseAfterChunks: 2 });
    const allow = asAllow(await h.prepare());
    const stream = await client(allow).chat.completions.create({ model: allow.relay.model, messages: [{ role: 'user', content: 'hi' }], stream: true });
    const iterator = stream[Symbol.asyncIterator]();
    let text = '';
    try {
      while (text !== 'one two') {
        const next = await iterator.next();
        if (next.done) throw new Error('stream ended early');
        text += next.value.choices[0]?.delta.content ?? '';
      }
      // The upstream has not finished (it is held at the gate), yet two chunks arrived.
      expect(fake().inFlight).toBe(1);
      expect(h.vela.admin.audit()[0]?.relayStatus).toBe('streaming');
    } finally {
      gate.resolve();
    }
    for (;;) {
      const next = await iterator.next();
      if (next.done) break;
      text += next.value.choices[0]?.delta.content ?? '';
    }
    expect(text).toBe('one two three four');
    await h.vela.settled();
    expect(h.vela.admin.audit()[0]?.relayStatus).toBe('completed');
  });

  it('forwards bodies whose tool schemas have a property named "constructor"', async () => {
    const h = await harness();
    const allow = asAllow(await h.prepare());
    const tools = [
      { type: 'function', function: { name: 'f', parameters: { type: 'object', properties: { constructor: { type: 'string' } } } } },
    ];
    const answer = await relayRaw(h, allow.relay.apiKey, { model: 'gpt-fake', messages: [{ role: 'user', content: 'hi' }], tools });
    expect(answer.status).toBe(200);
    expect(modelRequests()[0]?.body).toMatchObject({ tools });
  });
});

describe('relay: single use, bound model, expiry', () => {
  it('a used key → 401 relay_key_used; the upstream saw exactly one request', async () => {
    const h = await harness();
    const allow = asAllow(await h.prepare());
    expect((await relayRaw(h, allow.relay.apiKey)).status).toBe(200);
    const again = await relayRaw(h, allow.relay.apiKey);
    expect(again.status).toBe(401);
    expect(asError(again).code).toBe('relay_key_used');
    expect(modelRequests()).toHaveLength(1);
  });

  it('100 parallel uses of one key → exactly one forwarded', async () => {
    const h = await harness();
    const allow = asAllow(await h.prepare());
    const answers = await Promise.all(Array.from({ length: 100 }, () => relayRaw(h, allow.relay.apiKey)));
    expect(answers.filter((answer) => answer.status === 200)).toHaveLength(1);
    const refused = answers.filter((answer) => answer.status !== 200);
    expect(refused).toHaveLength(99);
    expect(new Set(refused.map((answer) => `${answer.status} ${asError(answer).code}`))).toEqual(new Set(['401 relay_key_used']));
    expect(modelRequests()).toHaveLength(1);
  });

  it('an expired key → 401 relay_key_expired, nothing forwarded', async () => {
    const h = await harness({ relayTtlMs: 1000 });
    const expired = asAllow(await h.prepare());
    const live = asAllow(await h.prepare());
    h.clock.now += 999;
    expect((await relayRaw(h, live.relay.apiKey)).status).toBe(200);
    h.clock.now += 1;
    const answer = await relayRaw(h, expired.relay.apiKey);
    expect(answer.status).toBe(401);
    expect(asError(answer).code).toBe('relay_key_expired');
    expect(modelRequests()).toHaveLength(1);
  });

  it('another model → 403 model_mismatch without consuming the key', async () => {
    const h = await harness();
    const allow = asAllow(await h.prepare());
    const mismatch = await relayRaw(h, allow.relay.apiKey, { model: 'gpt-fake-mini', messages: [] });
    expect(mismatch.status).toBe(403);
    expect(asError(mismatch)).toMatchObject({ code: 'model_mismatch', field: 'model' });
    const prefixed = await relayRaw(h, allow.relay.apiKey, { model: 'openai/gpt-fake', messages: [] });
    expect(prefixed.status).toBe(403);
    expect(modelRequests()).toHaveLength(0);
    expect(h.vela.admin.audit()[0]?.relayStatus).toBe('unused');
    expect((await relayRaw(h, allow.relay.apiKey)).status).toBe(200);
  });

  it('missing, malformed or unknown keys → 401 invalid_relay_key', async () => {
    const h = await harness();
    asAllow(await h.prepare());
    const headerSets: Array<Record<string, string>> = [
      {},
      { authorization: 'Bearer vrk_unknown' },
      { authorization: `Bearer ${h.app.appToken}` },
      { authorization: 'Basic abc' },
    ];
    for (const headers of headerSets) {
      const answer = await h.request('POST', '/relay/v1/responses', { headers, body: { model: 'gpt-fake', input: 'hi' } });
      expect(answer.status).toBe(401);
      expect(asError(answer).code).toBe('invalid_relay_key');
    }
    expect(modelRequests()).toHaveLength(0);
  });
});

describe('relay: failures and aborts', () => {
  it('a client that leaves mid-stream aborts the upstream request and is recorded as aborted', async () => {
    const h = await harness();
    const gate = deferred();
    fake().enqueue({ text: 'one two three four', gate: gate.promise, pauseAfterChunks: 1 });
    const allow = asAllow(await h.prepare());
    const controller = new AbortController();
    try {
      const stream = await client(allow).chat.completions.create(
        { model: allow.relay.model, messages: [{ role: 'user', content: 'hi' }], stream: true },
        { signal: controller.signal },
      );
      const iterator = stream[Symbol.asyncIterator]();
      let text = '';
      while (text === '') {
        const next = await iterator.next();
        if (next.done) throw new Error('stream ended early');
        text += next.value.choices[0]?.delta.content ?? '';
      }
      expect(text).toBe('one');
      controller.abort();
      // The openai client ends (or rejects) an aborted stream; either way it yields no more text.
      const after = await iterator.next().catch(() => ({ done: true as const, value: undefined }));
      expect(after.done).toBe(true);
      await h.vela.settled();
      expect(h.vela.admin.audit()[0]).toMatchObject({ relayStatus: 'aborted' });
    } finally {
      gate.resolve();
    }
  });

  it('a client that leaves before the upstream answers aborts the upstream request and is recorded as aborted', async () => {
    const h = await harness();
    const gate = deferred();
    fake().enqueue({ text: 'late', gate: gate.promise }); // non-streamed: the fake answers once the gate opens
    const allow = asAllow(await h.prepare());
    const controller = new AbortController();
    try {
      const call = client(allow).chat.completions.create(
        { model: allow.relay.model, messages: [{ role: 'user', content: 'hi' }] },
        { signal: controller.signal },
      );
      await fake().waitForRequests(1);
      controller.abort();
      await expect(call).rejects.toThrow();
      await h.vela.settled();
      expect(h.vela.admin.audit()[0]).toMatchObject({ relayStatus: 'aborted' });
    } finally {
      gate.resolve();
    }
  });

  it('closing the server aborts open relay streams and records them as aborted', async () => {
    const h = await harness();
    const gate = deferred();
    fake().enqueue({ text: 'one two three', gate: gate.promise, pauseAfterChunks: 1 });
    const allow = asAllow(await h.prepare());
    try {
      const stream = await client(allow).chat.completions.create({ model: allow.relay.model, messages: [{ role: 'user', content: 'hi' }], stream: true });
      const iterator = stream[Symbol.asyncIterator]();
      expect((await iterator.next()).done).toBe(false);
      await h.vela.close();
      await expect(
        (async () => {
          for (;;) if ((await iterator.next()).done) return;
        })(),
      ).rejects.toThrow();
      expect(h.dump().executions).toEqual([expect.objectContaining({ execution_id: allow.executionId, relay_status: 'aborted' })]);
    } finally {
      gate.resolve();
    }
  });

  it('an unreachable upstream → 502 upstream_unavailable, recorded failed; the key is used', async () => {
    const gone = await startFakeModelServer();
    await gone.close();
    const h = await harness({}, gone.baseURL);
    const allow = asAllow(await h.prepare());
    const answer = await relayRaw(h, allow.relay.apiKey);
    expect(answer.status).toBe(502);
    expect(asError(answer).code).toBe('upstream_unavailable');
    expect(answer.text).not.toContain(UPSTREAM_KEY);
    expect(h.vela.admin.audit()[0]?.relayStatus).toBe('failed');
    expect(asError(await relayRaw(h, allow.relay.apiKey)).code).toBe('relay_key_used');
  });

  it('passes upstream HTTP errors through (status, retry-after, body) and records failed', async () => {
    const h = await harness();
    fake().enqueue({ fault: { kind: 'status', status: 429, retryAfter: '7', message: 'slow down' } });
    const allow = asAllow(await h.prepare());
    const answer = await relayRaw(h, allow.relay.apiKey);
    expect(answer.status).toBe(429);
    expect(answer.headers.get('retry-after')).toBe('7');
    expect(answer.body).toMatchObject({ error: { message: 'slow down', code: 'rate_limit_exceeded' } });
    await h.vela.settled();
    expect(h.vela.admin.audit()[0]?.relayStatus).toBe('failed');
  });

  it('a mid-stream upstream error is passed through and recorded failed', async () => {
    const h = await harness();
    fake().enqueue({ text: 'one two three', fault: { kind: 'mid-stream-error', afterChunks: 1 } });
    const allow = asAllow(await h.prepare(h.prepareBody({ api: 'responses' })));
    const stream = await client(allow).responses.create({ model: allow.relay.model, input: 'hi', stream: true });
    await expect(
      (async () => {
        for await (const _event of stream) {
          // drain
        }
      })(),
    ).rejects.toThrow();
    await h.vela.settled();
    expect(h.vela.admin.audit()[0]?.relayStatus).toBe('failed');
  });

  it('a dropped upstream connection breaks the client stream and is recorded failed', async () => {
    const h = await harness();
    fake().enqueue({ text: 'one two three', fault: { kind: 'drop', afterChunks: 1 } });
    const allow = asAllow(await h.prepare());
    const stream = await client(allow).chat.completions.create({ model: allow.relay.model, messages: [{ role: 'user', content: 'hi' }], stream: true });
    await expect(
      (async () => {
        for await (const _chunk of stream) {
          // drain
        }
      })(),
    ).rejects.toThrow();
    await h.vela.settled();
    expect(h.vela.admin.audit()[0]?.relayStatus).toBe('failed');
  });

  it('a truncated stream (no final event) is recorded failed', async () => {
    const h = await harness();
    fake().enqueue({ text: 'one two three', fault: { kind: 'truncate', afterChunks: 1 } });
    const allow = asAllow(await h.prepare());
    const answer = await relayRaw(h, allow.relay.apiKey, { model: 'gpt-fake', messages: [{ role: 'user', content: 'hi' }], stream: true });
    expect(answer.status).toBe(200);
    expect(answer.text).not.toContain('[DONE]');
    await h.vela.settled();
    expect(h.vela.admin.audit()[0]?.relayStatus).toBe('failed');
  });
});
