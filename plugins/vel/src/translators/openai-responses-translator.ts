// Why this file exists: the Responses API streams typed events about output *items* (messages,
// reasoning, function calls, tools OpenAI runs itself) rather than one delta per chunk. Items are
// announced, streamed and completed with their final content — which is authoritative when deltas
// were lost — and some gateways rotate item ids mid-item. This maps all of it to Vel while the
// writer keeps the stream valid.
import { usageFromResponses } from '@sluice/core';
import { toVelFinishReason } from '../finish-reasons.ts';
import { asRecord, asString, BaseTranslator, prop, str, type TranslatorOptions, type VelTranslator } from '../translator.ts';

/**
 * Output items the client must act on (run the call, or answer the approval request), by item
 * type → tool name (`undefined`: the item's own `name`). Their presence makes the finish reason `tool-calls`.
 */
const CLIENT_TOOLS = new Map<string, string | undefined>([
  ['function_call', undefined],
  ['custom_tool_call', undefined],
  ['computer_call', 'computer'],
  ['local_shell_call', 'local_shell'],
  ['shell_call', 'shell'],
  ['apply_patch_call', 'apply_patch'],
  ['mcp_approval_request', 'mcp_approval_request'],
]);

/** Output items OpenAI executes itself, by item type → tool name (the name of the tool in the request). */
const PROVIDER_TOOLS = new Map<string, string>([
  ['web_search_call', 'web_search'],
  ['file_search_call', 'file_search'],
  ['code_interpreter_call', 'code_interpreter'],
  ['image_generation_call', 'image_generation'],
  ['mcp_call', 'mcp'],
  ['mcp_list_tools', 'mcp_list_tools'],
]);

/** Output items that carry nothing a UI message holds. */
const IGNORED_ITEMS = new Set(['compaction', 'additional_tools', 'mcp_approval_response', 'tool_search_call', 'tool_search_output', 'program', 'program_output']);

/**
 * Events that carry nothing new (their content arrives again, complete, with
 * `response.output_item.done`), by type → why. They are absorbed without a record in
 * `state.skipped`, which lists only events the translator could not use: every stream has some of
 * these, and a record kept per call in flight costs ~100 bytes.
 */
const PROGRESS_NOTES = new Map<string, string>([
  ['response.content_part.added', 'opens a content part; its text starts with the first delta'],
  ['response.reasoning_summary_part.added', 'opens a summary part; its text starts with the first delta'],
  ['response.web_search_call.in_progress', 'tool progress; the result arrives with response.output_item.done'],
  ['response.web_search_call.searching', 'tool progress; the result arrives with response.output_item.done'],
  ['response.web_search_call.completed', 'tool progress; the result arrives with response.output_item.done'],
  ['response.file_search_call.in_progress', 'tool progress; the result arrives with response.output_item.done'],
  ['response.file_search_call.searching', 'tool progress; the result arrives with response.output_item.done'],
  ['response.file_search_call.completed', 'tool progress; the result arrives with response.output_item.done'],
  ['response.code_interpreter_call.in_progress', 'tool progress; the result arrives with response.output_item.done'],
  ['response.code_interpreter_call.interpreting', 'tool progress; the result arrives with response.output_item.done'],
  ['response.code_interpreter_call.completed', 'tool progress; the result arrives with response.output_item.done'],
  ['response.image_generation_call.in_progress', 'tool progress; the image arrives with response.output_item.done'],
  ['response.image_generation_call.generating', 'tool progress; the image arrives with response.output_item.done'],
  ['response.image_generation_call.completed', 'tool progress; the image arrives with response.output_item.done'],
  ['response.image_generation_call.partial_image', 'partial image previews are not forwarded; the final image arrives with response.output_item.done'],
  ['response.mcp_call.in_progress', 'tool progress; the result arrives with response.output_item.done'],
  ['response.mcp_call.completed', 'tool progress; the result arrives with response.output_item.done'],
  ['response.mcp_call.failed', 'tool progress; the error arrives with response.output_item.done'],
  ['response.mcp_list_tools.in_progress', 'tool progress; the tool list arrives with response.output_item.done'],
  ['response.mcp_list_tools.completed', 'tool progress; the tool list arrives with response.output_item.done'],
  ['response.mcp_list_tools.failed', 'tool progress; the error arrives with response.output_item.done'],
  ['response.shell_call_command.added', 'shell commands arrive with response.output_item.done'],
  ['response.shell_call_command.delta', 'shell commands arrive with response.output_item.done'],
  ['response.shell_call_command.done', 'shell commands arrive with response.output_item.done'],
]);

