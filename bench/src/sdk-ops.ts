// Why this file exists: the per-call, per-event and memory rows do the same three things with each
// SDK — one non-streamed call, one whole stream, one stream held open — bare or through Sluice.
// Here they are written once per SDK, so every row measures exactly the same work.
import { OpenAIResponsesModel, type Model, type ModelRequest, type StreamEvent as AgentsStreamEvent } from '@openai/agents';
import type { LanguageModelV4, LanguageModelV4StreamPart } from '@ai-sdk/provider';
import { createModelProvider } from '@sluice/core/agents';
import { createSluiceModel } from '@sluice/core/ai-sdk';
import { wrapOpenAI } from '@sluice/core/openai';
import { generateText, streamText, wrapLanguageModel } from 'ai';
import OpenAI from 'openai';
import type { FakeLanguageModel, FakeOpenAI } from './fakes.ts';
import { MODEL, SCOPE, SLOT, type Setup } from './setups.ts';

/** A stream read up to its first text delta (and its gate, if the fake has one). */
export interface HeldStream {
  /** Reads on until `count` more text deltas were seen or the stream ended; resolves with how many were seen (0: it ended). */
  read(count: number): Promise<number>;
  /** Reads the rest. */
  drain(): Promise<void>;
}

/** The operations a row times. */
export interface SdkOps {
  /** One non-streamed call. */
  call(): Promise<unknown>;
  /** One streamed call, read to the end; resolves with the text deltas seen. */
  stream(): Promise<number>;
  /** Starts a streamed call and reads up to its first text delta (a fake with a gate then holds it there). */
  hold(): Promise<HeldStream>;
}

const MESSAGES = [{ role: 'user' as const, content: 'Hello' }];

/** The rest of a held stream, read item by item through `next`; `isDelta` says which items are text deltas. */
function heldStream<T>(next: () => Promise<{ done?: boolean; value?: T }>, isDelta: (item: T) => boolean): HeldStream {
  return {
    async read(count) {
      let seen = 0;
      while (seen < count) {
        const result = await next();
        if (result.done) break;
        if (isDelta(result.value as T)) seen++;
      }
      return seen;
    },
    async drain() {
      while (!(await next()).done);
    },
  };
}

export function openAIClient(fake: FakeOpenAI): OpenAI {
  return new OpenAI({ apiKey: 'sk-bench-not-a-key', baseURL: 'http://fake.invalid/v1', fetch: fake.fetch, maxRetries: 0 });
}

/** Request options with a fresh AbortSignal (what Sluice hands the SDK for every call), or none. */
function signalOptions(withSignal: boolean): { signal?: AbortSignal } {
  return withSignal ? { signal: new AbortController().signal } : {};
}

/** `chat.completions.create`, streamed or not, on a bare or wrapped client; `withSignal`: pass an AbortSignal, as a caller may. */
export function openAIOps(client: OpenAI, withSignal = false): SdkOps {
  return {
    call: () => client.chat.completions.create({ model: MODEL, messages: MESSAGES }, signalOptions(withSignal)),
    async stream() {
      let deltas = 0;
      for await (const chunk of await client.chat.completions.create({ model: MODEL, messages: MESSAGES, stream: true }, signalOptions(withSignal))) {
        if (chunk.choices[0]?.delta.content) deltas++;
      }
      return deltas;
    },
    async hold() {
      const stream = await client.chat.completions.create({ model: MODEL, messages: MESSAGES, stream: true }, signalOptions(withSignal));
      const iterator = stream[Symbol.asyncIterator]();
      // Past the role-only first chunk: the call is held with a text block open.
      for (let next = await iterator.next(); !next.done && !next.value.choices[0]?.delta.content; next = await iterator.next());
      return heldStream(() => iterator.next(), (chunk) => !!chunk.choices[0]?.delta.content);
    },
  };
}

/** Shared by every request (the Runner's come from its config and the agent). */
const MODEL_SETTINGS = {};
const NONE: [] = [];

/**
 * The smallest request the Runner would send (no tools, text output, tracing off), made as the
 * Runner makes it: one object literal that always sets `signal`, to the run's signal or undefined.
 */
