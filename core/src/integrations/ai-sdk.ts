// Why this file exists: the Vercel AI SDK calls `doGenerate`/`doStream` once per step of
// `generateText`/`streamText`; this is where each step enters the pipeline. `createSluiceModel` is
// the AI SDK analogue of the Agents provider (builds its model from relay settings per call);
// `sluiceMiddleware` wraps an existing model when there is no relay.
import type {
  LanguageModelV4,
  LanguageModelV4CallOptions,
  LanguageModelV4GenerateResult,
  LanguageModelV4Middleware,
  LanguageModelV4StreamPart,
  LanguageModelV4StreamResult,
} from '@ai-sdk/provider';
import { abortReason, type ActiveCall, type CompletionInfo } from '../active-call.ts';
import { SluiceConfigError } from '../errors.ts';
import { finishReasonFromAiSdk } from '../finish-reason.ts';
import type { ModelApi, ModelSlot, RelaySettings } from '../model-call.ts';
import type { CallInit, Pipeline } from '../pipeline.ts';
import type { ExecutionScope } from '../scope.ts';
import { usageFromAiSdk } from '../usage.ts';
import { apiModelName } from './model-slots.ts';

/** What a model factory gets for one call. */
export interface ModelFactoryInput {
  /** The relay of the allowed call; absent when no plugin supplied one. */
  relay: RelaySettings | undefined;
  /** The model to ask for (the relay's resolved model, else the requested one). */
  modelId: string;
  api: ModelApi;
}

/** Options shared by {@link createSluiceModel} and {@link sluiceMiddleware}. */
export interface AiSdkCallOptions {
  /** The execution scope of every call; a function is asked per call. Default: the `withScope` scope. */
  scope?: ExecutionScope | ((options: LanguageModelV4CallOptions) => ExecutionScope | undefined);
  /** Estimated cost of one call, for authorizers that hold budget. */
  estimateCostUsd?: (options: LanguageModelV4CallOptions) => number | undefined;
  /** Attributes put on every call. */
  attributes?: (options: LanguageModelV4CallOptions) => Record<string, unknown>;
}

/** Options of {@link createSluiceModel}. */
export interface SluiceModelOptions extends AiSdkCallOptions {
  /** The model to request (`gpt-4.1-mini`), or a slot whose `requiredModel` names it. */
  model: string | ModelSlot;
  /** Which OpenAI API the built model speaks. Default `responses`. */
  api?: ModelApi;
  /**
   * Builds the underlying model for one call. Default: `@ai-sdk/openai` on the relay's base URL
   * and key (`.responses()` or `.chat()`); without relay settings, `fallback`.
   */
  createModel?: (input: ModelFactoryInput) => LanguageModelV4 | PromiseLike<LanguageModelV4>;
  /** The model used when no plugin supplied relay settings (with the default `createModel`). */
  fallback?: LanguageModelV4;
  /** URL patterns the model accepts natively (see `LanguageModelV4.supportedUrls`). Default none. */
  supportedUrls?: Record<string, RegExp[]>;
}

/** The fallback as is (no promise to wait for on the common path), else a model on the relay. Throws inside the call's async step. */
function defaultCreateModel(input: ModelFactoryInput, fallback: LanguageModelV4 | undefined): LanguageModelV4 | Promise<LanguageModelV4> {
  if (!input.relay) {
    if (fallback) return fallback;
    throw new SluiceConfigError('fallback', 'no plugin supplied relay settings for this call and no fallback model was configured');
  }
  return relayModel(input, input.relay);
}

async function relayModel(input: ModelFactoryInput, relay: RelaySettings): Promise<LanguageModelV4> {
  const { createOpenAI } = await import('@ai-sdk/openai');
  const provider = createOpenAI({
    baseURL: relay.baseURL,
    apiKey: relay.apiKey,
    ...(relay.headers ? { headers: relay.headers } : {}),
  });
  return input.api === 'chat_completions' ? provider.chat(input.modelId) : provider.responses(input.modelId);
}

function callInit(options: AiSdkCallOptions, params: LanguageModelV4CallOptions, base: Pick<CallInit, 'api' | 'model' | 'slot'>, stream: boolean): CallInit {
  const { scope } = options;
  return {
    source: 'ai-sdk',
    ...base,
    stream,
    scope: typeof scope === 'function' ? scope(params) : scope,
    estimatedCostUsd: options.estimateCostUsd?.(params),
    signal: params.abortSignal,
    request: params,
    attributes: options.attributes?.(params),
  };
}

