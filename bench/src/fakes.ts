// Why this file exists: per-call and per-event rows must measure SDK + Sluice, not sockets. These
// fakes answer from memory: a `fetch` for the `openai` client (and so the Agents SDK), returning
// canned Chat Completions / Responses bodies — JSON, or SSE framed like the real APIs, one frame per
// body chunk — and an AI SDK `LanguageModelV4` streaming parts from a pull-based ReadableStream.
// Both can hold every stream at a gate (in-flight memory rows).
import type {
  LanguageModelV4,
  LanguageModelV4GenerateResult,
  LanguageModelV4StreamPart,
  LanguageModelV4Usage,
} from '@ai-sdk/provider';

/** Where streams pause: after `pauseAfter` body frames (fetch) or parts (AI SDK) until `promise` settles. */
export interface Gate {
  pauseAfter: number;
  promise: Promise<unknown>;
}

/** What the fakes answer with; change it between measurements (read per request). */
export interface FakeAnswer {
  /** Text deltas per streamed answer. */
  deltas: number;
  /** The text of one delta. */
  delta: string;
  gate: Gate | undefined;
}

const MODEL = 'gpt-fake';
const CREATED = 1_700_000_000;
const encoder = new TextEncoder();

function sse(data: unknown, event?: string): Uint8Array {
  return encoder.encode(`${event ? `event: ${event}\n` : ''}data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`);
}

// ── Chat Completions ──────────────────────────────────────────────────────────────────────────────

const CHAT_ID = 'chatcmpl-bench';
const CHAT_USAGE = { prompt_tokens: 12, completion_tokens: 6, total_tokens: 18, prompt_tokens_details: { cached_tokens: 0 }, completion_tokens_details: { reasoning_tokens: 0 } };
const CHAT_JSON = JSON.stringify({
  id: CHAT_ID,
  object: 'chat.completion',
  created: CREATED,
  model: MODEL,
  choices: [{ index: 0, message: { role: 'assistant', content: 'Hello from the fake model.', refusal: null }, logprobs: null, finish_reason: 'stop' }],
  usage: CHAT_USAGE,
});

function chatChunk(delta: Record<string, unknown>, finishReason: string | null): Uint8Array {
  return sse({ id: CHAT_ID, object: 'chat.completion.chunk', created: CREATED, model: MODEL, choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }] });
}

interface Frames {
  head: Uint8Array[];
  delta: Uint8Array;
  tail: Uint8Array[];
}

function chatFrames(answer: FakeAnswer): Frames {
  return {
    head: [chatChunk({ role: 'assistant', content: '' }, null)],
    delta: chatChunk({ content: answer.delta }, null),
    tail: [
      chatChunk({}, 'stop'),
      sse({ id: CHAT_ID, object: 'chat.completion.chunk', created: CREATED, model: MODEL, choices: [], usage: CHAT_USAGE }),
      sse('[DONE]'),
    ],
  };
}

// ── Responses API ─────────────────────────────────────────────────────────────────────────────────

const RESPONSE_ID = 'resp_bench';
const MESSAGE_ID = 'msg_bench';
const RESPONSES_USAGE = { input_tokens: 12, input_tokens_details: { cached_tokens: 0 }, output_tokens: 6, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 18 };

function responseObject(status: 'in_progress' | 'completed', text: string | undefined): Record<string, unknown> {
  return {
    id: RESPONSE_ID,
    object: 'response',
    created_at: CREATED,
    status,
    model: MODEL,
    output: text === undefined ? [] : [{ id: MESSAGE_ID, type: 'message', status: 'completed', role: 'assistant', content: [{ type: 'output_text', annotations: [], logprobs: [], text }] }],
    parallel_tool_calls: true,
    tool_choice: 'auto',
    tools: [],
    usage: text === undefined ? null : RESPONSES_USAGE,
  };
}

const RESPONSE_JSON = JSON.stringify(responseObject('completed', 'Hello from the fake model.'));

function responsesFrames(answer: FakeAnswer): Frames {
  const text = answer.delta.repeat(answer.deltas);
  let seq = 0;
  const event = (type: string, body: Record<string, unknown>) => sse({ type, ...body, sequence_number: seq++ }, type);
  const head = [
    event('response.created', { response: responseObject('in_progress', undefined) }),
    event('response.in_progress', { response: responseObject('in_progress', undefined) }),
    event('response.output_item.added', { output_index: 0, item: { id: MESSAGE_ID, type: 'message', status: 'in_progress', role: 'assistant', content: [] } }),
    event('response.content_part.added', { item_id: MESSAGE_ID, output_index: 0, content_index: 0, part: { type: 'output_text', annotations: [], logprobs: [], text: '' } }),
  ];
  // One frame for every delta (the sequence number does not vary: nothing downstream checks it).
  const delta = event('response.output_text.delta', { item_id: MESSAGE_ID, output_index: 0, content_index: 0, delta: answer.delta, logprobs: [] });
  const tail = [
    event('response.output_text.done', { item_id: MESSAGE_ID, output_index: 0, content_index: 0, text, logprobs: [] }),
    event('response.content_part.done', { item_id: MESSAGE_ID, output_index: 0, content_index: 0, part: { type: 'output_text', annotations: [], logprobs: [], text } }),
    event('response.output_item.done', { output_index: 0, item: { id: MESSAGE_ID, type: 'message', status: 'completed', role: 'assistant', content: [{ type: 'output_text', annotations: [], logprobs: [], text }] } }),
    event('response.completed', { response: responseObject('completed', text) }),
  ];
  return { head, delta, tail };
}

// ── fetch ─────────────────────────────────────────────────────────────────────────────────────────

