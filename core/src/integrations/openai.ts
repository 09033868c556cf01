// Why this file exists: apps that call the `openai` client directly get the same pipeline as the
// Agents SDK: `wrapOpenAI` routes `chat.completions.create` and `responses.create` (streamed or
// not) through authorization, events and exactly-once reports, and returns the client's own types.
import OpenAI, { APIPromise } from 'openai';
import type { ChatCompletion, ChatCompletionChunk, ChatCompletionCreateParams } from 'openai/resources/chat/completions';
import type { Response as OpenAIResponse, ResponseCreateParams, ResponseStreamEvent } from 'openai/resources/responses/responses';
import { normalizeChatCompletionChunk, type ChatCompletionWireChunk } from 'openai/lib/chat-completions/streaming';
import { Stream } from 'openai/streaming';
import type { ActiveCall, CompletionInfo } from '../active-call.ts';
import { SluiceConfigError } from '../errors.ts';
import { finishReasonFromResponse } from '../finish-reason.ts';
import type { ModelApi } from '../model-call.ts';
import type { Pipeline } from '../pipeline.ts';
import type { ExecutionScope } from '../scope.ts';
import { usageFromChatCompletions, usageFromResponses } from '../usage.ts';
import { HIDDEN, ObservedIterator } from './observed-iterator.ts';
import { callAbortError, openAIClientFor, sendingClient } from './relay-client.ts';

/** Options of {@link wrapOpenAI}. */
export interface WrapOpenAIOptions {
  /** The execution scope of every call; a function is asked per call. Default: the `withScope` scope. */
  scope?: ExecutionScope | (() => ExecutionScope | undefined);
  /** Estimated cost of a call, for authorizers that hold budget. */
  estimateCostUsd?: (api: ModelApi, body: unknown) => number | undefined;
  /** Attributes put on every call (e.g. `{ runId }`). */
  attributes?: () => Record<string, unknown>;
  /**
   * Ask streamed Chat Completions for usage (`stream_options.include_usage`) when the caller did
   * not, so reports carry token counts; the extra usage-only chunk is then not shown to the caller.
   * Default true.
   */
  requestStreamUsage?: boolean;
}

type RequestOptions = Parameters<OpenAI['chat']['completions']['create']>[1];
/** What an APIPromise's response promise resolves to (the SDK's `APIResponseProps`, not exported from its root). */
type APIResponseProps = Awaited<ConstructorParameters<typeof APIPromise>[1]>;

/**
 * The `controller` of the props our outer APIPromise resolves to: the SDK's type requires one, but
 * only the inner request's own controller ever cancels anything, so one shared instance is enough.
 */
const UNUSED_CONTROLLER = new AbortController();
/** The `options` of those props: never read, so one shared object. */
const NO_OPTIONS = Object.freeze({}) as APIResponseProps['options'];

/**
 * The props our outer APIPromise resolves to. Only `response` is read from them (our parse takes
 * the inner request's own); the SDK's helpers read the request id off the response.
 */
function propsOf(response: globalThis.Response): APIResponseProps {
  return { response, options: NO_OPTIONS, controller: UNUSED_CONTROLLER } as APIResponseProps;
}

/**
 * One openai stream's items, observed for its call as the caller iterates them: each item to
 * `onEvent`, what the API tells about the call, exactly one settlement. A subclass per API reads
 * the items (the iterator and its observer are one object per stream).
 */
abstract class CallStreamObserver<T> extends ObservedIterator<T> {
  readonly #active: ActiveCall;

  /** Iterates what `open` returns (on the first `next()`; a throw there fails the call). */
  constructor(open: () => AsyncIterator<T>, active: ActiveCall) {
    super(() => {
      try {
        return open();
      } catch (error) {
        active.fail(error);
        throw error;
      }
    });
    this.#active = active;
  }

  /** Reads what one item tells about the call. */
  protected abstract observe(item: T): void;

  /** The settlement at the end of the stream: completion info, or an error to fail with. */
  protected abstract finish(): CompletionInfo | { error: unknown };

  /** Whether to hide an item from the caller (it still goes to onEvent). */
  protected hide(_item: T): boolean {
    return false;
  }