function agentsRequest(withSignal: boolean): ModelRequest {
  return { input: 'Hello', modelSettings: MODEL_SETTINGS, tools: NONE, outputType: 'text', handoffs: NONE, tracing: false, signal: withSignal ? new AbortController().signal : undefined };
}

/** `getResponse` / `getStreamedResponse` of an Agents SDK model (the bare one or Sluice's slot). Run inside `withTrace`. */
export function agentsOps(model: Model, withSignal = false): SdkOps {
  return {
    call: () => model.getResponse(agentsRequest(withSignal)),
    async stream() {
      let deltas = 0;
      for await (const event of model.getStreamedResponse(agentsRequest(withSignal))) if (event.type === 'output_text_delta') deltas++;
      return deltas;
    },
    async hold() {
      const iterator = model.getStreamedResponse(agentsRequest(withSignal))[Symbol.asyncIterator]();
      // Past response_started and the raw events before the text, to the first delta's raw event
      // (the SDK yields its output_text_delta summary first): held with a text block open.
      const isRawDelta = (event: AgentsStreamEvent) => event.type === 'model' && (event.event as { type?: unknown } | undefined)?.type === 'response.output_text.delta';
      for (let next = await iterator.next(); !next.done && !isRawDelta(next.value); next = await iterator.next());
      // Deltas counted by the SDK's summaries, as stream() counts them.
      return heldStream(() => iterator.next(), (event) => event.type === 'output_text_delta');
    },
  };
}

/** `generateText` / `streamText` on an AI SDK model. */
export function aiSdkOps(model: LanguageModelV4): SdkOps {
  return {
    call: () => generateText({ model, prompt: 'Hello' }),
    async stream() {
      let deltas = 0;
      for await (const text of streamText({ model, prompt: 'Hello' }).textStream) if (text) deltas++;
      return deltas;
    },
    async hold() {
      const reader = streamText({ model, prompt: 'Hello' }).textStream.getReader();
      await reader.read();
      return heldStream(() => reader.read(), (text) => text !== '');
    },
  };
}

/** Bare, bare with an AbortSignal per call (what the SDK spends on a caller's signal), or through a pipeline variant. */
export type OpsVariant = 'bare' | 'bare-signal' | Setup;

export function openAIVariant(fake: FakeOpenAI, variant: OpsVariant): SdkOps {
  const client = openAIClient(fake);
  if (variant === 'bare' || variant === 'bare-signal') return openAIOps(client, variant === 'bare-signal');
  return openAIOps(wrapOpenAI(client, variant.sluice, { scope: SCOPE }));
}

export function agentsVariant(fake: FakeOpenAI, variant: OpsVariant): SdkOps {
  const client = openAIClient(fake);
  if (variant === 'bare' || variant === 'bare-signal') return agentsOps(new OpenAIResponsesModel(client, MODEL), variant === 'bare-signal');
  const provider = createModelProvider(variant.sluice, { slots: [SLOT], client, scope: SCOPE });
  return agentsOps(provider.getModel(SLOT.slotId) as Model);
}

export function aiSdkVariant(model: FakeLanguageModel, variant: OpsVariant): SdkOps {
  if (variant === 'bare-signal') throw new Error('the fake AI SDK model ignores abort signals: no bare-signal variant');
  return aiSdkOps(variant === 'bare' ? model : createSluiceModel(variant.sluice, { model: MODEL, api: 'chat_completions', fallback: model, scope: SCOPE }));
}

/** The AI SDK's own middleware as a peer: `{}` (nothing wrapped) or an identity TransformStream in `wrapStream`. */
export function aiSdkMiddlewareVariant(model: FakeLanguageModel, kind: 'empty' | 'transform'): SdkOps {
  const middleware =
    kind === 'empty'
      ? { specificationVersion: 'v4' as const }
      : {
          specificationVersion: 'v4' as const,
          async wrapStream({ doStream }: { doStream: () => PromiseLike<{ stream: ReadableStream<LanguageModelV4StreamPart> }> }) {
            const result = await doStream();
            return { ...result, stream: result.stream.pipeThrough(new TransformStream<LanguageModelV4StreamPart, LanguageModelV4StreamPart>({ transform: (part, controller) => controller.enqueue(part) })) };
          },
        };
  return aiSdkOps(wrapLanguageModel({ model, middleware }));
}
