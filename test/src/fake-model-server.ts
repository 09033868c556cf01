// Every test and the demo need a model that answers like OpenAI without a network, a key or any
// randomness. This file is that model: a `node:http` server speaking Chat Completions and the
// Responses API (streamed and not), framed byte-for-byte like the real APIs (see
// /work/shared/fixtures/provider-streams), scripted turn by turn, and able to misbehave on cue
// (HTTP errors, mid-stream errors, dropped or truncated streams, malformed events, held streams).
// It uses node built-ins only; the `openai` imports below are types, erased at runtime, and keep the
// wire shapes honest against the SDK that parses them.
//
// Run standalone for the demo: `node test/src/fake-model-server.ts` (PORT, HOST env vars).
// Importing the module starts nothing.

import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type {
  ChatCompletion,
  ChatCompletionChunk,
  ChatCompletionMessage,
  ChatCompletionMessageFunctionToolCall,
} from 'openai/resources/chat/completions';
import type { CompletionUsage } from 'openai/resources/completions';
import type {
  Response as OpenAIResponse,
  ResponseCompletedEvent,
  ResponseCreatedEvent,
  ResponseErrorEvent,
  ResponseFailedEvent,
  ResponseFunctionToolCall,
  ResponseIncompleteEvent,
  ResponseInProgressEvent,
  ResponseOutputItem,
  ResponseOutputMessage,
  ResponseOutputText,
  ResponseReasoningItem,
  ResponseStreamEvent,
  ResponseUsage,
  Tool,
} from 'openai/resources/responses/responses';

/** Token counts a turn reports. `outputTokens` includes `reasoningTokens`, as in both OpenAI APIs. */
export interface FakeUsage {
  inputTokens: number;
  outputTokens: number;
  cachedInputTokens?: number;
  reasoningTokens?: number;
}

/** One function call the fake model makes. `arguments` is JSON text, sent exactly as given. */
export interface FakeToolCall {
  /** Chat: `tool_calls[].id`; Responses: `call_id`. Generated (`call_fake_N`) when absent. */
  id?: string;
  name: string;
  arguments: string;
}

/**
 * A scripted misbehaviour. `afterChunks` counts content chunks (text, reasoning and tool-argument
 * deltas): the fault fires once that many were written, before the next one (0: right after the
 * stream's preamble), or before the final event (chat: the `finish_reason` chunk; Responses:
 * `response.completed`) when the stream has fewer.
 *
 * - `status`: before any stream, an HTTP error with an OpenAI error body (`retry-after` when given).
 * - `mid-stream-error`: chat sends `data: {"error":{…}}` and ends; Responses sends `event: error`
 *   then `response.failed` and ends.
 * - `drop`: destroys the socket (no clean end).
 * - `truncate`: ends the response cleanly without the final event / `[DONE]`.
 * - `malformed`: writes one SSE event whose data is invalid JSON, then carries on.
 *
 * Non-streamed requests: `mid-stream-error` answers 500, `drop` destroys the socket before any
 * byte, `truncate` and `malformed` send half of the JSON body with status 200.
 */
export type FakeFault =
  | { kind: 'status'; status: number; retryAfter?: string; message?: string }
  | { kind: 'mid-stream-error'; afterChunks: number; message?: string }
  | { kind: 'drop'; afterChunks: number }
  | { kind: 'truncate'; afterChunks: number }
  | { kind: 'malformed'; afterChunks: number };

/** What the fake model answers to one request. */
export interface FakeTurn {
  /** Assistant text. Omitted with no tool calls: an empty text answer. */
  text?: string;
  /** Reasoning, sent before the text (chat: `reasoning_content`; Responses: reasoning summary). */
  reasoning?: string;
  /** Function calls, in order; several make parallel calls. */
  toolCalls?: FakeToolCall[];
  /** Default: {@link defaultUsage} of the request and this turn (deterministic, never random). */
  usage?: FakeUsage;
  /** Default: the request's `model`. */
  model?: string;
  /** Default: `tool_calls` with tool calls, else `stop`. Responses maps `length` to `response.incomplete`. */
  finishReason?: 'stop' | 'length' | 'tool_calls';
  fault?: FakeFault;
  /** Delay before each streamed event after the first ("slow chunks"). */
  chunkDelayMs?: number;
  /**
   * With `gate`: hold the stream after this many content chunks (default 0; counted like
   * {@link FakeFault}) until `gate` settles.
   */
  pauseAfterChunks?: number;
  /** Streams hold at `pauseAfterChunks` until this settles; non-streamed answers wait for it before replying. */
  gate?: Promise<unknown>;
  /**
   * Non-streamed answers: the status, the headers and the first half of the body are sent, the rest
   * when this settles — a client reading the body waits in between.
   */
  bodyGate?: Promise<unknown>;
  /**
   * Characters per text, reasoning and argument delta. Default: words with their leading spaces
   * ("Hello", " world"), and arguments in 8-character pieces.
   */
  chunkSize?: number;
}

