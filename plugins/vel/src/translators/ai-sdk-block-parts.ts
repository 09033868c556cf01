// Why this file exists: the AI SDK streams parts in two shapes — a model's `LanguageModelV4StreamPart`
// and `streamText`'s `fullStream` (`TextStreamPart`) — which share their text, reasoning and
// tool-input-delta parts and their error part. Both translators write those the same way, here.
import { str } from '../translator.ts';
import type { VelWriter } from '../vel-writer.ts';

/**
 * Writes a text, reasoning or tool-input part that both shapes share; returns false for any other
 * type. `delta` reads the text of a delta part (the two shapes name it differently).
 */
export function writeBlockPart(w: VelWriter, type: string | undefined, part: unknown, delta: (part: unknown) => string): boolean {
  switch (type) {
    case 'text-start':
      w.startStep();
      return true;
    case 'text-delta':
      w.textDelta(str(part, 'id') ?? '0', delta(part));
      return true;
    case 'text-end':
      w.textEnd(str(part, 'id') ?? '0');
      return true;
    case 'reasoning-start':
      w.reasoningStart(str(part, 'id') ?? '0');
      return true;
    case 'reasoning-delta':
      w.reasoningDelta(str(part, 'id') ?? '0', delta(part));
      return true;
    case 'reasoning-end':
      w.reasoningEnd(str(part, 'id') ?? '0');
      return true;
    case 'tool-input-delta':
      w.toolInputDelta(str(part, 'id') ?? '', str(part, 'delta') ?? '');
      return true;
    case 'tool-input-end':
      // The input is settled by the `tool-call` part that follows, which carries the final text.
      return true;
    default:
      return false;
  }
}

/** The message of an `error` part's error. */
export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : typeof error === 'string' ? error : (JSON.stringify(error) ?? 'error');
}
