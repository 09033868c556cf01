// Why this file exists: the Anthropic Messages API streams typed events — `message_start`, then
// `content_block_start|delta|stop` per block index (text, thinking, client and server tool calls,
// server tool results), `message_delta` with the stop reason and final usage, `message_stop`,
// `ping`, `error`. This maps them onto the Vel protocol so an Anthropic call reaches `useChat`
// like any other provider. The writer keeps the stream valid; this file only decides what each
// native event means.
import type { Usage } from '@sluice/core';
import { toVelFinishReason } from '../finish-reasons.ts';
import { BaseTranslator, prop, str, type TranslatorOptions } from '../translator.ts';

/** What one content block index turned into. */
interface Block {
  kind: 'text' | 'reasoning' | 'tool' | 'result' | 'unsupported';
  /** The writer key of a text or reasoning block. */
  key: string;
  /** Between `content_block_start` and `content_block_stop`. */
  open: boolean;
  toolCallId?: string;
  toolName?: string;
  providerExecuted?: boolean;
  /** The `input` object of the start block (used when no `input_json_delta` carries the input). */
  startInput?: unknown;
  /** The accumulated `input_json_delta` text. */
  json: string;
  /** The thinking block's signature (kept so a caller can read it; not part of the Vel stream). */
  signature?: string;
}

/** The raw Anthropic usage counters, merged across `message_start` and `message_delta`. */
interface RawUsage {
  input_tokens?: number;
  output_tokens?: number;
  cache_read_input_tokens?: number;
  cache_creation_input_tokens?: number;
  thinking_tokens?: number;
}

const USAGE_KEYS = ['input_tokens', 'output_tokens', 'cache_read_input_tokens', 'cache_creation_input_tokens'] as const;

/** Tool-use block types whose tool the provider runs itself (its result block follows in the stream). */
const PROVIDER_TOOL_BLOCKS = new Set(['server_tool_use', 'mcp_tool_use']);