/** A request the server received, recorded before it is answered (model requests and all others). */
export interface RecordedRequest {
  /** 1-based, in arrival order (restarts after {@link FakeModelServer.reset}). */
  id: number;
  method: string;
  /** Path without the query string. */
  path: string;
  api: 'chat_completions' | 'responses' | 'other';
  /** The body's `stream === true`. */
  stream: boolean;
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON; the raw text when it is not JSON; `undefined` when empty. */
  body: unknown;
  /** `Date.now()` when the body was read. */
  receivedAt: number;
}

/** A script: a list of turns answered in order, or a function choosing the turn per request. */
export type FakeScript = FakeTurn[] | ((request: RecordedRequest) => FakeTurn);

/** Options of {@link startFakeModelServer}. */
export interface FakeModelServerOptions {
  script?: FakeScript;
  /** Answer when no scripted turn is left. Default: {@link DEFAULT_TURN}. */
  defaultTurn?: FakeTurn;
  /** Default `127.0.0.1`. */
  host?: string;
  /** Default 0 (a free port). */
  port?: number;
}

/** A running fake model server. */
export interface FakeModelServer {
  /** `http://127.0.0.1:PORT` */
  url: string;
  /** `url + '/v1'`: what an OpenAI client takes as `baseURL`. */
  baseURL: string;
  /** Every request received, in order, including 4xx ones. */
  requests: RecordedRequest[];
  /** Model requests being answered now (from arrival until the response ends or closes). */
  readonly inFlight: number;
  /** Peak of {@link FakeModelServer.inFlight} since start or the last reset. */
  readonly maxInFlight: number;
  /** Appends turns to the queue; queued turns are answered before a function script is asked. */
  enqueue(...turns: FakeTurn[]): void;
  /** Replaces the script: an array becomes the queue; a function is asked once the queue is empty. */
  setScript(script: FakeModelServerOptions['script']): void;
  /** Resolves once `requests.length >= count`; rejects if the server closes first. */
  waitForRequests(count: number): Promise<void>;
  /**
   * Resolves once no model request is being answered ({@link FakeModelServer.inFlight} is 0): every
   * response ended or its client left. Rejects if the server closes first.
   */
  waitForIdle(): Promise<void>;
  /** Clears recorded requests, the queue and `maxInFlight` (to the current `inFlight`). */
  reset(): void;
  /** Stops listening and destroys open sockets (keep-alive and streaming ones too). */
  close(): Promise<void>;
}

/** The answer when nothing is scripted. */
export const DEFAULT_TURN: FakeTurn = Object.freeze({ text: 'Hello from the fake model.' });

/** Model ids listed by `GET /v1/models`. */
export const FAKE_MODELS: readonly string[] = Object.freeze(['gpt-fake', 'gpt-fake-mini', 'gpt-fake-reasoning']);

const DEFAULT_MODEL = 'gpt-fake';
const ARGUMENT_PIECE_SIZE = 8;

/**
 * The usage reported when a turn gives none: about four characters per token of the request's
 * conversation (`messages`/`input`, `instructions`, `tools`) and of the answer. Deterministic, so
 * tests can assert on it; never zero.
 */
export function defaultUsage(requestBody: unknown, turn: FakeTurn): FakeUsage {
  const body = isRecord(requestBody) ? requestBody : {};
  const prompt = JSON.stringify([body.messages ?? body.input ?? '', body.instructions ?? '', body.tools ?? []]);
  const reasoning = turn.reasoning ?? '';
  const answer =
    (turn.text ?? '') + reasoning + (turn.toolCalls ?? []).map((call) => call.name + call.arguments).join('');
  return {
    inputTokens: Math.max(1, Math.ceil(prompt.length / 4)),
    outputTokens: Math.max(1, Math.ceil(answer.length / 4)),
    cachedInputTokens: 0,
    reasoningTokens: Math.ceil(reasoning.length / 4),
  };
}

/** Options of {@link toolLoopScript}. */
export interface ToolLoopScriptOptions {
  /** The tool-call turns, in order; each is one assistant turn (several calls: parallel). */
  toolCalls: FakeToolCall[][];
  /** The answer once every tool-call turn has its results. */
  finalText: string;
  usage?: FakeUsage;
}

/**
 * A stateless function script for agent loops: it counts the tool results already in the request
 * (chat: `role: 'tool'` messages; Responses: `function_call_output` input items) and answers the
 * first tool-call turn whose calls are not all answered yet, else `finalText`. Two single-call
 * turns therefore take exactly three requests. Counts only what the request carries, so a
 * Responses conversation continued by `previous_response_id` alone is not followed.
 */
export function toolLoopScript({ toolCalls, finalText, usage }: ToolLoopScriptOptions): (request: RecordedRequest) => FakeTurn {
  return (request) => {
    const results = countToolResults(request.body);
    let answered = 0;
    for (const calls of toolCalls) {
      if (answered + calls.length > results) {
        return { toolCalls: calls, ...(usage ? { usage } : {}) };
      }
      answered += calls.length;
    }
    return { text: finalText, ...(usage ? { usage } : {}) };
  };
}

