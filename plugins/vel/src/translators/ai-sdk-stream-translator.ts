// Why this file exists: AI SDK models stream `LanguageModelV4StreamPart`s — already close to Vel,
// but with tool calls as JSON text, results, sources and files in provider form. This maps them
// one to one while the writer keeps the stream valid.
import { usageFromAiSdk } from '@sluice/core';
import { toVelFinishReason } from '../finish-reasons.ts';
import { asRecord, asString, BaseTranslator, prop, str, type TranslatorOptions, type VelTranslator } from '../translator.ts';
import { errorText, writeBlockPart } from './ai-sdk-block-parts.ts';

function dataUrl(mediaType: string, data: unknown): string | undefined {
  const d = prop(data, 'type') === 'url' ? prop(data, 'url') : prop(data, 'type') === 'data' ? prop(data, 'data') : data;
  if (d instanceof URL) return d.href;
  if (typeof d === 'string') return /^[a-z]+:/i.test(d) ? d : `data:${mediaType};base64,${d}`;
  if (d instanceof Uint8Array) return `data:${mediaType};base64,${Buffer.from(d).toString('base64')}`;
  return undefined;
}

/** A V4 delta part's text. */
const deltaOf = (part: unknown): string => str(part, 'delta') ?? '';

/** Translates AI SDK V4 stream parts (`LanguageModelV4StreamPart`). */
export class AiSdkStreamTranslator extends BaseTranslator<unknown> {
  protected map(part: unknown, index: number): void {
    const w = this.writer;
    const record = asRecord(part);
    const type = asString(record?.type);
    // The hot case first, with plain property loads: one text delta per token.
    if (type === 'text-delta') {
      w.textDelta(asString(record!.id) ?? '0', asString(record!.delta) ?? '');
      return;
    }
    if (writeBlockPart(w, type, part, deltaOf)) return;
    switch (type) {
      case 'stream-start':
      case 'raw':
        // Nothing for the UI (the AI SDK reports the warnings itself): absorbed, not a skip.
        return;
      case 'response-metadata': {
        const id = str(part, 'id');
        const modelId = str(part, 'modelId');
        if (id) this.state.responseId = id;
        if (modelId) this.state.model = modelId;
        return;
      }
      case 'tool-input-start': {
        const id = str(part, 'id');
        const toolName = str(part, 'toolName');
        if (!id || !toolName) throw new Error('tool-input-start needs id and toolName');
        w.toolInputStart(id, toolName, { providerExecuted: prop(part, 'providerExecuted') === true, dynamic: prop(part, 'dynamic') === true });
        return;
      }
      case 'tool-call': {
        const toolCallId = str(part, 'toolCallId');
        const toolName = str(part, 'toolName');
        if (!toolCallId || !toolName) throw new Error('tool-call needs toolCallId and toolName');
        const input = prop(part, 'input');
        const options = { providerExecuted: prop(part, 'providerExecuted') === true, dynamic: prop(part, 'dynamic') === true };
        if (typeof input === 'string') w.toolInputFromText(toolCallId, toolName, input, options);
        else w.toolInputAvailable(toolCallId, toolName, input ?? {}, options);
        return;
      }
      case 'tool-result': {
        const toolCallId = str(part, 'toolCallId') ?? '';
        if (prop(part, 'preliminary') === true) {
          this.skip(index, 'preliminary tool result');
          return;
        }
        if (prop(part, 'isError') === true) w.toolOutputError(toolCallId, typeof prop(part, 'result') === 'string' ? (prop(part, 'result') as string) : JSON.stringify(prop(part, 'result')));
        else w.toolOutput(toolCallId, prop(part, 'result'));
        return;
      }
      case 'source': {
        const sourceType = str(part, 'sourceType');
        if (sourceType === 'url') w.sourceUrl(str(part, 'url') ?? '', str(part, 'title'), undefined);
        else if (sourceType === 'document') w.sourceDocument(str(part, 'mediaType') ?? 'application/octet-stream', str(part, 'title') ?? 'document', str(part, 'filename'));
        else this.skip(index, `source of unknown type ${String(sourceType)}`);
        return;
      }
      case 'file': {
        const mediaType = str(part, 'mediaType') ?? 'application/octet-stream';
        const url = dataUrl(mediaType, prop(part, 'data'));
        if (url) w.file(url, mediaType);
        else this.skip(index, 'file without usable data');
        return;
      }
      case 'finish': {
        this.state.usage = usageFromAiSdk(prop(part, 'usage'));
        const reason = prop(part, 'finishReason');
        this.state.finishReason = toVelFinishReason(typeof reason === 'string' ? reason : str(reason, 'unified')) ?? 'other';
        return;
      }
      case 'error': {
        w.error(errorText(prop(part, 'error')));
        this.state.finishReason = 'error';
        return;
      }
      default:
        this.skip(index, `unknown stream part type ${JSON.stringify(type)}`);
    }
  }
}

/** A translator for one AI SDK model stream. */
export function createAiSdkStreamTranslator(options?: TranslatorOptions): VelTranslator {
  return new AiSdkStreamTranslator(options);
}
