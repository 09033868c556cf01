// Why this file exists: an Agents SDK run makes several model calls (one per turn) deep inside the
// Runner; this ModelProvider is where each of them enters the pipeline — prepared afresh, sent with
// that call's relay settings, its stream events observed, and reported exactly once.
import {
  OpenAIChatCompletionsModel,
  OpenAIResponsesModel,
  type Model,
  type ModelProvider,
  type ModelRequest,
  type ModelResponse,
  type StreamEvent as AgentsStreamEvent,
} from '@openai/agents';
import type OpenAI from 'openai';
import type { ActiveCall, CompletionInfo } from '../active-call.ts';
import type { ModelSlot } from '../model-call.ts';
import type { Pipeline } from '../pipeline.ts';
import type { ExecutionScope } from '../scope.ts';
import { usageFromAgents, usageFromChatCompletions, usageFromResponses, type Usage } from '../usage.ts';
import { apiModelName, createSlotTable, type SlotTable } from './model-slots.ts';
import { type HIDDEN, ObservedIterator } from './observed-iterator.ts';
import { callAbortError, openAIClientFor, sendingClient } from './relay-client.ts';

/** Options of {@link createModelProvider}. */
export interface AgentsModelProviderOptions {
  /** The model slots agents may name in `agent.model`. */
  slots: readonly ModelSlot[];
  /** The slot used when an agent names no model. Default: the first slot. */
  defaultSlot?: string;
  /** Which OpenAI API the underlying model speaks. Default `responses`. */
  api?: 'responses' | 'chat_completions';
  /** The execution scope of every call; a function is asked per call. Default: the `withScope` scope. */
  scope?: ExecutionScope | ((request: ModelRequest) => ExecutionScope | undefined);
  /** The client used when no plugin supplies relay settings; also the base of relay clients (fetch, timeout). */
  client?: OpenAI;
  /** Estimated cost of one call, for authorizers that hold budget. */
  estimateCostUsd?: (slot: ModelSlot, request: ModelRequest) => number | undefined;
  /** Attributes put on every call (e.g. `{ runId }`). */
  attributes?: (slot: ModelSlot, request: ModelRequest) => Record<string, unknown>;
}

type DoneResponse = Extract<AgentsStreamEvent, { type: 'response_done' }>['response'];

function usageOf(response: { usage: unknown; rawUsage?: Record<string, unknown> | undefined }, api: AgentsModelProviderOptions['api']): Usage | undefined {
  // The SDK fills missing counts with 0; the provider's raw usage, when preserved, keeps them missing.
  if (response.rawUsage) return api === 'chat_completions' ? usageFromChatCompletions(response.rawUsage) : usageFromResponses(response.rawUsage);
  return usageFromAgents(response.usage);
}

function completionOf(response: ModelResponse | DoneResponse, api: AgentsModelProviderOptions['api']): CompletionInfo {
  const id = 'id' in response ? response.id : response.responseId;
  const model = response.providerData?.model;
  const toolCall = response.output.some((item) => item.type === 'function_call' || item.type === 'hosted_tool_call');
  return {
    usage: usageOf(response, api),
    finishReason: toolCall ? 'tool_calls' : 'stop',
    responseId: id,
    responseModel: typeof model === 'string' ? model : undefined,
    response,
  };
}

/** The model named by a raw provider event (a chat chunk's `model`, a Responses event's `response.model`). */
function modelOf(raw: unknown): string | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const r = raw as { model?: unknown; response?: { model?: unknown } };
  const model = r.model ?? r.response?.model;
  return typeof model === 'string' && model !== '' ? model : undefined;
}

class SluiceAgentsModel implements Model {
  readonly #sluice: Pipeline;
  readonly #slot: ModelSlot;
  readonly #options: AgentsModelProviderOptions;
  readonly #api: 'responses' | 'chat_completions';
  /** `options.client`'s copy that calls are sent with (its requests tied to each call's signal). */
  readonly #sender: OpenAI | undefined;
  /** The SDK model of calls without relay settings, by the model name it was made for. */
  #direct: { model: string; inner: Model } | undefined;

  constructor(sluice: Pipeline, slot: ModelSlot, options: AgentsModelProviderOptions, sender: OpenAI | undefined) {
    this.#sluice = sluice;
    this.#slot = slot;
    this.#options = options;
    this.#api = options.api ?? 'responses';
    this.#sender = sender;
  }

