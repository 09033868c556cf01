// Why this file exists: a wrapped client's Chat Completions stream does not iterate the stream the
// SDK hands back but the class's own iterator under it, and copies each chunk with the SDK's
// `normalizeChatCompletionChunk` itself (one async generator fewer per chunk). These tests hold that
// to what the bare client gives, chunk for chunk, on every recorded Chat Completions stream — so an
// SDK upgrade that normalizes differently fails here.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createPipeline, type StreamEvent } from '@sluice/core';
import { wrapOpenAI } from '@sluice/core/openai';
import OpenAI from 'openai';
import type { ChatCompletionChunk } from 'openai/resources/chat/completions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureFiles, readFixture } from '../../../plugins/vel/src/testing/conformance.ts';
import { SCOPE_A } from '../support/scenario.ts';

const FAMILY = 'openai-chat';
const FILES = fixtureFiles(FAMILY);

/** A recorded stream's events framed as the API sends them: one SSE `data` payload each, then `[DONE]`. */
function sseBody(file: string): string {
  return readFixture(FAMILY, file).map((event) => `data: ${JSON.stringify(event)}\n\n`).join('') + 'data: [DONE]\n\n';
}

let server: Server;
let origin: string;
beforeAll(async () => {
  // Replays the recording named by the first path segment: `/<file>/chat/completions`.
  server = createServer((req, res) => {
    const file = decodeURIComponent(req.url!.split('/')[1] ?? '');
    req.resume();
    if (!FILES.includes(file)) {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: `no recording ${file}` } }));
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream' }).end(sseBody(file));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const client = (file: string) => new OpenAI({ baseURL: `${origin}/${encodeURIComponent(file)}`, apiKey: 'sk-test-recorded-stream-key', maxRetries: 0 });
const request = { model: 'gpt-fake', messages: [{ role: 'user' as const, content: 'Hi' }], stream: true as const };

async function collect(stream: AsyncIterable<ChatCompletionChunk>): Promise<ChatCompletionChunk[]> {
  const chunks: ChatCompletionChunk[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return chunks;
}

async function wrappedChunks(file: string): Promise<{ chunks: ChatCompletionChunk[]; events: StreamEvent[] }> {
  const events: StreamEvent[] = [];
  const sluice = createPipeline({ plugins: [{ name: 'events', apply: (hooks) => hooks.onEvent.tap('events', (_call, event) => void events.push(event)) }] });
  // Usage is not asked for on the caller's behalf: every chunk of the recording reaches the caller.
  const openai = wrapOpenAI(client(file), sluice, { scope: SCOPE_A, requestStreamUsage: false });
  const chunks = await collect(await openai.chat.completions.create(request));
  await sluice.idle();
  return { chunks, events };
}

describe('wrapOpenAI Chat Completions streams ≡ the bare client, on every recorded stream', () => {
  it.each(FILES)('%s: the same chunks, and onEvent sees the very objects the caller gets', async (file) => {
    const bare = await collect(await client(file).chat.completions.create(request));
    const { chunks, events } = await wrappedChunks(file);
    expect(bare.length).toBeGreaterThan(0);
    expect(chunks).toStrictEqual(bare);
    expect(events.map((event) => event.native)).toHaveLength(chunks.length);
    events.forEach((event, i) => expect(event.native).toBe(chunks[i]));
  });

  it('normalizes as the SDK does: a recorded choice without finish_reason reaches the caller with finish_reason null', async () => {
    const file = 'xai-text.chunks.txt';
    const wire = readFixture(FAMILY, file) as Array<{ choices: object[] }>;
    const missing = wire.flatMap((chunk) => chunk.choices).filter((choice) => !('finish_reason' in choice));
    expect(missing.length).toBeGreaterThan(0);
    const { chunks } = await wrappedChunks(file);
    const choices = chunks.flatMap((chunk) => chunk.choices);
    expect(choices).toHaveLength(wire.flatMap((chunk) => chunk.choices).length);
    expect(choices.every((choice) => 'finish_reason' in choice)).toBe(true);
    expect(choices.filter((choice) => choice.finish_reason === null).length).toBeGreaterThanOrEqual(missing.length);
  });
});