/** Starts a fake OpenAI-compatible model server on 127.0.0.1 and a free port (by default). */
export async function startFakeModelServer(options: FakeModelServerOptions = {}): Promise<FakeModelServer> {
  const host = options.host ?? '127.0.0.1';
  const defaultTurn = options.defaultTurn ?? DEFAULT_TURN;
  let queue: FakeTurn[] = [];
  let scriptFunction: ((request: RecordedRequest) => FakeTurn) | undefined;
  const requests: RecordedRequest[] = [];
  const sockets = new Set<Socket>();
  const waiters = new Set<{ count: number; resolve: () => void; reject: (error: Error) => void }>();
  const idleWaiters = new Set<{ resolve: () => void; reject: (error: Error) => void }>();
  let nextRequestId = 1;
  const idCounters = new Map<string, number>();
  let inFlight = 0;
  let maxInFlight = 0;
  let closed = false;

  const setScript = (script: FakeModelServerOptions['script']): void => {
    if (typeof script === 'function') {
      queue = [];
      scriptFunction = script;
    } else {
      queue = [...(script ?? [])];
      scriptFunction = undefined;
    }
  };
  setScript(options.script);

  const ids: IdSource = {
    next(prefix) {
      const n = (idCounters.get(prefix) ?? 0) + 1;
      idCounters.set(prefix, n);
      return `${prefix}${String(n).padStart(6, '0')}`;
    },
  };

  const record = (request: RecordedRequest): void => {
    requests.push(request);
    for (const waiter of waiters) {
      if (requests.length >= waiter.count) {
        waiters.delete(waiter);
        waiter.resolve();
      }
    }
  };

  const selectTurn = (request: RecordedRequest): FakeTurn => {
    const queued = queue.shift();
    if (queued) return queued;
    if (scriptFunction) return scriptFunction(request);
    return defaultTurn;
  };

  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const api = apiOf(req.method ?? 'GET', path);
    if (api !== 'other') {
      inFlight += 1;
      maxInFlight = Math.max(maxInFlight, inFlight);
      res.once('close', () => {
        inFlight -= 1;
        if (inFlight > 0) return;
        for (const waiter of idleWaiters) waiter.resolve();
        idleWaiters.clear();
      });
    }
    res.setHeader('x-request-id', ids.next('req_fake_'));
    void handle(req, res, path, api).catch((error: unknown) => {
      // A script or a bug threw: answer 500 if still possible, never crash the test process.
      if (res.destroyed) return;
      if (!res.headersSent) {
        sendError(res, 500, error instanceof Error ? error.message : String(error));
      } else {
        res.destroy();
      }
    });
  });

  const handle = async (req: IncomingMessage, res: ServerResponse, path: string, api: RecordedRequest['api']): Promise<void> => {
    const raw = await readBody(req);
    let body: unknown = raw === '' ? undefined : raw;
    let bodyIsJson = false;
    if (raw !== '') {
      try {
        body = JSON.parse(raw);
        bodyIsJson = true;
      } catch {
        // recorded as text; model endpoints answer 400 below
      }
    }
    const request: RecordedRequest = {
      id: nextRequestId++,
      method: req.method ?? 'GET',
      path,
      api,
      stream: isRecord(body) && body.stream === true,
      headers: { ...req.headers },
      body,
      receivedAt: Date.now(),
    };
    record(request);

    if (api === 'other') {
      if (req.method === 'GET' && (path === '/v1/models' || path === '/models')) {
        const created = Math.floor(Date.now() / 1000);
        sendJson(res, 200, {
          object: 'list',
          data: FAKE_MODELS.map((id) => ({ id, object: 'model', created, owned_by: 'sluice-fake' })),
        });
        return;
      }
      sendError(res, 404, `Invalid URL (${request.method} ${path})`, 'invalid_request_error', 'unknown_url');
      return;
    }
    if (!bodyIsJson || !isRecord(body)) {
      sendError(
        res,
        400,
        'We could not parse the JSON body of your request. The body must be a JSON object.',
        'invalid_request_error',
        'invalid_json',
      );
      return;
    }

    const turn = selectTurn(request);
    const answer = new AnswerContext(req, res, body, turn, ids);
    if (turn.fault?.kind === 'status') {
      const { status, retryAfter, message } = turn.fault;
      if (retryAfter !== undefined) res.setHeader('retry-after', retryAfter);
      const { type, code } = errorKindOf(status);
      sendError(res, status, message ?? `Fake error ${status}`, type, code);
      return;
    }
    if (api === 'chat_completions') {
      await (request.stream ? streamChat(answer) : answerChat(answer));
    } else {
      await (request.stream ? streamResponses(answer) : answerResponses(answer));
    }
  };

  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === 'string') {
    throw new Error('fake model server: expected a TCP address');
  }
  const url = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;

  return {
    url,
    baseURL: `${url}/v1`,
    requests,
    get inFlight() {
      return inFlight;
    },
    get maxInFlight() {
      return maxInFlight;
    },
    enqueue(...turns) {
      queue.push(...turns);
    },
    setScript,
    waitForRequests(count) {
      if (requests.length >= count) return Promise.resolve();
      if (closed) return Promise.reject(new Error('fake model server is closed'));
      return new Promise<void>((resolve, reject) => {
        waiters.add({ count, resolve, reject });
      });
    },
    waitForIdle() {
      if (inFlight === 0) return Promise.resolve();
      if (closed) return Promise.reject(new Error('fake model server is closed'));
      return new Promise<void>((resolve, reject) => {
        idleWaiters.add({ resolve, reject });
      });
    },
    reset() {
      requests.length = 0;
      queue = [];
      maxInFlight = inFlight;
      nextRequestId = 1;
    },
    async close() {
      if (closed) return;
      closed = true;
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      for (const waiter of waiters) {
        waiter.reject(new Error(`fake model server closed before ${waiter.count} requests arrived`));
      }
      waiters.clear();
      for (const waiter of idleWaiters) waiter.reject(new Error('fake model server closed with requests still being answered'));
      idleWaiters.clear();
      await stopped;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Answering one model request

interface IdSource {
  next(prefix: string): string;
}

/** One request being answered: its turn resolved to concrete ids, pieces and usage. */
class AnswerContext {
  readonly res: ServerResponse;
  readonly body: Record<string, unknown>;
  readonly turn: FakeTurn;
  readonly ids: IdSource;
  readonly model: string;
  readonly createdAt = Math.floor(Date.now() / 1000);
  readonly usage: Required<FakeUsage>;
  readonly finishReason: 'stop' | 'length' | 'tool_calls';
  readonly toolCalls: Array<{ callId: string; name: string; arguments: string }>;
  /** Aborted when the client goes away before the response ends. */
  readonly signal: AbortSignal;

  constructor(req: IncomingMessage, res: ServerResponse, body: Record<string, unknown>, turn: FakeTurn, ids: IdSource) {
    this.res = res;
    this.body = body;
    this.turn = turn;
    this.ids = ids;
    this.model = turn.model ?? (typeof body.model === 'string' ? body.model : DEFAULT_MODEL);
    const usage = turn.usage ?? defaultUsage(body, turn);
    this.usage = {
      inputTokens: usage.inputTokens,
      outputTokens: usage.outputTokens,
      cachedInputTokens: usage.cachedInputTokens ?? 0,
      reasoningTokens: usage.reasoningTokens ?? 0,
    };
    this.toolCalls = (turn.toolCalls ?? []).map((call) => ({
      callId: call.id ?? ids.next('call_fake_'),
      name: call.name,
      arguments: call.arguments,
    }));
    this.finishReason = turn.finishReason ?? (this.toolCalls.length > 0 ? 'tool_calls' : 'stop');
    const controller = new AbortController();
    this.signal = controller.signal;
    res.once('close', () => {
      if (!res.writableFinished) controller.abort();
    });
    req.once('error', () => controller.abort());
  }

  /** Whether the answer has a text message (explicit text, or no tool calls at all). */
  get hasText(): boolean {
    return this.turn.text !== undefined || this.toolCalls.length === 0;
  }

  get text(): string {
    return this.turn.text ?? '';
  }

  textPieces(text: string): string[] {
    const size = this.turn.chunkSize;
    if (size !== undefined && size > 0) return splitBySize(text, size);
    return text.match(/\s*\S+|\s+/g) ?? [];
  }

  argumentPieces(args: string): string[] {
    return splitBySize(args, this.turn.chunkSize ?? ARGUMENT_PIECE_SIZE);
  }

  /** Waits for the turn's gate (if any), unless the client leaves first. */
  async waitForGate(): Promise<void> {
    if (!this.turn.gate) return;
    await Promise.race([this.turn.gate.then(noop, noop), abortPromise(this.signal)]);
  }
}

/** One SSE event, pre-rendered. Content deltas and the final event are where faults and pauses fire. */
interface Frame {
  text: string;
  kind: 'preamble' | 'delta' | 'closing' | 'final';
  /** Responses: the item finished by this `response.output_item.done`. */
  doneItem?: ResponseOutputItem;
}

interface FaultRendering {
  /** The frames sent for a mid-stream error that replaces frame `index`. */
  midStreamError(index: number, message: string, frames: Frame[]): string;
  malformed(): string;
}

/** Writes frames with delays, the pause gate and the fault, stopping quietly if the client leaves. */
async function writeStream(answer: AnswerContext, frames: Frame[], faults: FaultRendering): Promise<void> {
  const { res, turn, signal } = answer;
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  res.flushHeaders();
  const fault = turn.fault?.kind === 'status' ? undefined : turn.fault;
  let faultPending = fault !== undefined;
  let pausePending = turn.gate !== undefined;
  let deltas = 0;
  let flushed: Promise<void> = Promise.resolve();
  /** Writes, honouring backpressure; false once the client has gone. */
  const send = async (text: string): Promise<boolean> => {
    if (signal.aborted || res.destroyed) return false;
    let accepted = true;
    flushed = new Promise((resolve) => {
      accepted = res.write(text, () => resolve());
    });
    if (!accepted) await Promise.race([new Promise((resolve) => res.once('drain', resolve)), abortPromise(signal)]);
    return !signal.aborted;
  };
  // A fault or pause fires before the next content chunk once `afterChunks` were written, and
  // before the final event in any case (so a large count means "just before the end").
  const due = (frame: Frame, afterChunks: number): boolean =>
    frame.kind === 'final' || (frame.kind === 'delta' && deltas >= afterChunks);

  for (const [index, frame] of frames.entries()) {
    if (signal.aborted) return;
    if (pausePending && due(frame, turn.pauseAfterChunks ?? 0)) {
      pausePending = false;
      await answer.waitForGate();
      if (signal.aborted) return;
    }
    if (fault && faultPending && due(frame, fault.afterChunks)) {
      faultPending = false;
      switch (fault.kind) {
        case 'drop':
          // Let what was written reach the client first, so it sees exactly `afterChunks` chunks.
          await Promise.race([flushed, abortPromise(signal)]);
          res.destroy();
          return;
        case 'truncate':
          res.end();
          return;
        case 'mid-stream-error':
          res.end(faults.midStreamError(index, fault.message ?? 'The fake model failed mid-stream.', frames));
          return;
        case 'malformed':
          if (!(await send(faults.malformed()))) return;
          break;
      }
    }
    if (index > 0 && turn.chunkDelayMs !== undefined && turn.chunkDelayMs > 0) {
      try {
        await sleep(turn.chunkDelayMs, undefined, { signal });
      } catch {
        return; // client left during the delay
      }
    }
    if (!(await send(frame.text))) return;
    if (frame.kind === 'delta') deltas += 1;
  }
  res.end();
}

/** Non-streamed answers: the gate, then the body, or the fault's broken version of it. */
async function sendAnswer(answer: AnswerContext, payload: unknown): Promise<void> {
  const { res, turn, signal } = answer;
  await answer.waitForGate();
  if (signal.aborted) return;
  const fault = turn.fault;
  const json = JSON.stringify(payload);
  switch (fault?.kind) {
    case 'drop':
      res.destroy();
      return;
    case 'mid-stream-error':
      sendError(res, 500, fault.message ?? 'The fake model failed.', 'server_error', 'server_error');
      return;
    case 'truncate':
    case 'malformed':
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(json.slice(0, Math.floor(json.length / 2)));
      return;
    default:
      if (turn.bodyGate) return sendHeldJson(answer, json, turn.bodyGate);
      sendJson(res, 200, payload);
  }
}

/** The headers and half of `json`, then the rest once `gate` settles (nothing more if the client left). */
async function sendHeldJson(answer: AnswerContext, json: string, gate: Promise<unknown>): Promise<void> {
  const { res, signal } = answer;
  const half = Math.floor(json.length / 2);
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) });
  res.write(json.slice(0, half));
  await Promise.race([gate.then(noop, noop), abortPromise(signal)]);
  if (signal.aborted) return;
  res.end(json.slice(half));
}

