// Why this file exists: `streamText` runs several model calls (steps) and executes tools between
// them; its `fullStream` (TextStreamPart) is the whole multi-step run. This translates it into one
// Vel message — a step per model call, tool outputs from the executed tools — like the Agents run
// translator does for Agents SDK runs.
import { usageFromLanguageModelUsage } from '@sluice/core';
import { toVelFinishReason } from '../finish-reasons.ts';
import { BaseTranslator, prop, str, type TranslatorOptions, type VelTranslator } from '../translator.ts';
import { errorText, writeBlockPart } from './ai-sdk-block-parts.ts';

/** A fullStream delta part's text (`text`; `delta` in older part shapes). */
const deltaOf = (part: unknown): string => str(part, 'text') ?? str(part, 'delta') ?? '';

/** Translates `streamText(...).fullStream` parts into one Vel message. */
export class AiSdkTextStreamTranslator extends BaseTranslator<unknown> {
  constructor(options: TranslatorOptions = {}) {
    // Tools called here are executed by streamText (or fail), so each owes an output.
    super({ ...options, toolsExecuted: true });
  }

  protected map(part: unknown, index: number): void {
    const w = this.writer;
    const type = str(part, 'type');
    if (writeBlockPart(w, type, part, deltaOf)) return;
    switch (type) {
      case 'start':
        w.start();
        return;
      case 'start-step':
        w.startStep();
        return;
      case 'finish-step': {
        const response = prop(part, 'response');
        this.state.responseId = str(response, 'id') ?? this.state.responseId;
        this.state.model = str(response, 'modelId') ?? this.state.model;
        w.finishStep();
        return;
      }
      case 'tool-input-start':
        w.toolInputStart(str(part, 'id') ?? '', str(part, 'toolName') ?? 'unknown', { providerExecuted: prop(part, 'providerExecuted') === true, dynamic: prop(part, 'dynamic') === true });
        return;
      case 'tool-call': {
        const toolCallId = str(part, 'toolCallId');
        if (!toolCallId) throw new Error('tool-call without toolCallId');
        const toolName = str(part, 'toolName') ?? 'unknown';
        const options = { providerExecuted: prop(part, 'providerExecuted') === true, dynamic: prop(part, 'dynamic') === true };
        if (prop(part, 'invalid') === true) w.toolInputError(toolCallId, toolName, prop(part, 'input'), errorText(prop(part, 'error')));
        else w.toolInputAvailable(toolCallId, toolName, prop(part, 'input') ?? {}, options);
        return;
      }
      case 'tool-result':
        if (prop(part, 'preliminary') === true) return this.skip(index, 'preliminary tool result');
        w.toolOutput(str(part, 'toolCallId') ?? '', prop(part, 'output'));
        return;
      case 'tool-error':
        w.toolOutputError(str(part, 'toolCallId') ?? '', errorText(prop(part, 'error')));
        return;
      case 'source':
        if (str(part, 'sourceType') === 'url') w.sourceUrl(str(part, 'url') ?? '', str(part, 'title'));
        else w.sourceDocument(str(part, 'mediaType') ?? 'application/octet-stream', str(part, 'title') ?? 'document', str(part, 'filename'));
        return;
      case 'finish':
        this.state.usage = usageFromLanguageModelUsage(prop(part, 'totalUsage'));
        this.state.finishReason = toVelFinishReason(str(part, 'finishReason')) ?? 'other';
        return;
      case 'error':
        w.error(errorText(prop(part, 'error')));
        this.state.finishReason = 'error';
        return;
      case 'abort':
        this.skip(index, 'abort is handled by abort()');
        return;
      default:
        this.skip(index, `stream part ${JSON.stringify(type)} has no Vel form`);
    }
  }
}

/** A translator for a whole `streamText` run (`fullStream`). */
export function createAiSdkTextStreamTranslator(options?: TranslatorOptions): VelTranslator {
  return new AiSdkTextStreamTranslator(options);
}
