// Why this file exists: Gemini's `streamGenerateContent` sends whole `GenerateContentResponse`
// chunks — parts (text, thoughts, function calls, code execution, inline files), grounding
// metadata, a finish reason and cumulative usage — rather than typed deltas. This maps them onto
// the Vel protocol, including function calls whose arguments Vertex AI streams as `partialArgs`
// (JSON path + value) and prompts the API blocks before any candidate exists.
import type { Usage } from '@sluice/core';
import { toVelFinishReason } from '../finish-reasons.ts';
import { asRecord, asString, BaseTranslator, prop, str, type TranslatorOptions } from '../translator.ts';

/** A function call whose arguments arrive over several chunks (`willContinue` / `partialArgs`). */
interface StreamingCall {
  toolCallId: string;
  toolName: string;
  args: Record<string, unknown>;
  /** The JSON path of the string value still being continued, if any. */
  openString: string | undefined;
  /**
   * `openString`'s segments when the text sent ends inside that string, the last value of the
   * arguments: a chunk that only continues it appends its escaped text, without serializing the
   * arguments again (which made a long streamed argument cost quadratic time).
   */
  openTail: PathSegment[] | undefined;
  /** With `openTail`: the open string ends with a high surrogate (kept here: reading a character of a string built by `+` flattens it). */
  openEndsHigh: boolean;
  /** The argument text sent as `tool-input-delta`s so far: always a prefix of the final JSON. */
  sent: string;
  /** Set when an update rewrote text already sent (out-of-order paths): no more deltas, the final input still goes out. */
  deltasStopped: boolean;
}

type PathSegment = string | number;

/** Top-level fields of a `GenerateContentResponse` (or a streamed error); a chunk with none of them is not one. */
const KNOWN_FIELDS = ['candidates', 'usageMetadata', 'promptFeedback', 'responseId', 'modelVersion', 'error'];