// ---------------------------------------------------------------------------------------------
// Chat Completions

/** `reasoning_content` is a DeepSeek-style extension the SDK types do not declare. */
type WireChatDelta = ChatCompletionChunk.Choice.Delta & { reasoning_content?: string | null };
type WireChatChunk = Omit<ChatCompletionChunk, 'choices'> & {
  choices: Array<Omit<ChatCompletionChunk.Choice, 'delta'> & { delta: WireChatDelta }>;
};
type WireChatCompletion = Omit<ChatCompletion, 'choices'> & {
  choices: Array<Omit<ChatCompletion.Choice, 'message'> & { message: ChatCompletionMessage & { reasoning_content?: string } }>;
};

function chatUsage(usage: Required<FakeUsage>): CompletionUsage {
  return {
    prompt_tokens: usage.inputTokens,
    completion_tokens: usage.outputTokens,
    total_tokens: usage.inputTokens + usage.outputTokens,
    prompt_tokens_details: { cached_tokens: usage.cachedInputTokens },
    completion_tokens_details: { reasoning_tokens: usage.reasoningTokens },
  };
}

async function streamChat(answer: AnswerContext): Promise<void> {
  const { turn, body } = answer;
  const id = answer.ids.next('chatcmpl-fake-');
  const streamOptions = isRecord(body.stream_options) ? body.stream_options : {};
  const includeUsage = streamOptions.include_usage === true;
  const chunk = (
    delta: WireChatDelta,
    finishReason: WireChatChunk['choices'][number]['finish_reason'] = null,
  ): WireChatChunk => ({
    id,
    object: 'chat.completion.chunk',
    created: answer.createdAt,
    model: answer.model,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
    ...(includeUsage ? { usage: null } : {}),
  });
  const frame = (payload: WireChatChunk, kind: Frame['kind']): Frame => ({ text: `data: ${JSON.stringify(payload)}\n\n`, kind });

  const first: WireChatDelta = { role: 'assistant', content: answer.hasText ? '' : null };
  if (turn.reasoning !== undefined) first.reasoning_content = '';
  const frames: Frame[] = [frame(chunk(first), 'preamble')];
  for (const piece of answer.textPieces(turn.reasoning ?? '')) {
    frames.push(frame(chunk({ reasoning_content: piece }), 'delta'));
  }
  for (const piece of answer.textPieces(answer.text)) {
    frames.push(frame(chunk({ content: piece }), 'delta'));
  }
  for (const [index, call] of answer.toolCalls.entries()) {
    const header = { index, id: call.callId, type: 'function' as const, function: { name: call.name, arguments: '' } };
    frames.push(frame(chunk({ tool_calls: [header] }), 'preamble'));
    for (const piece of answer.argumentPieces(call.arguments)) {
      frames.push(frame(chunk({ tool_calls: [{ index, function: { arguments: piece } }] }), 'delta'));
    }
  }
  frames.push(frame(chunk({}, answer.finishReason), 'final'));
  if (includeUsage) {
    const usageChunk: WireChatChunk = { ...chunk({}), choices: [], usage: chatUsage(answer.usage) };
    frames.push(frame(usageChunk, 'closing'));
  }
  frames.push({ text: 'data: [DONE]\n\n', kind: 'closing' });

  await writeStream(answer, frames, {
    midStreamError: (_index, message) =>
      `data: ${JSON.stringify({ error: { message, type: 'server_error', param: null, code: 'server_error' } })}\n\n`,
    malformed: () => `data: {"id":"${id}","object":"chat.completion.chunk","choices":[{"delta":\n\n`,
  });
}

