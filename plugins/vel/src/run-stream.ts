// Why this file exists: the app-facing way to show a whole Agents SDK run in a UI — iterate the
// run's stream events and get one Vel message (steps per model call, tool outputs between them).
import type { VelEvent } from '@sluice/core';
import type { TranslatorOptions } from './translator.ts';
import { AgentsRunTranslator } from './translators/agents-run-translator.ts';

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
export async function* velStreamFromRun(run: AsyncIterable<unknown>, options: RunStreamOptions = {}): AsyncGenerator<VelEvent> {
  const translator = new AgentsRunTranslator(options);
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
  if (options.signal?.aborted) yield* translator.abort(typeof options.signal.reason === 'string' ? options.signal.reason : 'aborted');
  else if (failure !== undefined) yield* translator.fail(failure instanceof Error ? failure.message : String(failure));
  else yield* translator.finish();
}