function num(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `$.recipe.ingredients[0].name` or `$['a b'][2]` → segments; undefined when it is not such a path. */
function parseJsonPath(path: string): PathSegment[] | undefined {
  if (!path.startsWith('$')) return undefined;
  const segments: PathSegment[] = [];
  const pattern = /\.([^.[\]]+)|\[(\d+)\]|\[(?:'([^']*)'|"([^"]*)")\]/y;
  pattern.lastIndex = 1;
  while (pattern.lastIndex < path.length) {
    const match = pattern.exec(path);
    if (!match) return undefined;
    if (match[1] !== undefined) segments.push(match[1]);
    else if (match[2] !== undefined) segments.push(Number(match[2]));
    else segments.push(match[3] ?? match[4] ?? '');
  }
  return segments;
}

function getPath(root: Record<string, unknown>, segments: readonly PathSegment[]): unknown {
  let current: unknown = root;
  for (const segment of segments) {
    if (typeof current !== 'object' || current === null || !Object.hasOwn(current, segment)) return undefined;
    current = (current as Record<PathSegment, unknown>)[segment];
  }
  return current;
}

/** Sets a value at a path, creating objects and arrays on the way; own data properties only (`__proto__` is a plain key). */
function setPath(root: Record<string, unknown>, segments: readonly PathSegment[], value: unknown): void {
  let current: Record<PathSegment, unknown> = root;
  for (const [i, segment] of segments.entries()) {
    const last = i === segments.length - 1;
    let next = last ? value : current[segment];
    if (!last && (typeof next !== 'object' || next === null || !Object.hasOwn(current, segment))) next = typeof segments[i + 1] === 'number' ? [] : {};
    Object.defineProperty(current, segment, { value: next, enumerable: true, configurable: true, writable: true });
    if (!last) current = next as Record<PathSegment, unknown>;
  }
}

/** Whether the value at `segments` is the last one `JSON.stringify(root)` writes (each segment the last key or index of its container). */
function isLastValue(root: Record<string, unknown>, segments: readonly PathSegment[]): boolean {
  let current: unknown = root;
  for (const segment of segments) {
    if (typeof current !== 'object' || current === null) return false;
    if (Array.isArray(current)) {
      if (segment !== current.length - 1) return false;
    } else {
      const keys = Object.keys(current);
      if (keys[keys.length - 1] !== String(segment)) return false;
    }
    current = (current as Record<PathSegment, unknown>)[segment];
  }
  return true;
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}

function endsWithHighSurrogate(text: string): boolean {
  const code = text.charCodeAt(text.length - 1);
  return code >= 0xd800 && code <= 0xdbff;
}

/** Gemini usage → the normalized {@link Usage}; undefined when the metadata carries no token count. */
function normalizeUsage(meta: unknown): Usage | undefined {
  if (!isRecord(meta)) return undefined;
  const prompt = num(meta.promptTokenCount);
  const toolUsePrompt = num(meta.toolUsePromptTokenCount);
  const candidates = num(meta.candidatesTokenCount);
  const thoughts = num(meta.thoughtsTokenCount);
  const cached = num(meta.cachedContentTokenCount);
  const total = num(meta.totalTokenCount);
  if ([prompt, toolUsePrompt, candidates, thoughts, cached, total].every((n) => n === undefined)) return undefined;
  // Input: the prompt plus the prompt of tool use (code execution, search); cached tokens are part of the prompt.
  const inputTokens = prompt === undefined && toolUsePrompt === undefined ? undefined : (prompt ?? 0) + (toolUsePrompt ?? 0);
  // Output: Gemini counts thoughts apart from candidates; Vel's output includes reasoning.
  const outputTokens = candidates === undefined && thoughts === undefined ? undefined : (candidates ?? 0) + (thoughts ?? 0);
  return {
    inputTokens,
    outputTokens,
    totalTokens: total ?? (inputTokens !== undefined && outputTokens !== undefined ? inputTokens + outputTokens : undefined),
    cachedInputTokens: cached,
    cacheWriteInputTokens: undefined,
    reasoningTokens: thoughts,
  };
}

/** Translates Gemini `streamGenerateContent` chunks into Vel events. */
export class GeminiTranslator extends BaseTranslator<unknown> {
  #textKey: string | undefined;
  #reasoningKey: string | undefined;
  #blockSeq = 0;
  #streaming: StreamingCall | undefined;
  #lastCodeExecutionId: string | undefined;
  #lastServerToolId: string | undefined;
  #clientToolCalls = 0;
  #rawFinishReason: string | undefined;
  #promptBlocked = false;
  #extraCandidatesSkipped = false;
  readonly #sourceUrls = new Set<string>();

  protected map(chunk: unknown, index: number): void {
    if (!isRecord(chunk)) throw new Error('not a GenerateContentResponse object');
    if (!KNOWN_FIELDS.some((key) => key in chunk)) {
      this.skip(index, `not a GenerateContentResponse (keys: ${Object.keys(chunk).join(', ') || 'none'})`);
      return;
    }
    this.state.responseId = str(chunk, 'responseId') ?? this.state.responseId;
    this.state.model = str(chunk, 'modelVersion') ?? this.state.model;
    this.state.usage = normalizeUsage(chunk.usageMetadata) ?? this.state.usage;

    if (chunk.error !== undefined) {
      const message = str(chunk.error, 'message') ?? 'unknown error';
      const status = str(chunk.error, 'status');
      this.writer.error(status ? `${status}: ${message}` : message);
      this.state.finishReason = 'error';
      return;
    }

    const blockReason = str(chunk.promptFeedback, 'blockReason');
    if (blockReason && blockReason !== 'BLOCK_REASON_UNSPECIFIED' && !this.#promptBlocked) {
      this.#promptBlocked = true;
      const detail = str(chunk.promptFeedback, 'blockReasonMessage');
      this.writer.error(`Gemini blocked the prompt: ${blockReason}${detail ? ` (${detail})` : ''}`);
      this.state.finishReason = 'content-filter';
    }
    if (chunk.candidates === undefined) return;
    if (this.#promptBlocked) {
      this.skip(index, 'candidate content after the prompt was blocked');
      return;
    }
    if (!Array.isArray(chunk.candidates)) throw new Error('candidates is not an array');
    if (chunk.candidates.length > 1 && !this.#extraCandidatesSkipped) {
      this.#extraCandidatesSkipped = true;
      this.skip(index, 'only the first candidate is translated');
    }
    const candidate: unknown = chunk.candidates[0];
    if (candidate === undefined) return;

    const parts = prop(prop(candidate, 'content'), 'parts');
    if (parts !== undefined && !Array.isArray(parts)) throw new Error('content.parts is not an array');
    for (const part of parts ?? []) this.#part(part, index);

    const groundingChunks = prop(prop(candidate, 'groundingMetadata'), 'groundingChunks');
    if (Array.isArray(groundingChunks)) {
      for (const grounding of groundingChunks) {
        const source = prop(grounding, 'web') ?? prop(grounding, 'retrievedContext') ?? prop(grounding, 'maps');
        const uri = str(source, 'uri');
        if (uri && !this.#sourceUrls.has(uri)) {
          this.#sourceUrls.add(uri);
          this.writer.sourceUrl(uri, str(source, 'title'));
        }
      }
    }

    const finishReason = str(candidate, 'finishReason');
    if (finishReason) {
      // The model is done: a call still streaming its arguments has them all.
      this.#finishStreamingCall();
      this.#rawFinishReason = finishReason;
      this.#applyFinishReason();
    }
  }

  protected override beforeFinish(): void {
    this.#applyFinishReason();
  }

  /** Gemini says STOP after function calls too; Vel says `tool-calls` when the client has calls to run. */
  #applyFinishReason(): void {
    if (this.#rawFinishReason === undefined || this.state.finishReason === 'error' || this.#promptBlocked) return;
    const reason = toVelFinishReason(this.#rawFinishReason);
    this.state.finishReason = reason === 'stop' && this.#clientToolCalls > 0 ? 'tool-calls' : reason;
  }

  #part(part: unknown, index: number): void {
    if (!isRecord(part)) throw new Error('a part is not an object');
    if (typeof part.text === 'string') {
      if (part.text === '') return; // an empty part carrying a thought signature
      if (part.thought === true) {
        this.#closeText();
        this.#reasoningKey ??= String(this.#blockSeq++);
        this.writer.reasoningDelta(this.#reasoningKey, part.text);
      } else {
        this.#closeReasoning();
        this.#textKey ??= String(this.#blockSeq++);
        this.writer.textDelta(this.#textKey, part.text);
      }
      return;
    }
    if (part.functionCall !== undefined) {
      this.#functionCall(part.functionCall, index);
      return;
    }
    if (part.executableCode !== undefined) {
      const code = str(part.executableCode, 'code');
      if (!code) throw new Error('executableCode without code');
      this.#closeBlocks();
      const toolCallId = this.writer.nextId('call');
      this.#lastCodeExecutionId = toolCallId;
      this.writer.toolInputAvailable(toolCallId, 'code_execution', { language: str(part.executableCode, 'language') ?? 'PYTHON', code }, { providerExecuted: true });
      return;
    }
    if (part.codeExecutionResult !== undefined) {
      const toolCallId = this.#lastCodeExecutionId;
      this.#lastCodeExecutionId = undefined;
      if (!toolCallId || !this.writer.awaitingOutput(toolCallId)) {
        this.skip(index, 'codeExecutionResult without a preceding executableCode');
        return;
      }
      this.writer.toolOutput(toolCallId, { outcome: str(part.codeExecutionResult, 'outcome'), output: str(part.codeExecutionResult, 'output') ?? '' });
      return;
    }
    if (part.toolCall !== undefined) {
      // Built-in tools Gemini runs itself when combined with function calling.
      this.#closeBlocks();
      const toolCallId = str(part.toolCall, 'id') ?? this.writer.nextId('call');
      this.#lastServerToolId = toolCallId;
      const args = prop(part.toolCall, 'args');
      this.writer.toolInputAvailable(toolCallId, str(part.toolCall, 'toolType') ?? 'server_tool', isRecord(args) ? args : {}, { providerExecuted: true });
      return;
    }
    if (part.toolResponse !== undefined) {
      const toolCallId = this.#lastServerToolId ?? str(part.toolResponse, 'id');
      this.#lastServerToolId = undefined;
      if (!toolCallId || !this.writer.awaitingOutput(toolCallId)) {
        this.skip(index, 'toolResponse without a preceding toolCall');
        return;
      }
      this.writer.toolOutput(toolCallId, prop(part.toolResponse, 'response') ?? {});
      return;
    }
    if (part.inlineData !== undefined || part.fileData !== undefined) {
      const file = part.inlineData ?? part.fileData;
      const mediaType = str(file, 'mimeType');
      const url = part.inlineData !== undefined ? `data:${mediaType};base64,${str(file, 'data') ?? ''}` : str(file, 'fileUri');
      if (!mediaType || !url) throw new Error('a file part without mimeType or data');
      if (part.thought === true) {
        this.skip(index, 'a thought file (not part of the answer)');
        return;
      }
      this.#closeBlocks();
      this.writer.file(url, mediaType);
      return;
    }
    if (part.thoughtSignature !== undefined) return; // a signature alone: nothing to show
    this.skip(index, `unsupported part with keys ${Object.keys(part).join(', ')}`);
  }

  /**
   * Three shapes: a complete call (`name`, `args`), a call with no arguments (`name` alone), or a
   * streamed call (`name` + `willContinue`, then `partialArgs` chunks, then an empty `{}` or a
   * chunk where nothing continues).
   */
  #functionCall(call: unknown, index: number): void {
    if (!isRecord(call)) throw new Error('functionCall is not an object');
    const name = str(call, 'name');
    const willContinue = call.willContinue === true;
    const partialArgs = call.partialArgs;
    if (partialArgs !== undefined && !Array.isArray(partialArgs)) throw new Error('functionCall.partialArgs is not an array');
    const ends = !willContinue && (partialArgs ?? []).every((arg: unknown) => prop(arg, 'willContinue') !== true);

    if (name !== undefined && (willContinue || partialArgs !== undefined)) {
      this.#finishStreamingCall();
      this.#closeBlocks();
      const toolCallId = str(call, 'id') ?? this.writer.nextId('call');
      if (this.writer.hasTool(toolCallId)) {
        this.skip(index, `function call ${toolCallId} started a second time`);
        return;
      }
      this.#streaming = { toolCallId, toolName: name, args: {}, openString: undefined, openTail: undefined, openEndsHigh: false, sent: '', deltasStopped: false };
      this.writer.toolInputStart(toolCallId, name);
      if (partialArgs) this.#applyPartialArgs(partialArgs, index);
      if (ends) this.#finishStreamingCall();
      return;
    }
    if (name === undefined) {
      if (partialArgs !== undefined) {
        if (!this.#streaming) {
          this.skip(index, 'partialArgs without a streaming function call');
          return;
        }
        this.#applyPartialArgs(partialArgs, index);
        if (ends) this.#finishStreamingCall();
        return;
      }
      if (willContinue) return; // keep-alive of a streaming call
      if (call.args === undefined && this.#streaming) {
        this.#finishStreamingCall(); // the empty terminal `{}`
        return;
      }
      this.skip(index, 'functionCall without a name');
      return;
    }

    this.#finishStreamingCall();
    this.#closeBlocks();
    const toolCallId = str(call, 'id') ?? this.writer.nextId('call');
    if (this.writer.hasTool(toolCallId)) {
      this.skip(index, `function call ${toolCallId} a second time`);
      return;
    }
    this.#clientToolCalls++;
    if (typeof call.args === 'string') this.writer.toolInputFromText(toolCallId, name, call.args);
    else this.writer.toolInputAvailable(toolCallId, name, isRecord(call.args) ? call.args : {});
  }

  #applyPartialArgs(partialArgs: readonly unknown[], index: number): void {
    const call = this.#streaming;
    if (!call) return;
    if (partialArgs.length === 1 && this.#continueTail(call, partialArgs[0])) return;
    for (const arg of partialArgs) {
      const path = str(arg, 'jsonPath');
      const segments = path === undefined ? undefined : parseJsonPath(path);
      if (path === undefined || !segments || segments.length === 0) {
        this.skip(index, `partial argument with an unusable jsonPath ${JSON.stringify(path)}`);
        continue;
      }
      const stringValue = str(arg, 'stringValue');
      let value: unknown;
      if (stringValue !== undefined) {
        const previous = call.openString === path ? getPath(call.args, segments) : undefined;
        value = (typeof previous === 'string' ? previous : '') + stringValue;
        call.openString = prop(arg, 'willContinue') === true ? path : undefined;
      } else {
        call.openString = undefined;
        const numberValue = num(prop(arg, 'numberValue'));
        const boolValue = prop(arg, 'boolValue');
        if (numberValue !== undefined) value = numberValue;
        else if (typeof boolValue === 'boolean') value = boolValue;
        else if (isRecord(arg) && 'nullValue' in arg) value = null;
        else {
          this.skip(index, `partial argument ${path} without a value`);
          continue;
        }
      }
      setPath(call.args, segments, value);
    }
    this.#sendArgsDelta(call);
  }

  /**
   * Sends the arguments as JSON text growing only at its end: the serialization of what arrived,
   * minus closing brackets and the quote of a string still being continued. Concatenated, the
   * deltas are the final JSON.
   */
  #sendArgsDelta(call: StreamingCall): void {
    call.openTail = undefined;
    if (call.deltasStopped) return;
    let text = JSON.stringify(call.args).replace(/[\]}]+$/, '');
    if (call.openString !== undefined) text = text.slice(0, -1);
    if (!text.startsWith(call.sent)) {
      call.deltasStopped = true;
      return;
    }
    this.writer.toolInputDelta(call.toolCallId, text.slice(call.sent.length));
    call.sent = text;
    if (call.openString !== undefined) {
      const segments = parseJsonPath(call.openString);
      const value = segments && isLastValue(call.args, segments) ? getPath(call.args, segments) : undefined;
      if (typeof value === 'string') {
        call.openTail = segments!;
        call.openEndsHigh = endsWithHighSurrogate(value);
      }
    }
  }

  /**
   * A chunk that only continues the string the sent text ends in (and keeps it open): the delta is
   * the chunk's escaped text, exactly what serializing the arguments again would add. Declines
   * (returns false) anything else, and a surrogate pair split across chunks, which serializes
   * differently in halves.
   */
  #continueTail(call: StreamingCall, arg: unknown): boolean {
    const segments = call.openTail;
    if (segments === undefined || call.deltasStopped) return false;
    const record = asRecord(arg);
    const chunk = asString(record?.stringValue);
    if (chunk === undefined || record!.willContinue !== true || record!.jsonPath !== call.openString) return false;
    if (call.openEndsHigh || endsWithHighSurrogate(chunk) || isLowSurrogate(chunk.charCodeAt(0))) return false;
    const previous = getPath(call.args, segments);
    if (typeof previous !== 'string') return false;
    setPath(call.args, segments, previous + chunk);
    const delta = JSON.stringify(chunk).slice(1, -1);
    if (delta !== '') this.writer.toolInputDelta(call.toolCallId, delta);
    call.sent += delta;
    return true;
  }

  #finishStreamingCall(): void {
    const call = this.#streaming;
    if (!call) return;
    this.#streaming = undefined;
    const final = JSON.stringify(call.args);
    if (!call.deltasStopped && final.startsWith(call.sent)) this.writer.toolInputDelta(call.toolCallId, final.slice(call.sent.length));
    this.#clientToolCalls++;
    this.writer.toolInputAvailable(call.toolCallId, call.toolName, call.args);
  }

  #closeText(): void {
    if (this.#textKey === undefined) return;
    this.writer.textEnd(this.#textKey);
    this.#textKey = undefined;
  }

  #closeReasoning(): void {
    if (this.#reasoningKey === undefined) return;
    this.writer.reasoningEnd(this.#reasoningKey);
    this.#reasoningKey = undefined;
  }

  /** Text and reasoning end where another kind of part begins, so the message keeps the parts' order. */
  #closeBlocks(): void {
    this.#closeText();
    this.#closeReasoning();
  }
}

/**
 * A translator for one Gemini `streamGenerateContent` response: push each chunk (a parsed
 * `GenerateContentResponse`), then `finish()`.
 *
 * @example
 * const translator = createGeminiTranslator({ idPrefix: 'call-1' });
 * for (const chunk of chunks) send(translator.push(chunk));
 * send(translator.finish());
 */
export function createGeminiTranslator(options: TranslatorOptions = {}): GeminiTranslator {
  return new GeminiTranslator(options);
}