async function answerChat(answer: AnswerContext): Promise<void> {
  const message: WireChatCompletion['choices'][number]['message'] = {
    role: 'assistant',
    content: answer.hasText ? answer.text : null,
    refusal: null,
    annotations: [],
  };
  if (answer.toolCalls.length > 0) {
    message.tool_calls = answer.toolCalls.map(
      (call): ChatCompletionMessageFunctionToolCall => ({
        id: call.callId,
        type: 'function',
        function: { name: call.name, arguments: call.arguments },
      }),
    );
  }
  if (answer.turn.reasoning !== undefined) message.reasoning_content = answer.turn.reasoning;
  const completion: WireChatCompletion = {
    id: answer.ids.next('chatcmpl-fake-'),
    object: 'chat.completion',
    created: answer.createdAt,
    model: answer.model,
    choices: [{ index: 0, message, logprobs: null, finish_reason: answer.finishReason }],
    usage: chatUsage(answer.usage),
  };
  await sendAnswer(answer, completion);
}

// ---------------------------------------------------------------------------------------------
// Responses API

/**
 * The Response object as sent on the wire: without the SDK-computed `output_text` and the
 * `access_programs` field the recorded streams do not carry, with `usage: null` until the end and
 * with `store`, as the real API sends them.
 */
type WireResponse = Omit<OpenAIResponse, 'output_text' | 'access_programs' | 'usage'> & {
  usage: ResponseUsage | null;
  store: boolean;
};
type LifecycleEvent =
  | ResponseCreatedEvent
  | ResponseInProgressEvent
  | ResponseCompletedEvent
  | ResponseFailedEvent
  | ResponseIncompleteEvent;