  protected observeItem(item: T): T | typeof HIDDEN {
    this.#active.event(item);
    this.observe(item);
    return this.hide(item) ? HIDDEN : item;
  }

  protected observeEnd(): void {
    const active = this.#active;
    if (active.abortedAtEnd()) return;
    const end = this.finish();
    if ('error' in end) active.fail(end.error);
    else active.complete(end);
  }

  protected observeError(error: unknown): void {
    this.#active.fail(error);
  }

  protected observeStop(): void {
    this.#active.abort('consumer stopped reading the stream');
  }
}

/**
 * The iterator of a stream as its class makes it, and whether the stream had its own instead: the
 * SDK's `chat.completions.create` gives each Chat Completions stream an own async iterator, an
 * async generator around the class's one that yields every wire chunk through
 * `normalizeChatCompletionChunk` (a copy whose choices all carry `finish_reason`, null when the
 * wire chunk had none). {@link ChatStreamObserver} iterates the class's iterator and calls that
 * same function on each chunk itself: the caller gets the chunks the SDK would give, one async
 * generator — two promise jobs and a resumption per chunk — fewer. A test compares them with the
 * bare client's on every recorded stream.
 */
function classIterator<T>(stream: Stream<T>): { open: () => AsyncIterator<T>; normalize: boolean } {
  if (!Object.hasOwn(stream, Symbol.asyncIterator)) return { open: () => stream[Symbol.asyncIterator](), normalize: false };
  const own = Stream.prototype[Symbol.asyncIterator] as (this: Stream<T>) => AsyncIterator<T>;
  return { open: () => own.call(stream), normalize: true };
}

/** What a Chat Completions stream tells about its call, gathered chunk by chunk. */
class ChatStreamObserver extends CallStreamObserver<ChatCompletionChunk> {
  readonly #hideUsageChunk: boolean;
  /** Whether chunks come before the SDK's normalization (see {@link classIterator}). */
  readonly #normalize: boolean;
  #responseId: string | undefined;
  #responseModel: string | undefined;
  #finishReason: string | undefined;
  #usage: CompletionInfo['usage'];

  constructor(inner: Stream<ChatCompletionChunk>, active: ActiveCall, hideUsageChunk: boolean) {
    const { open, normalize } = classIterator(inner);
    super(open, active);
    this.#hideUsageChunk = hideUsageChunk;
    this.#normalize = normalize;
  }

