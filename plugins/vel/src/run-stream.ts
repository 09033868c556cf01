// Why this file exists: the app-facing way to show a whole Agents SDK run in a UI — iterate the
// run's stream events and get one Vel message (steps per model call, tool outputs between them).
import type { VelEvent } from '@sluice/core';
import type { TranslatorOptions } from './translator.ts';
import { AgentsRunTranslator } from './translators/agents-run-translator.ts';
import { AiSdkTextStreamTranslator } from './translators/ai-sdk-text-stream-translator.ts';
import type { BaseTranslator } from './translator.ts';

/** Options of {@link velStreamFromRun}. */
export interface RunStreamOptions extends Omit<TranslatorOptions, 'writer'> {
  /** The run's abort signal: when it is aborted at the end, the stream ends in the abort order. */
  signal?: AbortSignal;
}

/**
 * Turns a streamed Agents SDK run (`StreamedRunResult`, or any iterable of `RunStreamEvent`s) into
 * one Vel stream. A run that throws ends with an `error` chunk and finish reason `error`.
 *
 * @example
 * const result = await runner.run(agent, input, { stream: true });
 * return createVelResponse(velStreamFromRun(result));
 */
export function velStreamFromRun(run: AsyncIterable<unknown>, options: RunStreamOptions = {}): AsyncGenerator<VelEvent> {
  return translateRun(run, new AgentsRunTranslator(options), options.signal);
}

/**
 * Turns a `streamText` run (its `fullStream`) into one Vel stream: a step per model call, outputs
 * of the executed tools, usage of the whole run.
 *
 * @example
 * const result = streamText({ model, tools, prompt, stopWhen: isStepCount(5) });
 * return createVelResponse(velStreamFromStreamText(result.fullStream));
 */
export function velStreamFromStreamText(fullStream: AsyncIterable<unknown>, options: RunStreamOptions = {}): AsyncGenerator<VelEvent> {
  return translateRun(fullStream, new AiSdkTextStreamTranslator(options), options.signal);
}

async function* translateRun(run: AsyncIterable<unknown>, translator: BaseTranslator<unknown>, signal: AbortSignal | undefined): AsyncGenerator<VelEvent> {
  let failure: unknown;
  let ended = false;
  try {
    for await (const event of run) yield* translator.push(event);
    ended = true;
  } catch (error) {
    failure = error;
    ended = true;
  } finally {
    if (!ended) translator.abort('consumer stopped reading');
  }
  if (signal?.aborted) yield* translator.abort(typeof signal.reason === 'string' ? signal.reason : 'aborted');
  else if (failure !== undefined) yield* translator.fail(failure instanceof Error ? failure.message : String(failure));
  else yield* translator.finish();
}