/** One output item, known by its output index (stable) and every id it was seen under (ids may rotate). */
interface OutputItem {
  outputIndex: number | undefined;
  /** Key of its text/reasoning blocks: the first id it was seen under, or its output index. */
  key: string;
  type: string;
  /** Tool items: the Vel tool call id (`call_id` for client tools, the item id for provider tools). */
  toolCallId: string | undefined;
  toolName: string | undefined;
  /** Raw input streamed so far: function arguments, custom tool input, MCP arguments, interpreter code. */
  inputText: string;
  /** Code interpreter: the container, part of its input. */
  containerId: string | undefined;
  /**
   * Its text and reasoning blocks, in the order they opened: the first here (a message has one
   * text block, a reasoning item one summary), the others in `moreBlocks`, made on the second.
   * The first is also where a delta looks first.
   */
  block: StreamedBlock | undefined;
  moreBlocks: StreamedBlock[] | undefined;
  done: boolean;
  /** The text key of the content index seen last (`${key}:${contentIndex}`), kept so each delta reuses one string. */
  lastTextKey: string | undefined;
  lastContentIndex: number;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function integer(value: unknown, key: string): number | undefined {
  const v = prop(value, key);
  return typeof v === 'number' && Number.isInteger(v) ? v : undefined;
}

function list(value: unknown, key: string): unknown[] {
  const v = prop(value, key);
  return Array.isArray(v) ? v : [];
}

/** A JSON string parsed, or the string itself when it is not JSON. */
function parsedOrRaw(text: string | undefined): unknown {
  if (text === undefined || text.trim() === '') return {};
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** An error field (a string, or `{ message }`) as text. */
function errorText(error: unknown): string | undefined {
  if (error === undefined || error === null) return undefined;
  if (typeof error === 'string') return error;
  return str(error, 'message') ?? JSON.stringify(error);
}

/** Keeps the defined values only. */
function compact(record: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(record).filter(([, value]) => value !== undefined && value !== null));
}

/**
 * One text or reasoning block of an item: its writer key, and what was streamed of it — its length
 * and a running FNV-1a hash of its UTF-16 code units, enough to check the final text against the
 * deltas (`isPrefixOf`) without keeping them. Appending every delta to a string kept one more
 * string per token alive for the whole stream, which cost more than translating the token.
 */
class StreamedBlock {
  readonly key: string;
  readonly text: boolean;
  length = 0;
  #hash = FNV_OFFSET;

  constructor(key: string, text: boolean) {
    this.key = key;
    this.text = text;
  }

  add(delta: string): void {
    this.length += delta.length;
    this.#hash = fnv1a(this.#hash, delta, delta.length);
  }