function generateInfo(result: LanguageModelV4GenerateResult): CompletionInfo {
  return {
    usage: usageFromAiSdk(result.usage),
    finishReason: finishReasonFromAiSdk(result.finishReason),
    responseId: result.response?.id,
    responseModel: result.response?.modelId,
    response: result,
  };
}

/**
 * The source of the observed stream: it pulls the provider's parts one at a time (no extra
 * TransformStream hop), passes each to the call, and settles the call at the end. One object with
 * two handlers made once per stream — `pull` runs once per token and allocates nothing of its own.
 */
class ObservedPartSource implements UnderlyingDefaultSource<LanguageModelV4StreamPart> {
  readonly #reader: ReadableStreamDefaultReader<LanguageModelV4StreamPart>;
  readonly #active: ActiveCall;
  /** Every field it may get, from the start: fields added later would live in a second, out-of-object store. */
  readonly #info: CompletionInfo = { usage: undefined, finishReason: undefined, responseId: undefined, responseModel: undefined };
  #streamError: unknown;
  #sawError = false;
  #ended = false;
  #controller!: ReadableStreamDefaultController<LanguageModelV4StreamPart>;

  constructor(reader: ReadableStreamDefaultReader<LanguageModelV4StreamPart>, active: ActiveCall) {
    this.#reader = reader;
    this.#active = active;
  }

  start(controller: ReadableStreamDefaultController<LanguageModelV4StreamPart>): void {
    this.#controller = controller;
  }

  pull(): Promise<void> | undefined {
    const active = this.#active;
    // Once the caller aborted, the consumer gets nothing more, even parts already buffered.
    if (active.call.signal.aborted) {
      this.#ended = true;
      active.abort(abortReason(active.call.signal));
      this.#reader.cancel().catch(() => undefined);
      this.#controller.error(active.call.signal.reason);
      return undefined;
    }
    return this.#reader.read().then(this.#onRead, this.#onReadError);
  }

  cancel(reason: unknown): Promise<void> {
    if (!this.#ended) {
      this.#ended = true;
      this.#active.abort('consumer cancelled the stream');
    }
    return this.#reader.cancel(reason);
  }

  readonly #onRead = (next: ReadableStreamReadResult<LanguageModelV4StreamPart>): void => {
    const active = this.#active;
    const info = this.#info;
    if (next.done) {
      this.#ended = true;
      // A provider may end its stream quietly after an abort: that is an abort, not a completion.
      if (active.call.signal.aborted && info.finishReason === undefined) active.abort(abortReason(active.call.signal));
      else if (this.#sawError) active.fail(this.#streamError);
      else active.complete(info);
      this.#controller.close();
      return;
    }
    const part = next.value;
    active.event(part);
    switch (part.type) {
      case 'response-metadata':
        if (part.id !== undefined) info.responseId = part.id;
        if (part.modelId !== undefined) info.responseModel = part.modelId;
        break;
      case 'finish':
        info.usage = usageFromAiSdk(part.usage);
        info.finishReason = finishReasonFromAiSdk(part.finishReason);
        break;
      case 'error':
        this.#sawError = true;
        this.#streamError = part.error;
        break;
    }
    this.#controller.enqueue(part);
  };

  readonly #onReadError = (error: unknown): void => {
    this.#ended = true;
    this.#active.fail(error);
    this.#controller.error(error);
  };
}

/** Wraps a provider stream in a pull-based stream that observes each part (see {@link ObservedPartSource}). */
function observeStream(result: LanguageModelV4StreamResult, active: ActiveCall): LanguageModelV4StreamResult {
  const stream = new ReadableStream<LanguageModelV4StreamPart>(new ObservedPartSource(result.stream.getReader(), active), { highWaterMark: 0 });
  return { ...result, stream };
}

/** Calls `use` with the model — at once when the factory returned one, after it resolves when it returned a promise. */
function withModel<T>(model: LanguageModelV4 | PromiseLike<LanguageModelV4>, use: (model: LanguageModelV4) => PromiseLike<T>): PromiseLike<T> {
  return typeof (model as PromiseLike<LanguageModelV4>).then === 'function' ? Promise.resolve(model).then(use) : use(model as LanguageModelV4);
}