type WireLifecycleEvent = {
  [K in LifecycleEvent['type']]: Omit<Extract<LifecycleEvent, { type: K }>, 'response'> & { response: WireResponse };
}[LifecycleEvent['type']];
/** The `error` event carries its fields flat (SDK type) and nested under `error` (recorded wire). */
type WireErrorEvent = ResponseErrorEvent & { error: { type: string; code: string; message: string; param: null } };
type WireResponseEvent = Exclude<ResponseStreamEvent, LifecycleEvent | ResponseErrorEvent> | WireLifecycleEvent | WireErrorEvent;
/** An event before its `sequence_number` is assigned. */
type UnnumberedEvent = DistributiveOmit<WireResponseEvent, 'sequence_number'>;
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

function responsesUsage(usage: Required<FakeUsage>): ResponseUsage {
  return {
    input_tokens: usage.inputTokens,
    input_tokens_details: { cached_tokens: usage.cachedInputTokens, cache_write_tokens: 0 },
    output_tokens: usage.outputTokens,
    output_tokens_details: { reasoning_tokens: usage.reasoningTokens },
    total_tokens: usage.inputTokens + usage.outputTokens,
  };
}

interface PlannedEvent {
  event: UnnumberedEvent;
  kind: Frame['kind'];
  doneItem?: ResponseOutputItem;
}