  /** Whether `text` starts with what was sent (a 32-bit hash: a chance mismatch goes unseen once in ~4 billion). */
  isPrefixOf(text: string): boolean {
    return text.length >= this.length && fnv1a(FNV_OFFSET, text, this.length) === this.#hash;
  }
}

/** The block of `item` with this writer key, if a delta opened it (the first block, where most deltas go, is one comparison). */
function blockOf(item: OutputItem, key: string): StreamedBlock | undefined {
  const first = item.block;
  if (first === undefined || first.key === key) return first;
  if (item.moreBlocks !== undefined) for (const block of item.moreBlocks) if (block.key === key) return block;
  return undefined;
}

/** The block of `item` with this writer key, opened now if it is new. */
function openBlock(item: OutputItem, key: string, text: boolean): StreamedBlock {
  const found = blockOf(item, key);
  if (found !== undefined) return found;
  const block = new StreamedBlock(key, text);
  if (item.block === undefined) item.block = block;
  else if (item.moreBlocks === undefined) item.moreBlocks = [block];
  else item.moreBlocks.push(block);
  return block;
}

/** The item's blocks of one kind, in the order they opened. */
function* blocksOf(item: OutputItem, text: boolean): Generator<StreamedBlock> {
  if (item.block?.text === text) yield item.block;
  for (const block of item.moreBlocks ?? []) if (block.text === text) yield block;
}

/** Bits of a Responses translator's `#seen`. */
const CLIENT_ACTION = 1; // the client must act: a function, custom, computer… call
const SAW_REFUSAL = 2;
const SAW_ANSWER = 4; // content text (a refusal is not an answer)
const ERRORED = 8;

const FNV_OFFSET = 0x811c9dc5 | 0;
const FNV_PRIME = 0x01000193;

function fnv1a(hash: number, text: string, end: number): number {
  let h = hash;
  for (let i = 0; i < end; i++) h = Math.imul(h ^ text.charCodeAt(i), FNV_PRIME);
  return h;
}

/**
 * Translates OpenAI Responses API stream events into Vel.
 *
 * - Items are tracked by `output_index`; an event whose `item_id` is unknown (gateways such as
 *   GitHub Copilot rotate ids between `added`, deltas and `done`) is attributed by its output index.
 * - Text and reasoning stream per item and content/summary index; the final text of `.done`,
 *   `content_part.done`, `output_item.done` and `response.completed` is authoritative: what the
 *   deltas missed is written then. Messages of every `phase` (commentary, final_answer) are text,
 *   one block per message.
 * - Function and custom tool calls use the item's `call_id`; the final arguments of
 *   `function_call_arguments.done` / `output_item.done` settle the input. Custom tool input is
 *   the raw string.
 * - Tools OpenAI runs (web/file search, code interpreter, image generation, MCP) are
 *   `providerExecuted` with the item id as tool call id; their input comes from the item (`{ action }`,
 *   `{ queries }`, `{ code, containerId }`, MCP arguments), their output from the done item. A
 *   generated image is also a `file` (data URL).
 * - `url_citation` annotations become `source-url` (once per URL); file citations `source-document`.
 * - Finish reason: `tool-calls` when the client must act (function, custom, computer, shell,
 *   apply_patch calls and MCP approval requests), `stop` otherwise; `response.incomplete` maps its
 *   reason; `error` events and `response.failed` write an `error` and finish with `error`.
 */
export class OpenAIResponsesTranslator extends BaseTranslator<unknown> {
  /** The items in output order: the first alone, an array from the second (most responses have one or two). */
  #items: OutputItem | OutputItem[] | undefined;
  /**
   * Items by output index and by id. Most streams have one item under one id, so the first entry
   * of each lives in two fields and a Map is made only for a second key (an empty Map is ~150 bytes
   * per call in flight, a small lookup object ~60). Setting a key again replaces its item.
   */
  #index0: number | undefined;
  #indexItem0: OutputItem | undefined;
  #byIndex: Map<number, OutputItem> | undefined;
  #id0: string | undefined;
  #idItem0: OutputItem | undefined;
  #byId: Map<string, OutputItem> | undefined;
  /** Made on first use: most streams cite nothing and fail nowhere, and an empty Set is ~100 bytes per call in flight. */
  #sources: Set<string> | undefined;
  #errors: Set<string> | undefined;
  /** What the stream showed so far, as {@link SAW_ANSWER}… bits: one field, not four booleans per call in flight. */
  #seen = 0;
  /** Index of the native event being mapped (for skips recorded deep in the mapping). */
  #current = 0;