  protected override observeItem(chunk: ChatCompletionChunk): ChatCompletionChunk | typeof HIDDEN {
    return super.observeItem(this.#normalize ? normalizeChatCompletionChunk(chunk as ChatCompletionWireChunk) : chunk);
  }

  protected observe(chunk: ChatCompletionChunk): void {
    if (this.#responseId === undefined) {
      this.#responseId = chunk.id;
      this.#responseModel = chunk.model;
    }
    const reason = chunk.choices[0]?.finish_reason;
    if (reason) this.#finishReason = reason;
    if (chunk.usage) this.#usage = usageFromChatCompletions(chunk.usage);
  }

  /** The usage-only chunk Sluice asked for is not shown to a caller who did not. */
  protected override hide(chunk: ChatCompletionChunk): boolean {
    return this.#hideUsageChunk && chunk.choices.length === 0 && chunk.usage != null;
  }

  /** Every complete Chat Completions stream carries a finish_reason; without one it was cut short. */
  protected finish(): CompletionInfo | { error: unknown } {
    if (!this.#finishReason) return { error: new StreamTruncatedError('the chat completion stream ended without a finish_reason') };
    return { usage: this.#usage, finishReason: this.#finishReason, responseId: this.#responseId, responseModel: this.#responseModel };
  }
}

/** What a Responses stream tells about its call: the final response, or the failure. */
class ResponsesStreamObserver extends CallStreamObserver<ResponseStreamEvent> {
  #final: OpenAIResponse | undefined;
  #failure: Error | undefined;

  constructor(inner: Stream<ResponseStreamEvent>, active: ActiveCall) {
    super(() => inner[Symbol.asyncIterator](), active);
  }

  protected observe(event: ResponseStreamEvent): void {
    switch (event.type) {
      case 'response.completed':
      case 'response.incomplete':
        this.#final = event.response;
        break;
      case 'response.failed':
        this.#final = event.response;
        this.#failure ??= new ResponseFailedError(event.response.error?.message ?? 'response failed', event.response.error?.code ?? undefined);
        break;
      case 'error':
        this.#failure = new ResponseFailedError(event.message, event.code ?? undefined);
        break;
    }
  }

  protected finish(): CompletionInfo | { error: unknown } {
    if (this.#failure) return { error: this.#failure };
    if (!this.#final) return { error: new StreamTruncatedError('the response stream ended without response.completed') };
    return responseInfo(this.#final);
  }
}

/** What awaiting an APIPromise<T> gives (the SDK's `WithRequestID<T>`, not exported from its root). */
type Parsed<T> = Parameters<NonNullable<Parameters<APIPromise<T>['then']>[0]>>[0];

/** What an {@link ObservedAPIPromise} answers from: one call's. */
interface Observation<T> {
  /** The client the SDK's helpers build further promises with. */
  readonly client: OpenAI;
  /** The inner response's props once its headers are in (made when first asked for). */
  readonly props: Promise<APIResponseProps>;
  /** The call's settled value, made once however often it is asked for. */
  readonly parsed: () => Promise<Parsed<T>>;
  /** The raw body went to the caller: settles the call. */
  readonly onRaw: () => void;
}

const OBSERVATION: unique symbol = Symbol('sluice.observation');
const resolveWithNull = (resolve: (value: null) => void) => resolve(null);
const responseOf = (props: APIResponseProps): globalThis.Response => props.response;

/**
 * An `APIPromise` whose parsed value is the inner request's own, settled for its call — awaiting it
 * reads `parsed()` directly rather than through the SDK's parse of `props` (which would start the
 * inner request's parse only once `props` resolved, and adopt its promise: three more jobs per
 * call). `asResponse()` (the raw, unread body handed to the caller) settles the call, so the
 * exactly-once report holds for callers that read the body themselves.
 *
 * Made by {@link observedPromise}, not `new`: the SDK's constructor keeps each APIPromise's client
 * in one WeakMap shared by every APIPromise (~0.7 µs per promise in a loop against 0.05 for the
 * promise alone), and every method that would read it is overridden here — a test holds the list
 * of the SDK's methods, so a new one cannot go unnoticed.
 */
class ObservedAPIPromise<T> extends APIPromise<T> {
  declare [OBSERVATION]: Observation<T>;

  override then<R1 = Parsed<T>, R2 = never>(
    onfulfilled?: ((value: Parsed<T>) => R1 | PromiseLike<R1>) | null,
    onrejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    return this[OBSERVATION].parsed().then(onfulfilled, onrejected);
  }

  override catch<R = never>(onrejected?: ((reason: unknown) => R | PromiseLike<R>) | null): Promise<Parsed<T> | R> {
    return this[OBSERVATION].parsed().catch(onrejected);
  }

  override finally(onfinally?: (() => void) | null): Promise<Parsed<T>> {
    return this[OBSERVATION].parsed().finally(onfinally);
  }

  override asResponse(): Promise<globalThis.Response> {
    const observation = this[OBSERVATION];
    return observation.props.then((props) => {
      observation.onRaw();
      return props.response;
    });
  }

  override async withResponse(): Promise<{ data: T; response: globalThis.Response; request_id: string | null }> {
    const observation = this[OBSERVATION];
    const [data, response] = await Promise.all([observation.parsed(), observation.props.then(responseOf)]);
    return { data: data as T, response, request_id: response.headers.get('x-request-id') };
  }

  /** For the SDK's helpers (`.parse()`): an APIPromise of its own on the call's props and settled value. */
  override _thenUnwrap<U>(transform: (data: T, props: APIResponseProps) => U): APIPromise<U> {
    const { client, props, parsed } = this[OBSERVATION];
    return new APIPromise<T>(client, props, parsed as never)._thenUnwrap(transform);
  }
}

/** An {@link ObservedAPIPromise} of `observation`, made without the SDK's constructor (see there). */
function observedPromise<T>(observation: Observation<T>): ObservedAPIPromise<T> {
  const promise = Reflect.construct(Promise, [resolveWithNull], ObservedAPIPromise) as ObservedAPIPromise<T>;
  promise[OBSERVATION] = observation;
  return promise;
}

/** A stream that ended cleanly but without its final event. */
export class StreamTruncatedError extends Error {
  override readonly name = 'StreamTruncatedError';
  readonly code = 'stream_truncated';
}

class ResponseFailedError extends Error {
  override readonly name = 'ResponseFailedError';
  readonly code: string | undefined;
  constructor(message: string, code: string | undefined) {
    super(message);
    this.code = code;
  }
}

function responseInfo(response: OpenAIResponse): CompletionInfo {
  return {
    usage: usageFromResponses(response.usage),
    finishReason: finishReasonFromResponse(response),
    responseId: response.id,
    responseModel: response.model,
    response,
  };
}

function chatInfo(completion: ChatCompletion): CompletionInfo {
  return {
    usage: usageFromChatCompletions(completion.usage),
    finishReason: completion.choices[0]?.finish_reason,
    responseId: completion.id,
    responseModel: completion.model,
    response: completion,
  };
}

// What each API sends and how its answer settles the call: made once, not per call.
const sendChat = (target: OpenAI, body: never, options: RequestOptions) => target.chat.completions.create(body, options);
const sendResponses = (target: OpenAI, body: never, options: RequestOptions) => target.responses.create(body, options);

function settleChat(active: ActiveCall, data: ChatCompletion | Stream<ChatCompletionChunk>, target: OpenAI, hideUsageChunk: boolean): ChatCompletion | Stream<ChatCompletionChunk> {
  // The caller's stream, observed as they iterate it (a Stream makes its iterator on each iteration).
  if (data instanceof Stream) return new Stream(() => new ChatStreamObserver(data, active, hideUsageChunk), data.controller, target);
  active.complete(chatInfo(data));
  return data;
}

function settleResponses(active: ActiveCall, data: OpenAIResponse | Stream<ResponseStreamEvent>, target: OpenAI): OpenAIResponse | Stream<ResponseStreamEvent> {
  if (data instanceof Stream) return new Stream(() => new ResponsesStreamObserver(data, active), data.controller, target);
  active.complete(responseInfo(data));
  return data;
}

/**
 * Returns a copy of `client` whose `chat.completions.create` and `responses.create` (and the helpers
 * built on them: `.stream()`, `.parse()`) run every call through `sluice`. The original client is
 * not changed. The relay settings of an allowed call, if any, replace the base URL, key and model.
 *
 * @example
 * const openai = wrapOpenAI(new OpenAI(), sluice, { scope: { customerTenantId: 't_1', delegationId: 'd_1' } });
 * const stream = await openai.chat.completions.create({ model: 'gpt-4.1-mini', messages, stream: true });
 */
export function wrapOpenAI<C extends OpenAI>(client: C, sluice: Pipeline, options: WrapOpenAIOptions = {}): C {
  if (!(client instanceof OpenAI) && typeof (client as Partial<OpenAI>)?.withOptions !== 'function') {
    throw new SluiceConfigError('client', 'expected an OpenAI client instance (new OpenAI(...))');
  }
  const requestStreamUsage = options.requestStreamUsage ?? true;
  const wrapped = client.withOptions({});
  // Calls go out on their own copy: the caller's `wrapped` sends its other requests as the SDK does.
  const sender = sendingClient(client);

  function run<T>(
    api: ModelApi,
    body: { model?: unknown; stream?: unknown },
    requestOptions: RequestOptions | undefined,
    send: (target: OpenAI, body: never, options: RequestOptions) => APIPromise<T>,
    settle: (active: ActiveCall, data: T, target: OpenAI, hideUsageChunk: boolean) => T,
    hideUsageChunk = false,
  ): APIPromise<T> {
    let sent: { active: ActiveCall; inner: APIPromise<T>; target: OpenAI } | undefined;
    // Handles the sent request's rejections (its parse, its raw response): only reached once `sent` is set.
    const fail = (error: unknown): never => {
      const { active } = sent!;
      active.fail(error);
      throw callAbortError(error, active.call.signal);
    };
    // Sends the allowed call; a throw here fails it.
    const sendCall = (active: ActiveCall): void => {
      try {
        const relay = active.allow.relay;
        const target = openAIClientFor(sender, relay);
        const inner = send(target, (relay?.model ? { ...body, model: relay.model } : body) as never, { ...requestOptions, signal: active.call.signal });
        sent = { active, inner, target };
      } catch (error) {
        active.fail(error);
        throw error;
      }
    };
    // Until the call is sent: its start, when a plugin holds it, or why it could not start.
    // Undefined when it was sent in this turn.
    let sending: Promise<void> | undefined;
    try {
      if (typeof body !== 'object' || body === null) throw new SluiceConfigError('body', 'expected a request body object');
      if (typeof body.model !== 'string') throw new SluiceConfigError('body.model', `expected a model name string, got ${typeof body.model}`);
      const scope = typeof options.scope === 'function' ? options.scope() : options.scope;
      const started = sluice.startCallNow({
        source: 'openai',
        api,
        stream: body.stream === true,
        model: body.model,
        scope,
        estimatedCostUsd: options.estimateCostUsd?.(api, body),
        signal: requestOptions?.signal,
        request: body,
        // Where the request goes without relay settings (telemetry reads it as server.address).
        attributes: { 'sluice.server.url': client.baseURL, ...options.attributes?.() },
      });
      // Allowed in this turn (no plugin holds it): sent now, as the bare client would, with no hop.
      if (started instanceof Promise) sending = started.then(sendCall);
      else sendCall(started);
    } catch (error) {
      sending = Promise.reject(error);
    }
    // The inner request's own `then` (a plain promise: no thenable job, no async frame), settling
    // the call; asked for once.
    const parse = () => {
      const { active, inner, target } = sent!;
      return inner.then((data) => settle(active, data as T, target, hideUsageChunk), fail);
    };
    let result: Promise<T> | undefined;
    const parsed = () => (result ??= sending === undefined ? parse() : sending.then(parse));
    // The inner response's props once its headers are in (its body unread). Only the SDK's raw-body
    // helpers read them (`asResponse()`, `withResponse()`, `_thenUnwrap`), so they are made when
    // first asked for — two promises and a job fewer per awaited call, and no second rejection for
    // a failed request that nobody reads that way.
    const sentProps = () => sent!.inner.asResponse().then(propsOf, fail);
    let props: Promise<APIResponseProps> | undefined;
    const lazyProps = {
      then: (onfulfilled, onrejected) => (props ??= sending === undefined ? sentProps() : sending.then(sentProps)).then(onfulfilled, onrejected),
    } as Promise<APIResponseProps>;
    // The raw body goes to the caller: the call is reported completed, without usage.
    const onRaw = () => sent?.active.complete({ usage: undefined });
    return observedPromise<T>({ client: wrapped, props: lazyProps, parsed: parsed as never, onRaw });
  }

  const chatCreate = (body: ChatCompletionCreateParams, requestOptions?: RequestOptions) => {
    const injectUsage = body?.stream === true && requestStreamUsage && body.stream_options?.include_usage !== true;
    const sent = injectUsage ? { ...body, stream_options: { ...body.stream_options, include_usage: true } } : body;
    return run<ChatCompletion | Stream<ChatCompletionChunk>>('chat_completions', sent, requestOptions, sendChat, settleChat, injectUsage);
  };

  const responsesCreate = (body: ResponseCreateParams, requestOptions?: RequestOptions) =>
    run<OpenAIResponse | Stream<ResponseStreamEvent>>('responses', body, requestOptions, sendResponses, settleResponses);

  // Instance properties shadow the prototype methods on this copy only; the SDK's own helpers
  // (`stream()`, `parse()`) call `this._client.chat.completions.create`, so they go through too.
  Object.defineProperty(wrapped.chat.completions, 'create', { value: chatCreate, configurable: true, writable: true });
  Object.defineProperty(wrapped.responses, 'create', { value: responsesCreate, configurable: true, writable: true });
  return wrapped;
}
