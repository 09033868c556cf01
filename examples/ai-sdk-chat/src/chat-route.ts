// Why this file exists: `POST /api/chat` — the body `useChat`'s default transport sends, plus the
// execution scope the page holds — becomes one `streamText` run through the Sluice pipeline, served
// as the Vel stream (the AI SDK UI message stream). Per reply it adds what the page shows beside the
// answer: the cost Vela settled for the reply's executions, in a `message-metadata` chunk just
// before `finish` (usage is already in `finish`).
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline as pipeStreams } from 'node:stream/promises';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import type { Pipeline, VelEvent } from '@sluice/core';
import { createSluiceModel } from '@sluice/core/ai-sdk';
import { createVelResponse, velStreamFromStreamText } from '@sluice/plugin-vel';
import type { VelaPlugin } from '@sluice/plugin-vela';
import { convertToModelMessages, isStepCount, safeValidateUIMessages, streamText, type UIMessage } from 'ai';
import { chatTools } from './chat-tools.ts';
import { CHAT_REPLY_ATTRIBUTE, type ExecutionTracker } from './execution-tracker.ts';
import type { ChatMessageMetadata } from './shared/chat-message.ts';
import { parseChatScope } from './shared/chat-scope.ts';

/** Largest request body accepted (the whole conversation travels with every request). */
const MAX_BODY_BYTES = 1_000_000;
/** How long a reply waits for its Vela reports to be delivered before it finishes without a cost. */
const REPORT_FLUSH_MS = 2_000;
const SYSTEM = 'You are a concise assistant. Use get_weather for weather questions and get_time for time questions.';

/** Looks up what Vela charged for some executions; undefined when not known (yet). */
export type ExecutionCostLookup = (executionIds: readonly string[]) => number | undefined | Promise<number | undefined>;

/** Options of {@link createChatRoute}. */
export interface ChatRouteOptions {
  sluice: Pipeline;
  velaPlugin: VelaPlugin;
  tracker: ExecutionTracker;
  /** The model every call asks Vela for (`gpt-fake`). */
  model: string;
  executionCostUsd?: ExecutionCostLookup;
}

/** A 4xx answer with the protocol's error shape, naming the offending field. */
class BadRequest extends Error {
  readonly status: number;
  readonly code: string;
  readonly field: string | undefined;
  constructor(status: number, code: string, message: string, field?: string) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field;
  }
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) throw new BadRequest(415, 'unsupported_media_type', 'expected content-type: application/json');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new BadRequest(413, 'body_too_large', `the body exceeds ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new BadRequest(400, 'invalid_json', 'the body is not valid JSON');
  }
}

/** Validates the `useChat` body: `{ id?, messages: UIMessage[], scope, … }`. */
async function parseChatBody(body: unknown) {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new BadRequest(400, 'invalid_body', 'expected an object { messages, scope }');
  const record = body as Record<string, unknown>;
  const scope = parseChatScope(record.scope);
  if (!scope.ok) throw new BadRequest(400, 'invalid_scope', scope.message, scope.field);
  if (!Array.isArray(record.messages) || record.messages.length === 0) throw new BadRequest(400, 'invalid_messages', 'expected a non-empty array of UI messages', 'messages');
  const validated = await safeValidateUIMessages<UIMessage>({ messages: record.messages, tools: chatTools });
  if (!validated.success) throw new BadRequest(400, 'invalid_messages', validated.error.message, 'messages');
  // A denied reply leaves an assistant message without content; the model has nothing to read in it.
  const messages = validated.data.filter((message) => message.role !== 'assistant' || message.parts.some((part) => part.type !== 'step-start'));
  return { scope: scope.scope, messages };
}

function sendError(res: ServerResponse, error: BadRequest): void {
  const text = JSON.stringify({ error: { code: error.code, message: error.message, ...(error.field ? { field: error.field } : {}) } });
  res.writeHead(error.status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/**
 * Inserts `message-metadata` (cost, model calls) right before a successful reply's `finish`.
 * Allowed there by the Vel invariants: after the last `finish-step`, not after `abort`.
 */
async function* withReplyMetadata(events: AsyncIterable<VelEvent>, metadata: () => Promise<ChatMessageMetadata | undefined>): AsyncGenerator<VelEvent> {
  let previous: VelEvent['type'] | undefined;
  for await (const event of events) {
    if (event.type === 'finish' && previous !== 'abort' && event.finishReason !== 'error') {
      const messageMetadata = await metadata();
      if (messageMetadata) yield { type: 'message-metadata', messageMetadata };
    }
    previous = event.type;
    yield event;
  }
}

/** Writes a web `Response` (status, headers, streamed body) to a Node response; a client that leaves cancels the body. */
async function sendWebResponse(res: ServerResponse, response: Response): Promise<void> {
  res.writeHead(response.status, Object.fromEntries(response.headers));
  if (!response.body) {
    res.end();
    return;
  }
  await pipeStreams(Readable.fromWeb(response.body as NodeReadableStream<Uint8Array>), res).catch(() => {
    // The client went away mid-stream: the pipeline cancelled the body, which aborts the run.
  });
}

/**
 * The `POST /api/chat` handler.
 *
 * @example
 * const chat = createChatRoute({ sluice, velaPlugin, tracker, model: 'gpt-fake' });
 * createServer((req, res) => req.url === '/api/chat' && chat(req, res));
 */
export function createChatRoute(options: ChatRouteOptions): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const { sluice, velaPlugin, tracker } = options;

  async function replyMetadata(replyId: string): Promise<ChatMessageMetadata | undefined> {
    const executionIds = tracker.executionIds(replyId);
    if (executionIds.length === 0) return undefined;
    if (!options.executionCostUsd) return { modelCalls: executionIds.length };
    // The reports of this reply's calls were handed to the Vela plugin when each call ended; make
    // sure Vela has them before reading what it charged.
    await sluice.idle();
    await velaPlugin.flushReports(REPORT_FLUSH_MS);
    const costUsd = await options.executionCostUsd(executionIds);
    return costUsd === undefined ? { modelCalls: executionIds.length } : { costUsd, modelCalls: executionIds.length };
  }

  return async (req, res) => {
    let parsed;
    try {
      parsed = await parseChatBody(await readJson(req));
    } catch (error) {
      if (error instanceof BadRequest) return sendError(res, error);
      throw error;
    }
    const replyId = randomUUID();
    tracker.track(replyId);
    const abort = new AbortController();
    res.once('close', () => {
      if (!res.writableFinished) abort.abort('the client went away');
    });
    try {
      // Built per request for its scope; the model underneath is built per call from Vela's relay settings.
      const model = createSluiceModel(sluice, {
        model: options.model,
        api: 'chat_completions',
        scope: parsed.scope,
        attributes: () => ({ [CHAT_REPLY_ATTRIBUTE]: replyId }),
      });
      const result = streamText({
        model,
        system: SYSTEM,
        messages: await convertToModelMessages(parsed.messages, { tools: chatTools, ignoreIncompleteToolCalls: true }),
        tools: chatTools,
        stopWhen: isStepCount(5),
        abortSignal: abort.signal,
        // Errors (a Vela denial among them) reach the page as the Vel `error` chunk; nothing to log here.
        onError: () => {},
      });
      const events = withReplyMetadata(velStreamFromStreamText(result.fullStream, { signal: abort.signal }), () => replyMetadata(replyId));
      await sendWebResponse(res, createVelResponse(events));
    } finally {
      tracker.forget(replyId);
    }
  };
}