  protected map(event: unknown, index: number): void {
    if (!isRecord(event)) throw new Error(`expected an event object, got ${event === null ? 'null' : typeof event}`);
    this.#current = index;
    const type = asString(event.type);
    // The hot case first: a text delta per token (the switch compares the type string case by case).
    if (type === 'response.output_text.delta') {
      const item = this.#itemOf(event, 'message');
      const delta = asString(event.delta) ?? '';
      if (delta !== '') this.#seen |= SAW_ANSWER;
      const contentIndex = event.content_index;
      this.#textDelta(item, this.#textKey(item, typeof contentIndex === 'number' && Number.isInteger(contentIndex) ? contentIndex : 0), delta);
      return;
    }
    switch (type) {
      case 'response.created':
      case 'response.in_progress':
      case 'response.queued':
        this.#response(event.response);
        return;
      case 'response.output_item.added':
        this.#itemAdded(event);
        return;
      case 'response.output_item.done':
        this.#itemDone(this.#itemOf(event, str(event.item, 'type') ?? 'unknown', event.item), event.item);
        return;
      case 'response.output_text.delta':
      case 'response.refusal.delta': {
        const item = this.#itemOf(event, 'message');
        const delta = str(event, 'delta') ?? '';
        if (delta !== '') this.#seen |= type === 'response.refusal.delta' ? SAW_REFUSAL : SAW_ANSWER;
        this.#textDelta(item, `${item.key}:${integer(event, 'content_index') ?? 0}`, delta);
        return;
      }
      case 'response.output_text.done':
      case 'response.refusal.done': {
        const item = this.#itemOf(event, 'message');
        const final = type === 'response.refusal.done' ? str(event, 'refusal') : str(event, 'text');
        if (final) this.#seen |= type === 'response.refusal.done' ? SAW_REFUSAL : SAW_ANSWER;
        this.#settleText(item, `${item.key}:${integer(event, 'content_index') ?? 0}`, final);
        return;
      }
      case 'response.content_part.done':
        this.#contentPartDone(this.#itemOf(event, 'message'), integer(event, 'content_index') ?? 0, event.part);
        return;
      case 'response.output_text.annotation.added':
        this.#annotation(event.annotation);
        return;
      case 'response.reasoning_summary_text.delta':
      case 'response.reasoning_text.delta': {
        const item = this.#itemOf(event, 'reasoning');
        this.#reasoningDelta(item, this.#reasoningKey(item, type, event), str(event, 'delta') ?? '');
        return;
      }
      case 'response.reasoning_summary_text.done':
      case 'response.reasoning_text.done': {
        const item = this.#itemOf(event, 'reasoning');
        this.#settleReasoning(item, this.#reasoningKey(item, type, event), str(event, 'text'));
        return;
      }
      case 'response.reasoning_summary_part.done': {
        const item = this.#itemOf(event, 'reasoning');
        this.#settleReasoning(item, `${item.key}:s${integer(event, 'summary_index') ?? 0}`, str(event.part, 'text'));
        return;
      }
      case 'response.function_call_arguments.delta':
      case 'response.custom_tool_call_input.delta':
      case 'response.mcp_call_arguments.delta': {
        const item = this.#itemOf(event, type === 'response.function_call_arguments.delta' ? 'function_call' : type === 'response.mcp_call_arguments.delta' ? 'mcp_call' : 'custom_tool_call');
        const delta = str(event, 'delta') ?? '';
        item.inputText += delta;
        if (item.toolCallId !== undefined) this.writer.toolInputDelta(item.toolCallId, delta);
        return;
      }
      case 'response.function_call_arguments.done':
      case 'response.custom_tool_call_input.done':
      case 'response.mcp_call_arguments.done': {
        const kind = type === 'response.function_call_arguments.done' ? 'function_call' : type === 'response.mcp_call_arguments.done' ? 'mcp_call' : 'custom_tool_call';
        const item = this.#itemOf(event, kind);
        const final = str(event, kind === 'custom_tool_call' ? 'input' : 'arguments');
        if (final !== undefined) item.inputText = final;
        item.toolName ??= str(event, 'name');
        this.#settleInput(item);
        return;
      }
      case 'response.code_interpreter_call_code.delta': {
        const item = this.#itemOf(event, 'code_interpreter_call');
        const delta = str(event, 'delta') ?? '';
        item.inputText += delta;
        // The input streams as the JSON text of `{ containerId, code }`, so a UI can show the code as it is written.
        if (item.toolCallId !== undefined && delta !== '') this.writer.toolInputDelta(item.toolCallId, JSON.stringify(delta).slice(1, -1));
        return;
      }
      case 'response.code_interpreter_call_code.done': {
        const item = this.#itemOf(event, 'code_interpreter_call');
        const code = str(event, 'code');
        if (code !== undefined) item.inputText = code;
        this.#settleInput(item);
        return;
      }
      case 'response.completed':
      case 'response.incomplete':
        this.#responseEnd(event.response, type);
        return;
      case 'response.failed': {
        const response = event.response;
        this.#response(response);
        this.#completeItems(response);
        this.#error(errorText(prop(response, 'error')) ?? 'the response failed');
        return;
      }
      case 'error':
        this.#error(str(event, 'message') ?? errorText(event.error) ?? str(event, 'code') ?? 'error');
        return;
      default:
        if (type === undefined || !PROGRESS_NOTES.has(type)) this.skip(index, `unknown event type ${JSON.stringify(type)}`);
    }
  }

  // ── response objects ────────────────────────────────────────────────────────────────────────

  #response(response: unknown): void {
    const id = str(response, 'id');
    if (id) this.state.responseId = id;
    const model = str(response, 'model');
    if (model) this.state.model = model;
    const usage = prop(response, 'usage');
    if (isRecord(usage)) this.state.usage = usageFromResponses(usage);
  }