/** A body that writes one SSE frame per chunk, pulled on demand, holding at the gate if there is one. */
function frameStream(frames: Frames, deltas: number, gate: Gate | undefined): ReadableStream<Uint8Array> {
  const total = frames.head.length + deltas + frames.tail.length;
  const tailStart = frames.head.length + deltas;
  let index = 0;
  const frameAt = (i: number): Uint8Array => (i < frames.head.length ? frames.head[i]! : i < tailStart ? frames.delta : frames.tail[i - tailStart]!);
  if (gate) {
    return new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (index === gate.pauseAfter) await gate.promise;
        if (index >= total) return controller.close();
        controller.enqueue(frameAt(index++));
      },
    });
  }
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (index >= total) return controller.close();
      controller.enqueue(frameAt(index++));
    },
  });
}

/** An in-memory OpenAI API: `new OpenAI({ fetch: fake.fetch, ... })`. */
export interface FakeOpenAI {
  readonly answer: FakeAnswer;
  readonly fetch: typeof fetch;
  /** Requests answered so far. */
  requests: number;
}

const JSON_HEADERS = { 'content-type': 'application/json', 'x-request-id': 'req_bench' };
const SSE_HEADERS = { 'content-type': 'text/event-stream', 'x-request-id': 'req_bench' };

/** Creates an in-memory OpenAI API answering `/chat/completions` and `/responses`. */
export function createFakeOpenAI(answer: Partial<FakeAnswer> = {}): FakeOpenAI {
  const state: FakeAnswer = { deltas: 8, delta: ' tok', gate: undefined, ...answer };
  const cache = new Map<string, Frames>();
  const framesFor = (api: 'chat' | 'responses'): Frames => {
    const key = `${api}:${state.deltas}:${state.delta}`;
    let frames = cache.get(key);
    if (!frames) {
      frames = api === 'chat' ? chatFrames(state) : responsesFrames(state);
      cache.set(key, frames);
    }
    return frames;
  };
  const fake: FakeOpenAI = {
    answer: state,
    requests: 0,
    fetch: (async (input: string | URL | Request, init?: RequestInit) => {
      fake.requests++;
      const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
      const body = typeof init?.body === 'string' ? init.body : '';
      const stream = body.includes('"stream":true');
      const api = url.endsWith('/chat/completions') ? 'chat' : url.endsWith('/responses') ? 'responses' : undefined;
      if (!api) return new Response(JSON.stringify({ error: { message: `no fake for ${url}` } }), { status: 404, headers: JSON_HEADERS });
      if (!stream) return new Response(api === 'chat' ? CHAT_JSON : RESPONSE_JSON, { status: 200, headers: JSON_HEADERS });
      return new Response(frameStream(framesFor(api), state.deltas, state.gate), { status: 200, headers: SSE_HEADERS });
    }) as typeof fetch,
  };
  return fake;
}

// ── AI SDK LanguageModelV4 ────────────────────────────────────────────────────────────────────────

const AI_USAGE: LanguageModelV4Usage = {
  inputTokens: { total: 12, noCache: 12, cacheRead: 0, cacheWrite: 0 },
  outputTokens: { total: 6, text: 6, reasoning: 0 },
};

/** An AI SDK model answering from memory, plus the answer it gives (mutable). */
export interface FakeLanguageModel extends LanguageModelV4 {
  readonly answer: FakeAnswer;
}

/** A `LanguageModelV4` whose `doStream` is a pull-based ReadableStream of parts, one part per pull. */
export function createFakeLanguageModel(answer: Partial<FakeAnswer> = {}): FakeLanguageModel {
  const state: FakeAnswer = { deltas: 8, delta: ' tok', gate: undefined, ...answer };
  return {
    specificationVersion: 'v4',
    provider: 'fake.chat',
    modelId: MODEL,
    supportedUrls: {},
    answer: state,
    async doGenerate(): Promise<LanguageModelV4GenerateResult> {
      return {
        content: [{ type: 'text', text: 'Hello from the fake model.' }],
        finishReason: { unified: 'stop', raw: 'stop' },
        usage: AI_USAGE,
        warnings: [],
        response: { id: RESPONSE_ID, modelId: MODEL, timestamp: new Date(CREATED * 1000) },
      };
    },
    async doStream() {
      const { deltas, delta, gate } = state;
      const head = 3; // stream-start, response-metadata, text-start
      const total = head + deltas + 2; // + text-end, finish
      let index = 0;
      const partAt = (i: number): LanguageModelV4StreamPart => {
        if (i >= head && i < head + deltas) return { type: 'text-delta', id: 't0', delta };
        switch (i) {
          case 0:
            return { type: 'stream-start', warnings: [] };
          case 1:
            return { type: 'response-metadata', id: RESPONSE_ID, modelId: MODEL, timestamp: new Date(CREATED * 1000) };
          case 2:
            return { type: 'text-start', id: 't0' };
          case head + deltas:
            return { type: 'text-end', id: 't0' };
          default:
            return { type: 'finish', finishReason: { unified: 'stop', raw: 'stop' }, usage: AI_USAGE };
        }
      };
      const stream = gate
        ? new ReadableStream<LanguageModelV4StreamPart>({
            async pull(controller) {
              if (index === gate.pauseAfter) await gate.promise;
              if (index >= total) return controller.close();
              controller.enqueue(partAt(index++));
            },
          })
        : new ReadableStream<LanguageModelV4StreamPart>({
            pull(controller) {
              if (index >= total) return controller.close();
              controller.enqueue(partAt(index++));
            },
          });
      return { stream };
    },
  };
}

/** A gate and the function that opens it. */
export function createGate(pauseAfter: number): Gate & { open(): void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { pauseAfter, promise, open };
}