/** Builds the events and the final Response of one Responses API answer. */
function planResponse(answer: AnswerContext): { events: PlannedEvent[]; base: WireResponse; final: WireResponse } {
  const { body, turn, ids } = answer;
  const incomplete = answer.finishReason === 'length';
  const base: WireResponse = {
    id: ids.next('resp_fake_'),
    object: 'response',
    created_at: answer.createdAt,
    status: 'in_progress',
    background: false,
    completed_at: null,
    error: null,
    incomplete_details: null,
    instructions: typeof body.instructions === 'string' ? body.instructions : null,
    max_output_tokens: typeof body.max_output_tokens === 'number' ? body.max_output_tokens : null,
    max_tool_calls: null,
    model: answer.model,
    output: [],
    parallel_tool_calls: typeof body.parallel_tool_calls === 'boolean' ? body.parallel_tool_calls : true,
    previous_response_id: typeof body.previous_response_id === 'string' ? body.previous_response_id : null,
    reasoning: { effort: null, summary: null },
    store: typeof body.store === 'boolean' ? body.store : true,
    temperature: typeof body.temperature === 'number' ? body.temperature : 1,
    text: { format: { type: 'text' } },
    tool_choice: 'auto',
    // Echoed as sent; the shape is the client's, not validated here.
    tools: Array.isArray(body.tools) ? (body.tools as Tool[]) : [],
    top_p: typeof body.top_p === 'number' ? body.top_p : 1,
    truncation: 'disabled',
    usage: null,
    metadata: isRecord(body.metadata) ? (body.metadata as Record<string, string>) : {},
  };
  const events: PlannedEvent[] = [];
  const push = (event: UnnumberedEvent, kind: Frame['kind'] = 'preamble', doneItem?: ResponseOutputItem): void => {
    events.push(doneItem ? { event, kind, doneItem } : { event, kind });
  };
  events.push({ event: { type: 'response.created', response: base }, kind: 'preamble' });
  events.push({ event: { type: 'response.in_progress', response: base }, kind: 'preamble' });
  const output: ResponseOutputItem[] = [];

  if (turn.reasoning !== undefined) {
    const output_index = output.length;
    const item_id = ids.next('rs_fake_');
    const text = turn.reasoning;
    const added: ResponseReasoningItem = { id: item_id, type: 'reasoning', summary: [] };
    const done: ResponseReasoningItem = { id: item_id, type: 'reasoning', summary: [{ type: 'summary_text', text }] };
    push({ type: 'response.output_item.added', output_index, item: added });
    const emptyPart = { type: 'summary_text' as const, text: '' };
    push({ type: 'response.reasoning_summary_part.added', item_id, output_index, summary_index: 0, part: emptyPart });
    for (const delta of answer.textPieces(text)) {
      push({ type: 'response.reasoning_summary_text.delta', item_id, output_index, summary_index: 0, delta }, 'delta');
    }
    push({ type: 'response.reasoning_summary_text.done', item_id, output_index, summary_index: 0, text }, 'closing');
    const part = { type: 'summary_text' as const, text };
    push({ type: 'response.reasoning_summary_part.done', item_id, output_index, summary_index: 0, part }, 'closing');
    push({ type: 'response.output_item.done', output_index, item: done }, 'closing', done);
    output.push(done);
  }

  if (answer.hasText) {
    const output_index = output.length;
    const item_id = ids.next('msg_fake_');
    const text = answer.text;
    const part: ResponseOutputText = { type: 'output_text', annotations: [], logprobs: [], text };
    const added: ResponseOutputMessage = { id: item_id, type: 'message', status: 'in_progress', content: [], role: 'assistant' };
    const done: ResponseOutputMessage = { ...added, status: incomplete ? 'incomplete' : 'completed', content: [part] };
    push({ type: 'response.output_item.added', output_index, item: added });
    push({ type: 'response.content_part.added', item_id, output_index, content_index: 0, part: { ...part, text: '' } });
    for (const delta of answer.textPieces(text)) {
      push({ type: 'response.output_text.delta', item_id, output_index, content_index: 0, delta, logprobs: [] }, 'delta');
    }
    push({ type: 'response.output_text.done', item_id, output_index, content_index: 0, text, logprobs: [] }, 'closing');
    push({ type: 'response.content_part.done', item_id, output_index, content_index: 0, part }, 'closing');
    push({ type: 'response.output_item.done', output_index, item: done }, 'closing', done);
    output.push(done);
  }

  for (const call of answer.toolCalls) {
    const output_index = output.length;
    const item_id = ids.next('fc_fake_');
    const added: ResponseFunctionToolCall = {
      id: item_id,
      type: 'function_call',
      status: 'in_progress',
      arguments: '',
      call_id: call.callId,
      name: call.name,
    };
    const done: ResponseFunctionToolCall = { ...added, status: 'completed', arguments: call.arguments };
    push({ type: 'response.output_item.added', output_index, item: added });
    for (const delta of answer.argumentPieces(call.arguments)) {
      push({ type: 'response.function_call_arguments.delta', item_id, output_index, delta }, 'delta');
    }
    push({ type: 'response.function_call_arguments.done', item_id, output_index, arguments: call.arguments }, 'closing');
    push({ type: 'response.output_item.done', output_index, item: done }, 'closing', done);
    output.push(done);
  }

  const final: WireResponse = {
    ...base,
    status: incomplete ? 'incomplete' : 'completed',
    completed_at: incomplete ? null : Math.floor(Date.now() / 1000),
    incomplete_details: incomplete ? { reason: 'max_output_tokens' } : null,
    output,
    usage: responsesUsage(answer.usage),
  };
  events.push({ event: { type: incomplete ? 'response.incomplete' : 'response.completed', response: final }, kind: 'final' });
  return { events, base, final };
}