  #responseEnd(response: unknown, type: 'response.completed' | 'response.incomplete'): void {
    this.#response(response);
    this.#completeItems(response);
    const seen = this.#seen;
    if (seen & ERRORED) return;
    if (type === 'response.incomplete') {
      this.state.finishReason = toVelFinishReason(str(prop(response, 'incomplete_details'), 'reason')) ?? 'other';
    } else {
      this.state.finishReason = seen & CLIENT_ACTION ? 'tool-calls' : (seen & (SAW_REFUSAL | SAW_ANSWER)) === SAW_REFUSAL ? 'content-filter' : 'stop';
    }
  }

  /** The final response's output items complete whatever their `output_item.done` did not (lost events). */
  #completeItems(response: unknown): void {
    list(response, 'output').forEach((raw, outputIndex) => {
      const id = str(raw, 'id');
      const byIndex = this.#itemAt(outputIndex);
      // By id first; by position when the id is new (rotated) and the item there is of the same type.
      const item = (id ? this.#itemWithId(id) : undefined) ?? (byIndex?.type === str(raw, 'type') ? byIndex : undefined);
      if (item?.done) return;
      this.#itemDone(item ?? this.#register(outputIndex, raw), raw);
    });
  }

  #error(message: string): void {
    this.#seen |= ERRORED;
    this.state.finishReason = 'error';
    const errors = (this.#errors ??= new Set());
    if (errors.has(message)) return; // `error` is followed by `response.failed` carrying the same message
    errors.add(message);
    this.writer.error(message);
  }

  // ── items ───────────────────────────────────────────────────────────────────────────────────

  #itemList(): readonly OutputItem[] {
    const items = this.#items;
    return items === undefined ? [] : Array.isArray(items) ? items : [items];
  }

  #itemAt(outputIndex: number): OutputItem | undefined {
    return outputIndex === this.#index0 ? this.#indexItem0 : this.#byIndex?.get(outputIndex);
  }

  #setItemAt(outputIndex: number, item: OutputItem): void {
    if (this.#index0 === undefined || this.#index0 === outputIndex) {
      this.#index0 = outputIndex;
      this.#indexItem0 = item;
    } else (this.#byIndex ??= new Map()).set(outputIndex, item);
  }

  #itemWithId(id: string): OutputItem | undefined {
    return id === this.#id0 ? this.#idItem0 : this.#byId?.get(id);
  }

  #setItemId(id: string, item: OutputItem): void {
    if (this.#id0 === undefined || this.#id0 === id) {
      this.#id0 = id;
      this.#idItem0 = item;
    } else (this.#byId ??= new Map()).set(id, item);
  }

  #register(outputIndex: number | undefined, raw: unknown, fallbackId?: string): OutputItem {
    const id = str(raw, 'id') || fallbackId;
    const type = str(raw, 'type') ?? 'unknown';
    const item: OutputItem = {
      outputIndex,
      key: id ?? `o${outputIndex ?? this.#itemList().length}`,
      type,
      toolCallId: undefined,
      toolName: undefined,
      inputText: '',
      containerId: str(raw, 'container_id'),
      block: undefined,
      moreBlocks: undefined,
      done: false,
      lastTextKey: undefined,
      lastContentIndex: 0,
    };
    const items = this.#items;
    if (items === undefined) this.#items = item;
    else if (Array.isArray(items)) items.push(item);
    else this.#items = [items, item];
    if (outputIndex !== undefined) this.#setItemAt(outputIndex, item);
    if (id) this.#setItemId(id, item);
    return item;
  }

  /**
   * The item an event is about: by `item_id`, else by `output_index` (then remembering the new id),
   * else a new item of `type` (an event whose `output_item.added` was lost).
   */
  /** `${item.key}:${contentIndex}`, the same string object while the content index does not change. */
  #textKey(item: OutputItem, contentIndex: number): string {
    if (item.lastTextKey !== undefined && item.lastContentIndex === contentIndex) return item.lastTextKey;
    item.lastContentIndex = contentIndex;
    return (item.lastTextKey = `${item.key}:${contentIndex}`);
  }

  #itemOf(event: Record<string, unknown>, type: string, raw?: unknown): OutputItem {
    const id = asString(event.item_id) || asString(asRecord(raw)?.id);
    const rawIndex = event.output_index;
    const outputIndex = typeof rawIndex === 'number' && Number.isInteger(rawIndex) ? rawIndex : undefined;
    let item = id ? this.#itemWithId(id) : undefined;
    if (!item && outputIndex !== undefined) {
      item = this.#itemAt(outputIndex);
      if (item && id) this.#setItemId(id, item);
    }
    return item ?? this.#register(outputIndex, raw ?? { type }, id);
  }

  #itemAdded(event: Record<string, unknown>): void {
    const raw = event.item;
    const type = str(raw, 'type');
    if (!type) throw new Error('output_item.added without an item type');
    const outputIndex = integer(event, 'output_index');
    const existing = (outputIndex !== undefined ? this.#itemAt(outputIndex) : undefined) ?? (str(raw, 'id') ? this.#itemWithId(str(raw, 'id')!) : undefined);
    const item = existing ?? this.#register(outputIndex, raw);
    if (str(raw, 'id')) this.#setItemId(str(raw, 'id')!, item);
    item.type = type;
    item.containerId ??= str(raw, 'container_id');
    if (type === 'message' || type === 'reasoning') return; // blocks open with their first delta
    if (CLIENT_TOOLS.has(type) || PROVIDER_TOOLS.has(type)) {
      this.#startTool(item, raw);
      return;
    }
    this.skip(this.#current, IGNORED_ITEMS.has(type) ? `output item of type ${type} carries nothing for the UI` : `output item of unknown type ${JSON.stringify(type)}`);
  }

  /** Writes `tool-input-start` for a tool item, with what its `added` form already holds. */
  #startTool(item: OutputItem, raw: unknown): void {
    const type = item.type;
    const provider = PROVIDER_TOOLS.has(type);
    item.toolCallId ??= provider || type === 'mcp_approval_request' ? str(raw, 'id') || item.key : str(raw, 'call_id') || str(raw, 'id') || item.key;
    item.toolName ??= this.#toolName(type, raw);
    if (!item.toolName) return; // a function call without a name: started when its name arrives
    if (!provider) this.#seen |= CLIENT_ACTION;
    this.writer.toolInputStart(item.toolCallId, item.toolName, { providerExecuted: provider, dynamic: type === 'mcp_call' });
    // What streamed before the tool could start, or what the `added` item already carries.
    const initial = type === 'function_call' ? str(raw, 'arguments') : type === 'custom_tool_call' ? str(raw, 'input') : type === 'mcp_call' ? str(raw, 'arguments') : undefined;
    if (initial && item.inputText === '') item.inputText = initial;
    if (type === 'code_interpreter_call') {
      const code = str(raw, 'code') || item.inputText;
      item.inputText = code;
      const prefix = item.containerId === undefined ? '{"code":"' : `{"containerId":${JSON.stringify(item.containerId)},"code":"`;
      this.writer.toolInputDelta(item.toolCallId, prefix + JSON.stringify(code).slice(1, -1));
    } else if (type === 'function_call' || type === 'custom_tool_call' || type === 'mcp_call') {
      this.writer.toolInputDelta(item.toolCallId, item.inputText);
    }
  }

  #toolName(type: string, raw: unknown): string | undefined {
    if (PROVIDER_TOOLS.has(type)) return type === 'mcp_call' ? str(raw, 'name') || PROVIDER_TOOLS.get(type) : PROVIDER_TOOLS.get(type);
    return CLIENT_TOOLS.get(type) ?? (str(raw, 'name') || undefined);
  }

  /** Settles a tool's input from what the item (or its `.done` event) holds; idempotent in the writer. */
  #settleInput(item: OutputItem, raw?: unknown): void {
    const type = item.type;
    if (item.toolCallId === undefined || !this.writer.hasTool(item.toolCallId)) {
      if (raw !== undefined) this.#startTool(item, raw);
      else return; // no call id or name yet: settled when output_item.done arrives
    }
    const id = item.toolCallId;
    const name = item.toolName ?? 'unknown_tool';
    if (id === undefined) return;
    if (!PROVIDER_TOOLS.has(type)) this.#seen |= CLIENT_ACTION;
    switch (type) {
      case 'function_call':
        this.writer.toolInputFromText(id, name, str(raw, 'arguments') ?? item.inputText);
        return;
      case 'custom_tool_call':
        this.writer.toolInputAvailable(id, name, str(raw, 'input') ?? item.inputText);
        return;
      case 'mcp_call':
        this.writer.toolInputFromText(id, name, str(raw, 'arguments') ?? item.inputText, { providerExecuted: true, dynamic: true });
        return;
      case 'code_interpreter_call':
        this.writer.toolInputAvailable(id, name, compact({ code: str(raw, 'code') ?? item.inputText, containerId: str(raw, 'container_id') ?? item.containerId }), { providerExecuted: true });
        return;
      case 'web_search_call': {
        const action = prop(raw, 'action');
        const input = isRecord(action) ? { action: Object.fromEntries(Object.entries(action).filter(([key]) => key !== 'sources')) } : {};
        this.writer.toolInputAvailable(id, name, input, { providerExecuted: true });
        return;
      }
      case 'file_search_call':
        this.writer.toolInputAvailable(id, name, compact({ queries: prop(raw, 'queries') }), { providerExecuted: true });
        return;
      case 'image_generation_call':
        this.writer.toolInputAvailable(id, name, compact({ action: prop(raw, 'action'), size: prop(raw, 'size'), quality: prop(raw, 'quality'), background: prop(raw, 'background'), outputFormat: prop(raw, 'output_format') }), { providerExecuted: true });
        return;
      case 'mcp_list_tools':
        this.writer.toolInputAvailable(id, name, compact({ serverLabel: prop(raw, 'server_label') }), { providerExecuted: true });
        return;
      case 'mcp_approval_request':
        this.writer.toolInputAvailable(id, name, compact({ serverLabel: prop(raw, 'server_label'), name: prop(raw, 'name'), arguments: parsedOrRaw(str(raw, 'arguments')) }));
        return;
      default: // computer_call, local_shell_call, shell_call, apply_patch_call
        this.writer.toolInputAvailable(id, name, compact({ action: prop(raw, 'action'), operation: prop(raw, 'operation') }));
    }
  }

  #itemDone(item: OutputItem, raw: unknown): void {
    const type = str(raw, 'type') ?? item.type;
    item.type = type;
    item.done = true;
    if (type === 'message') {
      list(raw, 'content').forEach((part, contentIndex) => this.#contentPartDone(item, contentIndex, part));
      for (const block of blocksOf(item, true)) this.writer.textEnd(block.key);
      return;
    }
    if (type === 'reasoning') {
      list(raw, 'summary').forEach((part, i) => this.#settleReasoning(item, `${item.key}:s${i}`, str(part, 'text')));
      list(raw, 'content').forEach((part, i) => this.#settleReasoning(item, `${item.key}:r${i}`, str(part, 'text')));
      for (const block of blocksOf(item, false)) this.writer.reasoningEnd(block.key);
      return;
    }
    if (!CLIENT_TOOLS.has(type) && !PROVIDER_TOOLS.has(type)) {
      this.skip(this.#current, IGNORED_ITEMS.has(type) ? `output item of type ${type} carries nothing for the UI` : `output item of unknown type ${JSON.stringify(type)}`);
      return;
    }
    // Final fields are authoritative: a name or call id the added item lacked, arguments deltas lost.
    item.toolName ??= this.#toolName(type, raw);
    if (type === 'function_call' || type === 'custom_tool_call') {
      const callId = str(raw, 'call_id');
      if (item.toolCallId === undefined && callId) item.toolCallId = callId;
    }
    this.#settleInput(item, raw);
    if (PROVIDER_TOOLS.has(type)) this.#toolOutput(item, raw);
  }

  /** The result of a provider-executed tool, from its done item. */
  #toolOutput(item: OutputItem, raw: unknown): void {
    const id = item.toolCallId;
    if (id === undefined || !this.writer.awaitingOutput(id)) return;
    const status = str(raw, 'status');
    const error = errorText(prop(raw, 'error'));
    if (error !== undefined || status === 'failed' || status === 'incomplete') {
      this.writer.toolOutputError(id, error ?? `${item.type} ended with status ${status}`);
      return;
    }
    switch (item.type) {
      case 'web_search_call':
        this.writer.toolOutput(id, compact({ status, sources: prop(prop(raw, 'action'), 'sources') }));
        return;
      case 'file_search_call':
        this.writer.toolOutput(id, compact({ status, results: prop(raw, 'results') }));
        return;
      case 'code_interpreter_call':
        this.writer.toolOutput(id, { outputs: list(raw, 'outputs') });
        return;
      case 'mcp_call':
        this.writer.toolOutput(id, prop(raw, 'output') ?? null);
        return;
      case 'mcp_list_tools':
        this.writer.toolOutput(id, { tools: list(raw, 'tools') });
        return;
      case 'image_generation_call': {
        const result = str(raw, 'result');
        const format = str(raw, 'output_format') ?? 'png';
        const mediaType = `image/${format === 'svg' ? 'svg+xml' : format}`;
        if (!result) {
          this.writer.toolOutputError(id, 'image generation returned no image');
          return;
        }
        // The image itself goes into a `file` part; the tool output names it rather than repeating megabytes of base64.
        this.writer.toolOutput(id, compact({ status, mediaType, revisedPrompt: prop(raw, 'revised_prompt'), size: prop(raw, 'size') }));
        this.writer.file(/^(data|https?):/i.test(result) ? result : `data:${mediaType};base64,${result}`, mediaType);
        return;
      }
    }
  }

  // ── text and reasoning ──────────────────────────────────────────────────────────────────────

  #contentPartDone(item: OutputItem, contentIndex: number, part: unknown): void {
    const key = `${item.key}:${contentIndex}`;
    const type = str(part, 'type');
    if (type === 'output_text') {
      const text = str(part, 'text');
      if (text) this.#seen |= SAW_ANSWER;
      this.#settleText(item, key, text);
      for (const annotation of list(part, 'annotations')) this.#annotation(annotation);
    } else if (type === 'refusal') {
      const refusal = str(part, 'refusal');
      if (refusal) this.#seen |= SAW_REFUSAL;
      this.#settleText(item, key, refusal);
    }
  }

  #textDelta(item: OutputItem, key: string, delta: string): void {
    if (delta === '') return;
    openBlock(item, key, true).add(delta);
    this.writer.textDelta(key, delta);
  }

  /** Writes what the deltas missed of the final text, then closes the block. */
  #settleText(item: OutputItem, key: string, final: string | undefined): void {
    if (final !== undefined) {
      const missed = this.#missedTail(item, key, final);
      if (missed !== undefined) this.#textDelta(item, key, missed);
      else this.skip(this.#current, `the final text of ${key} differs from its deltas; the streamed text stands`);
    }
    this.writer.textEnd(key);
  }

  /** What the deltas of `key` missed of its final text, or undefined when the final text does not continue them. */
  #missedTail(item: OutputItem, key: string, final: string): string | undefined {
    const sent = blockOf(item, key);
    if (sent === undefined) return final;
    return sent.isPrefixOf(final) ? final.slice(sent.length) : undefined;
  }

  #reasoningKey(item: OutputItem, type: string, event: Record<string, unknown>): string {
    return type.startsWith('response.reasoning_summary') ? `${item.key}:s${integer(event, 'summary_index') ?? 0}` : `${item.key}:r${integer(event, 'content_index') ?? 0}`;
  }

  #reasoningDelta(item: OutputItem, key: string, delta: string): void {
    if (delta === '') return;
    openBlock(item, key, false).add(delta);
    this.writer.reasoningDelta(key, delta);
  }

  #settleReasoning(item: OutputItem, key: string, final: string | undefined): void {
    if (final !== undefined) {
      const missed = this.#missedTail(item, key, final);
      if (missed !== undefined) this.#reasoningDelta(item, key, missed);
      else this.skip(this.#current, `the final reasoning of ${key} differs from its deltas; the streamed text stands`);
    }
    this.writer.reasoningEnd(key);
  }

  #annotation(annotation: unknown): void {
    const type = str(annotation, 'type');
    if (type === 'url_citation') {
      const url = str(annotation, 'url');
      const sources = (this.#sources ??= new Set());
      if (!url || sources.has(`url:${url}`)) return;
      sources.add(`url:${url}`);
      this.writer.sourceUrl(url, str(annotation, 'title'));
    } else if (type === 'file_citation' || type === 'container_file_citation' || type === 'file_path') {
      const fileId = str(annotation, 'file_id');
      const filename = str(annotation, 'filename');
      const key = `file:${fileId ?? filename}`;
      const sources = (this.#sources ??= new Set());
      if ((!fileId && !filename) || sources.has(key)) return;
      sources.add(key);
      this.writer.sourceDocument('application/octet-stream', filename ?? fileId!, filename);
    }
  }

  protected override beforeFinish(): void {
    // Function calls whose `done` never came: settle with what streamed (invalid JSON → tool-input-error).
    for (const item of this.#itemList()) {
      if (item.done || !CLIENT_TOOLS.has(item.type)) continue;
      if (item.type === 'function_call' || item.type === 'custom_tool_call') {
        if (item.toolCallId === undefined) item.toolCallId = item.key;
        if (!this.writer.hasTool(item.toolCallId)) this.writer.toolInputStart(item.toolCallId, item.toolName ?? 'unknown_tool');
        this.#settleInput(item);
      }
    }
  }
}

/** A translator for one OpenAI Responses API stream. */
export function createOpenAIResponsesTranslator(options?: TranslatorOptions): VelTranslator {
  return new OpenAIResponsesTranslator(options);
}
