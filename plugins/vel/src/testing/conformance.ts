// Why this file exists: the conformance tests of every translator check the same things — the
// stream is valid by our rules and by the AI SDK's own chunk schema, the UIMessage it builds holds
// the text and tools, and text, tool inputs and usage equal what the provider sent.
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Usage, VelEvent } from '@sluice/core';
import { safeValidateTypes } from '@ai-sdk/provider-utils';
import { readUIMessageStream, uiMessageChunkSchema, type UIMessage } from 'ai';
import { validateVelStream } from '../validate-vel-stream.ts';

/** `../shared/fixtures/provider-streams` from the repo. */
export const FIXTURES_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..', '..', 'shared', 'fixtures', 'provider-streams');

/** The recorded stream files of one family folder (`openai-chat`, `anthropic`, …), enumerated. */
export function fixtureFiles(family: string): string[] {
  return readdirSync(join(FIXTURES_DIR, family))
    .filter((name) => name.endsWith('.chunks.txt'))
    .sort();
}

/** One native event per line, parsed. */
export function readFixture(family: string, file: string): unknown[] {
  return readFileSync(join(FIXTURES_DIR, family, file), 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as unknown);
}

/** What a stream says, read back from its Vel events. */
export interface VelSummary {
  text: string;
  reasoning: string;
  toolInputs: Array<{ toolCallId: string; toolName: string; input: unknown }>;
  toolInputErrors: string[];
  usage: Partial<Usage> | undefined;
  finishReason: string | undefined;
  sources: string[];
  errors: string[];
}

export function summarize(events: readonly VelEvent[]): VelSummary {
  const summary: VelSummary = { text: '', reasoning: '', toolInputs: [], toolInputErrors: [], usage: undefined, finishReason: undefined, sources: [], errors: [] };
  for (const event of events) {
    switch (event.type) {
      case 'text-delta':
        summary.text += event.delta;
        break;
      case 'reasoning-delta':
        summary.reasoning += event.delta;
        break;
      case 'tool-input-available':
        summary.toolInputs.push({ toolCallId: event.toolCallId, toolName: event.toolName, input: event.input });
        break;
      case 'tool-input-error':
        summary.toolInputErrors.push(event.toolCallId);
        break;
      case 'source-url':
        summary.sources.push(event.url);
        break;
      case 'error':
        summary.errors.push(event.errorText);
        break;
      case 'finish':
        summary.finishReason = event.finishReason;
        summary.usage = (event.messageMetadata as { usage?: Partial<Usage> } | undefined)?.usage;
        break;
    }
  }
  return summary;
}

/** Throws unless the stream satisfies `validateVelStream` and every chunk passes the AI SDK's chunk schema. */
export async function assertValidVelStream(events: readonly VelEvent[]): Promise<void> {
  const result = validateVelStream(events);
  if (!result.valid) throw new Error(`invalid Vel stream at ${result.index} (${JSON.stringify(events[result.index])}): ${result.message}`);
  for (const [index, event] of events.entries()) {
    const parsed = await safeValidateTypes({ value: event, schema: uiMessageChunkSchema });
    if (!parsed.success) throw new Error(`chunk ${index} rejected by the AI SDK schema: ${JSON.stringify(event)}: ${parsed.error.message}`);
  }
}

/** Runs the stream through the AI SDK's `readUIMessageStream` and returns the final message. */
export async function toUIMessage(events: readonly VelEvent[]): Promise<UIMessage | undefined> {
  const stream = new ReadableStream<VelEvent>({
    start(controller) {
      for (const event of events) controller.enqueue(event);
      controller.close();
    },
  });
  let last: UIMessage | undefined;
  const errors: unknown[] = [];
  for await (const message of readUIMessageStream({ stream, onError: (error) => void errors.push(error), terminateOnError: true })) last = message;
  if (errors.length > 0) throw new Error(`readUIMessageStream failed: ${String(errors[0])}`);
  return last;
}

/** The text of a UIMessage's text parts, concatenated. */
export function uiMessageText(message: UIMessage | undefined): string {
  return (message?.parts ?? []).flatMap((part) => (part.type === 'text' ? [part.text] : [])).join('');
}