function num(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Anthropic usage → the normalized {@link Usage}: input counts uncached, cache-read and
 * cache-write tokens (Anthropic reports them apart); output already includes thinking.
 */
function normalizeUsage(raw: RawUsage): Usage | undefined {
  const parts = [raw.input_tokens, raw.cache_read_input_tokens, raw.cache_creation_input_tokens];
  const inputTokens = parts.every((n) => n === undefined) ? undefined : parts.reduce<number>((sum, n) => sum + (n ?? 0), 0);
  const outputTokens = raw.output_tokens;
  if (inputTokens === undefined && outputTokens === undefined) return undefined;
  return {
    inputTokens,
    outputTokens,
    totalTokens: inputTokens !== undefined && outputTokens !== undefined ? inputTokens + outputTokens : undefined,
    cachedInputTokens: raw.cache_read_input_tokens,
    cacheWriteInputTokens: raw.cache_creation_input_tokens,
    reasoningTokens: raw.thinking_tokens,
  };
}

/** The error text of a server tool result whose content is an error object (`*_error`), or of an MCP result with `is_error`. */
function resultError(block: unknown, content: unknown): string | undefined {
  const contentType = str(content, 'type');
  if (contentType?.endsWith('_error')) {
    const code = str(content, 'error_code') ?? str(content, 'message');
    return code ? `${contentType}: ${code}` : contentType;
  }
  if (prop(block, 'is_error') === true) {
    const text = Array.isArray(content) ? content.map((part) => str(part, 'text') ?? '').join('') : typeof content === 'string' ? content : '';
    return text || 'the tool reported an error';
  }
  return undefined;
}

/** Translates Anthropic Messages stream events into Vel events. */
export class AnthropicMessagesTranslator extends BaseTranslator<unknown> {
  readonly #blocks = new Map<number, Block>();
  readonly #rawUsage: RawUsage = {};
  readonly #sourceKeys = new Set<string>();
  #messageStarted = false;

  /** The signatures of the thinking blocks seen so far, by block index (Anthropic needs them back on the next turn). */
  get thinkingSignatures(): ReadonlyMap<number, string> {
    const out = new Map<number, string>();
    for (const [index, block] of this.#blocks) if (block.signature) out.set(index, block.signature);
    return out;
  }

  protected map(event: unknown, index: number): void {
    const type = str(event, 'type');
    switch (type) {
      case 'message_start':
        this.#messageStart(event, index);
        return;
      case 'content_block_start':
        this.#blockStart(event, index);
        return;
      case 'content_block_delta':
        this.#blockDelta(event, index);
        return;
      case 'content_block_stop':
        this.#blockStop(event, index);
        return;
      case 'message_delta':
        this.#messageDelta(event);
        return;
      case 'message_stop':
      case 'ping':
        // message_stop: the writer closes the stream at finish(); ping is a keep-alive.
        return;
      case 'error':
        this.#error(event);
        return;
      default:
        this.skip(index, type === undefined ? 'not an Anthropic stream event (no type)' : `unknown event type "${type}"`);
    }
  }

  #messageStart(event: unknown, index: number): void {
    if (this.#messageStarted) {
      this.skip(index, 'duplicate message_start');
      return;
    }
    const message = prop(event, 'message');
    if (!isRecord(message)) throw new Error('message_start without a message object');
    this.#messageStarted = true;
    this.state.responseId = str(message, 'id') ?? this.state.responseId;
    this.state.model = str(message, 'model') ?? this.state.model;
    this.#mergeUsage(message.usage, false);
    this.writer.startStep();
  }

  #blockIndex(event: unknown): number {
    const blockIndex = prop(event, 'index');
    if (typeof blockIndex !== 'number') throw new Error(`${str(event, 'type')} without a numeric index`);
    return blockIndex;
  }

  #blockStart(event: unknown, index: number): void {
    const blockIndex = this.#blockIndex(event);
    if (this.#blocks.has(blockIndex)) {
      this.skip(index, `duplicate content_block_start for block ${blockIndex}`);
      return;
    }
    const content = prop(event, 'content_block');
    const blockType = str(content, 'type');
    if (blockType === undefined) throw new Error('content_block_start without a typed content_block');
    const key = String(blockIndex);
    const block: Block = { kind: 'unsupported', key, open: true, json: '' };

    if (blockType === 'text') {
      block.kind = 'text';
      this.writer.textDelta(key, str(content, 'text') ?? '');
    } else if (blockType === 'thinking' || blockType === 'redacted_thinking') {
      // Opened at once: a block may carry only a signature, or (redacted) no readable text at all.
      block.kind = 'reasoning';
      this.writer.reasoningStart(key);
      this.writer.reasoningDelta(key, str(content, 'thinking') ?? '');
      const signature = str(content, 'signature');
      if (signature) block.signature = signature;
    } else if (blockType === 'tool_use' || PROVIDER_TOOL_BLOCKS.has(blockType)) {
      const toolCallId = str(content, 'id');
      const toolName = str(content, 'name');
      if (!toolCallId || !toolName) throw new Error(`${blockType} block without id or name`);
      if (this.writer.hasTool(toolCallId)) {
        this.#blocks.set(blockIndex, { ...block, open: false });
        this.skip(index, `tool call ${toolCallId} started a second time`);
        return;
      }
      Object.assign(block, { kind: 'tool', toolCallId, toolName, providerExecuted: blockType !== 'tool_use', startInput: prop(content, 'input') });
      this.writer.toolInputStart(toolCallId, toolName, { providerExecuted: block.providerExecuted ?? false });
    } else if (blockType.endsWith('_tool_result')) {
      block.kind = 'result';
      this.#toolResult(content, index);
    } else {
      this.skip(index, `unsupported content block type "${blockType}"`);
    }
    this.#blocks.set(blockIndex, block);
  }

  /** A server (or MCP) tool result: complete in its start block. */
  #toolResult(content: unknown, index: number): void {
    const toolCallId = str(content, 'tool_use_id');
    if (!toolCallId) throw new Error(`${str(content, 'type')} without tool_use_id`);
    if (!this.writer.awaitingOutput(toolCallId)) {
      this.skip(index, `result for tool call ${toolCallId}, which is not waiting for one`);
      return;
    }
    const output = prop(content, 'content');
    const errorText = resultError(content, output);
    if (errorText !== undefined) {
      this.writer.toolOutputError(toolCallId, errorText);
      return;
    }
    this.writer.toolOutput(toolCallId, output);
    if (Array.isArray(output)) {
      for (const result of output) {
        const url = str(result, 'url');
        if (str(result, 'type') === 'web_search_result' && url) this.#sourceUrl(url, str(result, 'title'));
      }
    }
  }

  #blockDelta(event: unknown, index: number): void {
    const blockIndex = this.#blockIndex(event);
    const block = this.#blocks.get(blockIndex);
    if (!block) {
      this.skip(index, `content_block_delta for block ${blockIndex}, which never started`);
      return;
    }
    if (!block.open) {
      this.skip(index, `content_block_delta for block ${blockIndex} after its stop`);
      return;
    }
    const delta = prop(event, 'delta');
    const deltaType = str(delta, 'type');
    if (deltaType === 'text_delta' && block.kind === 'text') {
      this.writer.textDelta(block.key, str(delta, 'text') ?? '');
    } else if (deltaType === 'citations_delta') {
      this.#citation(prop(delta, 'citation'), index);
    } else if (deltaType === 'thinking_delta' && block.kind === 'reasoning') {
      this.writer.reasoningDelta(block.key, str(delta, 'thinking') ?? '');
    } else if (deltaType === 'signature_delta' && block.kind === 'reasoning') {
      block.signature = (block.signature ?? '') + (str(delta, 'signature') ?? '');
    } else if (deltaType === 'input_json_delta' && block.kind === 'tool' && block.toolCallId) {
      const partial = str(delta, 'partial_json') ?? '';
      block.json += partial;
      this.writer.toolInputDelta(block.toolCallId, partial);
    } else {
      this.skip(index, `${deltaType ?? 'untyped'} delta for a ${block.kind} block`);
    }
  }

  #citation(citation: unknown, index: number): void {
    const type = str(citation, 'type');
    const title = str(citation, 'title') ?? str(citation, 'document_title');
    switch (type) {
      case 'web_search_result_location': {
        const url = str(citation, 'url');
        if (!url) throw new Error('web_search_result_location citation without url');
        this.#sourceUrl(url, title);
        return;
      }
      case 'search_result_location': {
        const source = str(citation, 'source') ?? '';
        if (/^https?:\/\//.test(source)) this.#sourceUrl(source, title);
        else this.#sourceDocument('text/plain', title ?? (source || 'search result'), `search:${source}:${title ?? ''}`);
        return;
      }
      case 'char_location':
      case 'page_location':
      case 'content_block_location': {
        const documentIndex = num(prop(citation, 'document_index'));
        const mediaType = type === 'page_location' ? 'application/pdf' : 'text/plain';
        this.#sourceDocument(mediaType, title ?? `document ${documentIndex ?? '?'}`, `doc:${documentIndex ?? ''}:${title ?? ''}`);
        return;
      }
      default:
        this.skip(index, `unsupported citation type "${type ?? 'untyped'}"`);
    }
  }

  /** One `source-url` per url: web search results and the citations into them name the same pages. */
  #sourceUrl(url: string, title: string | undefined): void {
    if (this.#sourceKeys.has(`url:${url}`)) return;
    this.#sourceKeys.add(`url:${url}`);
    this.writer.sourceUrl(url, title);
  }

  /** One `source-document` per cited document, however many passages of it are cited. */
  #sourceDocument(mediaType: string, title: string, dedupeKey: string): void {
    if (this.#sourceKeys.has(dedupeKey)) return;
    this.#sourceKeys.add(dedupeKey);
    this.writer.sourceDocument(mediaType, title);
  }

  #blockStop(event: unknown, index: number): void {
    const blockIndex = this.#blockIndex(event);
    const block = this.#blocks.get(blockIndex);
    if (!block) {
      this.skip(index, `content_block_stop for block ${blockIndex}, which never started`);
      return;
    }
    if (!block.open) {
      this.skip(index, `duplicate content_block_stop for block ${blockIndex}`);
      return;
    }
    block.open = false;
    switch (block.kind) {
      case 'text':
        this.writer.textEnd(block.key);
        return;
      case 'reasoning':
        this.writer.reasoningEnd(block.key);
        return;
      case 'tool':
        this.#settleToolInput(block);
        return;
      default:
        return;
    }
  }

  /** The input is the accumulated JSON text, or the start block's `input` when no delta carried any. */
  #settleToolInput(block: Block): void {
    const { toolCallId, toolName } = block;
    if (!toolCallId || !toolName) return;
    const options = { providerExecuted: block.providerExecuted ?? false };
    if (block.json.trim() !== '') this.writer.toolInputFromText(toolCallId, toolName, block.json, options);
    else this.writer.toolInputAvailable(toolCallId, toolName, isRecord(block.startInput) ? block.startInput : {}, options);
  }

  #messageDelta(event: unknown): void {
    const reason = toVelFinishReason(str(prop(event, 'delta'), 'stop_reason'));
    if (reason && this.state.finishReason !== 'error') this.state.finishReason = reason;
    this.#mergeUsage(prop(event, 'usage'));
  }

  #error(event: unknown): void {
    const error = prop(event, 'error');
    const message = str(error, 'message') ?? 'unknown error';
    const type = str(error, 'type');
    this.writer.error(type ? `${type}: ${message}` : message);
    this.state.finishReason = 'error';
  }

  /**
   * message_delta's counts are final and replace earlier ones (it carries the output and, lately,
   * the input counts); message_start's only fill what is still unknown, should it arrive late.
   */
  #mergeUsage(usage: unknown, final = true): void {
    if (!isRecord(usage)) return;
    const set = (key: keyof RawUsage, value: number | undefined) => {
      if (value !== undefined && (final || this.#rawUsage[key] === undefined)) this.#rawUsage[key] = value;
    };
    for (const key of USAGE_KEYS) set(key, num(usage[key]));
    set('thinking_tokens', num(prop(usage.output_tokens_details, 'thinking_tokens')));
    this.state.usage = normalizeUsage(this.#rawUsage) ?? this.state.usage;
  }
}

/**
 * A translator for one Anthropic Messages stream: push each SSE `data` payload (parsed), then
 * `finish()`.
 *
 * @example
 * const translator = createAnthropicMessagesTranslator({ idPrefix: 'call-1' });
 * for (const event of nativeEvents) send(translator.push(event));
 * send(translator.finish());
 */
export function createAnthropicMessagesTranslator(options: TranslatorOptions = {}): AnthropicMessagesTranslator {
  return new AnthropicMessagesTranslator(options);
}
