// Why this file exists: one executable statement of the Vel stream invariants (DESIGN.md §5), used by
// the conformance tests and available to apps that want to check a stream they produce or receive.
import type { VelEvent } from '@sluice/core';

/** The result of {@link validateVelStream}: valid, or the first violation and where it is. */
export type VelStreamValidation = { valid: true } | { valid: false; index: number; message: string };

const FINISH_REASONS = new Set(['stop', 'length', 'content-filter', 'tool-calls', 'error', 'other', 'interrupted']);

/** Required string fields per chunk type (the AI SDK's chunk schema). */
const REQUIRED_STRINGS: Record<string, readonly string[]> = {
  start: [],
  'start-step': [],
  'finish-step': [],
  finish: [],
  abort: [],
  'message-metadata': [],
  'text-start': ['id'],
  'text-delta': ['id', 'delta'],
  'text-end': ['id'],
  'reasoning-start': ['id'],
  'reasoning-delta': ['id', 'delta'],
  'reasoning-end': ['id'],
  'tool-input-start': ['toolCallId', 'toolName'],
  'tool-input-delta': ['toolCallId', 'inputTextDelta'],
  'tool-input-available': ['toolCallId', 'toolName'],
  'tool-input-error': ['toolCallId', 'toolName', 'errorText'],
  'tool-output-available': ['toolCallId'],
  'tool-output-error': ['toolCallId', 'errorText'],
  'tool-output-denied': ['toolCallId'],
  'tool-approval-request': ['approvalId', 'toolCallId'],
  'source-url': ['sourceId', 'url'],
  'source-document': ['sourceId', 'mediaType', 'title'],
  file: ['url', 'mediaType'],
  'reasoning-file': ['url', 'mediaType'],
  error: ['errorText'],
};

interface ToolTrack {
  inputOpen: boolean;
  inputSettled: 'available' | 'error' | undefined;
  providerExecuted: boolean;
  outputs: number;
}

/**
 * Checks every invariant of a Vel stream: one `start` first and one `finish` last; known chunk
 * types with their required fields; steps balanced and not nested; text and reasoning blocks
 * opened, fed and closed per id (closed before their step ends), ids never reused; each
 * `tool-input-start` settled by exactly one `tool-input-available` or `tool-input-error`; at most
 * one output per tool, and one for every provider-executed tool; after `abort`, only `finish`.
 * Returns the first violation with its index.
 */
export function validateVelStream(events: readonly VelEvent[]): VelStreamValidation {
  const fail = (index: number, message: string): VelStreamValidation => ({ valid: false, index, message });
  if (!Array.isArray(events)) return fail(-1, 'expected an array of events');
  if (events.length === 0) return fail(0, 'empty stream: expected start … finish');
  let inStep = false;
  let aborted = false;
  const openText = new Set<string>();
  const openReasoning = new Set<string>();
  const usedBlockIds = new Set<string>();
  const tools = new Map<string, ToolTrack>();

  for (let index = 0; index < events.length; index++) {
    const event = events[index] as unknown as Record<string, unknown>;
    if (typeof event !== 'object' || event === null || typeof event.type !== 'string') return fail(index, 'not a chunk object with a string type');
    const type = event.type;
    const required = type.startsWith('data-') ? [] : REQUIRED_STRINGS[type];
    if (!required) return fail(index, `unknown chunk type "${type}"`);
    for (const field of required) if (typeof event[field] !== 'string') return fail(index, `${type} needs a string ${field}`);

    if (index === 0 && type !== 'start') return fail(0, `the stream must begin with start, got ${type}`);
    if (index > 0 && type === 'start') return fail(index, 'a second start');
    if (aborted && type !== 'finish') return fail(index, `only finish may follow abort, got ${type}`);

    switch (type) {
      case 'start-step':
        if (inStep) return fail(index, 'start-step inside an open step');
        inStep = true;
        break;
      case 'finish-step':
        if (!inStep) return fail(index, 'finish-step without an open step');
        if (openText.size || openReasoning.size) return fail(index, `finish-step with open blocks: ${[...openText, ...openReasoning].join(', ')}`);
        inStep = false;
        break;
      case 'text-start':
      case 'reasoning-start': {
        const id = event.id as string;
        if (usedBlockIds.has(id)) return fail(index, `${type} reuses id ${id}`);
        usedBlockIds.add(id);
        (type === 'text-start' ? openText : openReasoning).add(id);
        break;
      }
      case 'text-delta':
      case 'text-end':
      case 'reasoning-delta':
      case 'reasoning-end': {
        const open = type.startsWith('text') ? openText : openReasoning;
        const id = event.id as string;
        if (!open.has(id)) return fail(index, `${type} for ${id}, which is not open`);
        if (type.endsWith('-end')) open.delete(id);
        break;
      }
      case 'tool-input-start': {
        const id = event.toolCallId as string;
        if (tools.has(id)) return fail(index, `tool-input-start for ${id} a second time`);
        tools.set(id, { inputOpen: true, inputSettled: undefined, providerExecuted: event.providerExecuted === true, outputs: 0 });
        break;
      }
      case 'tool-input-delta': {
        const tool = tools.get(event.toolCallId as string);
        if (!tool?.inputOpen) return fail(index, `tool-input-delta for ${String(event.toolCallId)}, whose input is not open`);
        break;
      }
      case 'tool-input-available':
      case 'tool-input-error': {
        const id = event.toolCallId as string;
        const tool = tools.get(id);
        if (tool && !tool.inputOpen) return fail(index, `${type} for ${id}, whose input was already settled`);
        if (!('input' in event)) return fail(index, `${type} needs an input`);
        tools.set(id, {
          inputOpen: false,
          inputSettled: type === 'tool-input-available' ? 'available' : 'error',
          providerExecuted: (tool?.providerExecuted ?? false) || event.providerExecuted === true,
          outputs: 0,
        });
        break;
      }
      case 'tool-output-available':
      case 'tool-output-error':
      case 'tool-output-denied': {
        const id = event.toolCallId as string;
        const tool = tools.get(id);
        if (!tool || tool.inputSettled !== 'available') return fail(index, `${type} for ${id}, which has no available input`);
        if (++tool.outputs > 1) return fail(index, `a second output for ${id}`);
        break;
      }
      case 'abort':
        if (inStep) return fail(index, 'abort inside an open step (expected finish-step first)');
        aborted = true;
        break;
      case 'finish': {
        if (index !== events.length - 1) return fail(index, 'finish before the end of the stream');
        if (event.finishReason !== undefined && !FINISH_REASONS.has(event.finishReason as string)) return fail(index, `unknown finishReason ${String(event.finishReason)}`);
        if (inStep) return fail(index, 'finish with an open step');
        if (openText.size || openReasoning.size) return fail(index, 'finish with open blocks');
        for (const [id, tool] of tools) {
          if (tool.inputOpen) return fail(index, `tool ${id} never got its input`);
          if (tool.providerExecuted && tool.inputSettled === 'available' && tool.outputs === 0) return fail(index, `provider-executed tool ${id} never got an output`);
        }
        break;
      }
    }
  }
  const last = events[events.length - 1] as unknown as { type: string };
  if (last.type !== 'finish') return fail(events.length - 1, `the stream must end with finish, got ${last.type}`);
  return { valid: true };
}