function sseEvent(event: WireResponseEvent): string {
  return `event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;
}

async function streamResponses(answer: AnswerContext): Promise<void> {
  const { events, base } = planResponse(answer);
  const frames: Frame[] = events.map(({ event, kind, doneItem }, sequence_number) => ({
    text: sseEvent({ ...event, sequence_number } as WireResponseEvent),
    kind,
    ...(doneItem ? { doneItem } : {}),
  }));
  await writeStream(answer, frames, {
    midStreamError: (index, message, sent) => {
      const code = 'server_error';
      const error: WireErrorEvent = {
        type: 'error',
        sequence_number: index,
        code,
        message,
        param: null,
        error: { type: 'server_error', code, message, param: null },
      };
      const output = sent.slice(0, index).flatMap((frame) => (frame.doneItem ? [frame.doneItem] : []));
      const failed: WireLifecycleEvent = {
        type: 'response.failed',
        sequence_number: index + 1,
        response: { ...base, status: 'failed', error: { code, message }, output },
      };
      return sseEvent(error) + sseEvent(failed);
    },
    malformed: () => 'event: response.output_text.delta\ndata: {"type":"response.output_text.delta","delta":\n\n',
  });
}

async function answerResponses(answer: AnswerContext): Promise<void> {
  await sendAnswer(answer, planResponse(answer).final);
}

// ---------------------------------------------------------------------------------------------
// Small helpers

function apiOf(method: string, path: string): RecordedRequest['api'] {
  if (method !== 'POST') return 'other';
  const route = path.replace(/\/+$/, '');
  if (route === '/v1/chat/completions' || route === '/chat/completions') return 'chat_completions';
  if (route === '/v1/responses' || route === '/responses') return 'responses';
  return 'other';
}

function countToolResults(body: unknown): number {
  if (!isRecord(body)) return 0;
  if (Array.isArray(body.messages)) {
    return body.messages.filter((message) => isRecord(message) && message.role === 'tool').length;
  }
  if (Array.isArray(body.input)) {
    return body.input.filter((item) => isRecord(item) && item.type === 'function_call_output').length;
  }
  return 0;
}

function errorKindOf(status: number): { type: string; code: string | null } {
  if (status === 401) return { type: 'invalid_request_error', code: 'invalid_api_key' };
  if (status === 403) return { type: 'invalid_request_error', code: 'unsupported_country_region_territory' };
  if (status === 404) return { type: 'invalid_request_error', code: 'model_not_found' };
  if (status === 429) return { type: 'requests', code: 'rate_limit_exceeded' };
  if (status >= 500) return { type: 'server_error', code: 'server_error' };
  return { type: 'invalid_request_error', code: null };
}

function sendJson(res: ServerResponse, status: number, payload: unknown): void {
  const text = JSON.stringify(payload);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function sendError(
  res: ServerResponse,
  status: number,
  message: string,
  type = 'server_error',
  code: string | null = null,
): void {
  sendJson(res, status, { error: { message, type, param: null, code } });
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.once('error', reject);
  });
}

function splitBySize(text: string, size: number): string[] {
  const chars = Array.from(text); // code points, so a piece never splits a surrogate pair
  const pieces: string[] = [];
  for (let start = 0; start < chars.length; start += size) pieces.push(chars.slice(start, start + size).join(''));
  return pieces;
}

function abortPromise(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function noop(): void {}

// Standalone run for the demo: `node test/src/fake-model-server.ts`. Never runs on import.
if (import.meta.main) {
  const server = await startFakeModelServer({
    ...(process.env.HOST ? { host: process.env.HOST } : {}),
    port: Number(process.env.PORT ?? 0),
  });
  process.stdout.write(`fake model server listening on ${server.url} (OpenAI baseURL ${server.baseURL})\n`);
  const stop = (): void => {
    void server.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