async function generate(active: ActiveCall, run: () => PromiseLike<LanguageModelV4GenerateResult>): Promise<LanguageModelV4GenerateResult> {
  try {
    const result = await run();
    active.complete(generateInfo(result));
    return result;
  } catch (error) {
    active.fail(error);
    throw error;
  }
}

async function stream(active: ActiveCall, run: () => PromiseLike<LanguageModelV4StreamResult>): Promise<LanguageModelV4StreamResult> {
  try {
    return observeStream(await run(), active);
  } catch (error) {
    active.fail(error);
    throw error;
  }
}

/**
 * A `LanguageModelV4` whose every `doGenerate`/`doStream` runs the pipeline, then builds the real
 * model from the allowed call's relay settings (one model per call: relay keys are single-use).
 *
 * @example
 * const model = createSluiceModel(sluice, { model: 'gpt-4.1-mini', api: 'chat_completions' });
 * const result = streamText({ model, prompt: 'Hello', tools, stopWhen: stepCountIs(3) });
 */
export function createSluiceModel(sluice: Pipeline, options: SluiceModelOptions): LanguageModelV4 {
  if (typeof options?.model !== 'string' && typeof options?.model?.requiredModel !== 'string') {
    throw new SluiceConfigError('model', 'expected a model name string or a model slot { slotId, label, selectionMode, requiredModel }');
  }
  const slot = typeof options.model === 'string' ? undefined : options.model;
  const modelId = typeof options.model === 'string' ? options.model : apiModelName(options.model.requiredModel);
  const api = options.api ?? 'responses';
  const base = { api, model: modelId, slot };
  const build = (active: ActiveCall) => {
    const relay = active.allow.relay;
    const input: ModelFactoryInput = { relay, modelId: relay?.model ?? active.call.model, api };
    return options.createModel ? options.createModel(input) : defaultCreateModel(input, options.fallback);
  };
  return {
    specificationVersion: 'v4',
    provider: 'sluice',
    modelId,
    supportedUrls: options.supportedUrls ?? {},
    async doGenerate(params) {
      const started = sluice.startCallNow(callInit(options, params, base, false));
      const active = started instanceof Promise ? await started : started;
      return generate(active, () => withModel(build(active), (model) => model.doGenerate({ ...params, abortSignal: active.call.signal })));
    },
    async doStream(params) {
      const started = sluice.startCallNow(callInit(options, params, base, true));
      const active = started instanceof Promise ? await started : started;
      return stream(active, () => withModel(build(active), (model) => model.doStream({ ...params, abortSignal: active.call.signal })));
    },
  };
}

/** Options of {@link sluiceMiddleware}. */
export interface SluiceMiddlewareOptions extends AiSdkCallOptions {
  /** The API recorded on calls. Default: `responses` when the model's provider id says so, else `chat_completions`. */
  api?: ModelApi;
}

/**
 * A `LanguageModelMiddleware` that runs the pipeline around an existing model
 * (`wrapLanguageModel({ model, middleware: sluiceMiddleware(sluice) })`). Authorization, events and
 * reports work as with {@link createSluiceModel}, but the wrapped model keeps its own endpoint and
 * key: relay settings from an Allow are not applied (use `createSluiceModel` for relayed calls).
 * The caller's abort signal is observed; the middleware cannot cancel the request on its own.
 */
export function sluiceMiddleware(sluice: Pipeline, options: SluiceMiddlewareOptions = {}): LanguageModelV4Middleware {
  const base = (model: LanguageModelV4) => ({
    api: options.api ?? (model.provider.includes('responses') ? 'responses' : 'chat_completions'),
    model: model.modelId,
  } as const);
  return {
    specificationVersion: 'v4',
    async wrapGenerate({ doGenerate, params, model }) {
      const started = sluice.startCallNow(callInit(options, params, base(model), false));
      const active = started instanceof Promise ? await started : started;
      return generate(active, doGenerate);
    },
    async wrapStream({ doStream, params, model }) {
      const started = sluice.startCallNow(callInit(options, params, base(model), true));
      const active = started instanceof Promise ? await started : started;
      return stream(active, doStream);
    },
  };
}