  /** The allowed call, at once when no plugin holds it (see `Pipeline.startCallNow`). */
  #start(request: ModelRequest, stream: boolean): ActiveCall | Promise<ActiveCall> {
    const { scope, client } = this.#options;
    return this.#sluice.startCallNow({
      source: 'agents',
      api: this.#api,
      stream,
      model: apiModelName(this.#slot.requiredModel),
      slot: this.#slot,
      scope: typeof scope === 'function' ? scope(request) : scope,
      estimatedCostUsd: this.#options.estimateCostUsd?.(this.#slot, request),
      signal: request.signal,
      request,
      // Where the request goes without relay settings (telemetry reads it as server.address). A
      // literal that starts with its own property has room in the object for one more (the limiter's
      // queue wait); one that starts with a spread gets a separate property store for it.
      attributes: client ? { 'sluice.server.url': client.baseURL, ...this.#options.attributes?.(this.#slot, request) } : { ...this.#options.attributes?.(this.#slot, request) },
    });
  }

  /**
   * The SDK's own model for this call, on the relay's client and resolved model. Without a relay
   * every call of the slot sends with the same client and model name: that model is made once
   * (the SDK's models keep no per-call state), a relay call gets its own.
   */
  #inner(active: ActiveCall): Model {
    const relay = active.allow.relay;
    const client = openAIClientFor(this.#sender, relay);
    const model = relay?.model ?? active.call.model;
    if (relay) return this.#build(client, model);
    if (this.#direct?.model !== model) this.#direct = { model, inner: this.#build(client, model) };
    return this.#direct.inner;
  }

  #build(client: OpenAI, model: string): Model {
    return this.#api === 'chat_completions' ? new OpenAIChatCompletionsModel(client, model) : new OpenAIResponsesModel(client, model);
  }

  async getResponse(request: ModelRequest): Promise<ModelResponse> {
    const started = this.#start(request, false);
    const active = started instanceof Promise ? await started : started;
    try {
      // Spread, not rebuild: the Runner puts fields on the request that the type does not declare.
      const response = await this.#inner(active).getResponse({ ...request, signal: active.call.signal });
      active.complete(completionOf(response, this.#api));
      return response;
    } catch (error) {
      active.fail(error);
      throw callAbortError(error, active.call.signal);
    }
  }

  getStreamedResponse(request: ModelRequest): AsyncIterable<AgentsStreamEvent> {
    // The call starts on the first `next()`, as it would in an async generator.
    const stream: AgentsStreamObserver = new AgentsStreamObserver(async () => {
      const started = this.#start(request, true);
      const active = started instanceof Promise ? await started : started;
      stream.active = active;
      try {
        return this.#inner(active).getStreamedResponse({ ...request, signal: active.call.signal })[Symbol.asyncIterator]();
      } catch (error) {
        active.fail(error);
        throw error;
      }
    }, this.#api);
    return stream;
  }
}

/** One Agents model stream's events, observed for its call (one object per stream, no closures). */
class AgentsStreamObserver extends ObservedIterator<AgentsStreamEvent> {
  /** Set when the stream opens; the iterator calls nothing else before. */
  active!: ActiveCall;
  readonly #api: 'responses' | 'chat_completions';
  #done: DoneResponse | undefined;
  #responseModel: string | undefined;

  constructor(open: () => Promise<AsyncIterator<AgentsStreamEvent>>, api: 'responses' | 'chat_completions') {
    super(open);
    this.#api = api;
  }

  protected observeItem(event: AgentsStreamEvent): AgentsStreamEvent | typeof HIDDEN {
    this.active.event(event);
    if (event.type === 'response_done') this.#done = event.response;
    else if (event.type === 'model' && this.#responseModel === undefined) this.#responseModel = modelOf(event.event);
    return event;
  }

  protected observeEnd(): void {
    const active = this.active;
    // The openai client ends an aborted stream quietly and the SDK still reports it done.
    if (active.abortedAtEnd()) return;
    if (this.#done) {
      const info = completionOf(this.#done, this.#api);
      active.complete({ ...info, responseModel: info.responseModel ?? this.#responseModel });
    } else active.fail(new Error('the model stream ended without a response_done event'));
  }

  protected observeError(error: unknown): void {
    this.active.fail(error);
  }

  protected observeStop(): void {
    this.active.abort('consumer stopped reading the stream');
  }
}

/**
 * An Agents SDK `ModelProvider` whose models are Sluice model slots: every `getResponse` and
 * `getStreamedResponse` runs the pipeline, then builds `OpenAIResponsesModel` or
 * `OpenAIChatCompletionsModel` on the Allow's relay settings (or `client`).
 *
 * @example
 * const provider = createModelProvider(sluice, { slots: [{ slotId: 'agent', label: 'Agent', selectionMode: 'locked', requiredModel: 'openai/gpt-4.1-mini' }] });
 * const result = await run(new Agent({ name: 'helper', model: 'agent' }), 'hi', { stream: true, modelProvider: provider });
 */
export function createModelProvider(sluice: Pipeline, options: AgentsModelProviderOptions): ModelProvider {
  const table: SlotTable = createSlotTable(options?.slots, options?.defaultSlot);
  const models = new Map<string, SluiceAgentsModel>();
  const sender = options.client ? sendingClient(options.client) : undefined;
  return {
    getModel(modelName?: string): Model {
      const slot = table.resolve(modelName);
      let model = models.get(slot.slotId);
      if (!model) {
        model = new SluiceAgentsModel(sluice, slot, options, sender);
        models.set(slot.slotId, model);
      }
      return model;
    },
  };
}
