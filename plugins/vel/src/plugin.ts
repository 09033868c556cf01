// Why this file exists: `vel()` puts a translator on every model call — it taps `onEvent` first,
// fills `event.vel` for the plugins after it, and hands each call's Vel events to subscribers.
import { SluiceConfigError, type ModelCall, type SluicePlugin, type StreamEventSource, type VelEvent } from '@sluice/core';
import type { TranslatorOptions, VelTranslator } from './translator.ts';
import { AiSdkStreamTranslator } from './translators/ai-sdk-stream-translator.ts';
import { OpenAIChatTranslator } from './translators/openai-chat-translator.ts';
import { OpenAIResponsesTranslator } from './translators/openai-responses-translator.ts';

const NAME = 'vel';
/** Before every other `onEvent` tap, so they all read a filled `event.vel`. */
export const VEL_STAGE = -100;

/** Receives one call's Vel events as they are produced. */
export type VelListener = (call: ModelCall, events: readonly VelEvent[]) => void;

/** Options of {@link vel}. */
export interface VelPluginOptions {
  /** Called with each batch of a call's Vel events (also the closing batch at report time). */
  onEvents?: VelListener;
}

/** The Vel plugin: a Sluice plugin plus subscriptions to the calls' Vel events. */
export interface VelPlugin extends SluicePlugin {
  /** Adds a listener for every call's Vel events; returns the unsubscribe function. */
  subscribe(listener: VelListener): () => void;
  /**
   * The Vel events of the calls matching `filter` (default all), from now on, as an async iterable.
   * Each call's stream is complete (start … finish) when subscribed before the call started.
   */
  events(filter?: (call: ModelCall) => boolean): AsyncIterable<{ call: ModelCall; event: VelEvent }>;
}

const FACTORIES: Record<StreamEventSource, (options: TranslatorOptions, call: ModelCall) => VelTranslator> = {
  'openai.chat': (o) => new OpenAIChatTranslator(o),
  'openai.responses': (o) => new OpenAIResponsesTranslator(o),
  // Sluice's Agents models are the SDK's OpenAI models for the call's API: that provider's translator
  // reads the SDK's envelope itself (one object per call instead of two).
  'agents.model': (o, call) => (call.api === 'chat_completions' ? new OpenAIChatTranslator({ ...o, agentsEnvelope: true }) : new OpenAIResponsesTranslator({ ...o, agentsEnvelope: true })),
  'ai-sdk': (o) => new AiSdkStreamTranslator(o),
};

const SOURCE_OF: Record<ModelCall['source'], (call: ModelCall) => StreamEventSource> = {
  agents: () => 'agents.model',
  openai: (call) => (call.api === 'responses' ? 'openai.responses' : 'openai.chat'),
  'ai-sdk': () => 'ai-sdk',
};

/**
 * Translates every call's native stream events into Vel events.
 *
 * @example
 * const velPlugin = vel();
 * const sluice = createPipeline({ plugins: [velPlugin, otel()] });
 * velPlugin.subscribe((call, events) => ui.send(call.id, events));
 */
export function vel(options: VelPluginOptions = {}): VelPlugin {
  if (options.onEvents !== undefined && typeof options.onEvents !== 'function') {
    throw new SluiceConfigError('onEvents', `expected a function (call, events) => void, got ${typeof options.onEvents}`);
  }
  const translators = new WeakMap<ModelCall, VelTranslator>();
  const listeners = new Set<VelListener>();
  if (options.onEvents) listeners.add(options.onEvents);
  const emit = (call: ModelCall, events: readonly VelEvent[]) => {
    if (events.length === 0) return;
    for (const listener of listeners) listener(call, events);
  };
  const subscribe = (listener: VelListener): (() => void) => {
    listeners.add(listener);
    return () => void listeners.delete(listener);
  };
  // The last call's translator: a stream's events come in a row, so most lookups skip the WeakMap.
  let lastCall: ModelCall | undefined;
  let lastTranslator: VelTranslator | undefined;
  const translatorFor = (call: ModelCall, source: StreamEventSource) => {
    if (call === lastCall) return lastTranslator!;
    let translator = translators.get(call);
    if (!translator) {
      translator = FACTORIES[source]({ idPrefix: call.id.slice(0, 8) }, call);
      translators.set(call, translator);
    }
    lastCall = call;
    lastTranslator = translator;
    return translator;
  };

  return {
    name: NAME,
    apply(hooks) {
      hooks.onEvent.tap({ name: NAME, stage: VEL_STAGE }, (call, event) => {
        const events = translatorFor(call, event.source).push(event.native);
        event.vel = events;
        if (listeners.size > 0) emit(call, events);
      });
      hooks.onReport.tap({ name: NAME, stage: VEL_STAGE }, (call, outcome) => {
        // Calls that streamed nothing (denied, failed before the stream, not streamed) get a stream
        // only when someone listens: start, error, finish.
        if (!translators.has(call) && (listeners.size === 0 || outcome.status === 'completed')) return;
        const translator = translatorFor(call, SOURCE_OF[call.source](call));
        translators.delete(call);
        if (lastCall === call) lastCall = lastTranslator = undefined;
        let closing: VelEvent[];
        switch (outcome.status) {
          case 'completed':
            closing = translator.finish();
            break;
          case 'aborted':
            closing = translator.abort(outcome.reason);
            break;
          case 'failed':
            closing = translator.fail(outcome.error.message);
            break;
          case 'denied':
            closing = translator.fail(`${outcome.denial.outcome === 'deny' ? 'Denied' : 'Blocked'} (${outcome.denial.code}): ${outcome.denial.message}`);
            break;
        }
        emit(call, closing);
      });
    },
    subscribe,
    events(filter) {
      return {
        [Symbol.asyncIterator]() {
          const queue: Array<{ call: ModelCall; event: VelEvent }> = [];
          let wake: (() => void) | undefined;
          const unsubscribe = subscribe((call, events) => {
            if (filter && !filter(call)) return;
            for (const event of events) queue.push({ call, event });
            wake?.();
          });
          return {
            async next() {
              while (queue.length === 0) await new Promise<void>((resolve) => (wake = resolve));
              wake = undefined;
              return { done: false, value: queue.shift()! };
            },
            async return() {
              unsubscribe();
              return { done: true, value: undefined };
            },
          };
        },
      };
    },
  };
}
