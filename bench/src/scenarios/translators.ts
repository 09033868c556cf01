// Why this file exists: rows 3 of the issue — how many native events per second each Vel
// translator turns into Vel events: over every recorded provider stream of its family
// (/work/shared/fixtures/provider-streams), and over a text-only stream (the hot case: one delta
// per token). The baseline is JSON.parse of the same events: work the SDK does anyway per event.
import {
  AgentsModelTranslator,
  AiSdkStreamTranslator,
  AnthropicMessagesTranslator,
  GeminiTranslator,
  OpenAIChatTranslator,
  OpenAIResponsesTranslator,
  type VelTranslator,
} from '@sluice/plugin-vel';
import { fixtureFiles, readFixture } from '../../../plugins/vel/src/testing/conformance.ts';
import { interleave, relativeIqr, stats } from '../harness.ts';
import { judge, type Row, type Target } from '../rows.ts';

export interface TranslatorsConfig {
  /** Text deltas in the text-only streams. */
  textDeltas: number;
  /** Passes over the input per timed sample (each sample then takes a few ms). */
  minEventsPerSample: number;
  warmup: number;
  iterations: number;
}

const TEXT_TARGET: Target = { metric: 'median', op: '>=', value: 2_000_000, text: '≥ 2M/s' };

/** One translator's input: streams of native events, and their JSON lines for the baseline. */
interface Input {
  id: string;
  scenario: string;
  make: () => VelTranslator;
  streams: unknown[][];
  lines: string[][];
  target?: Target;
}

function fromLines(lines: string[]): unknown[] {
  return lines.map((line) => JSON.parse(line) as unknown);
}

function fixtureInput(id: string, family: string, label: string, make: () => VelTranslator): Input {
  const files = fixtureFiles(family);
  const streams = files.map((file) => readFixture(family, file));
  return { id, scenario: `${label}: ${files.length} recorded streams (${family})`, make, streams, lines: streams.map((s) => s.map((e) => JSON.stringify(e))) };
}

const J = JSON.stringify;

function chatText(n: number): string[] {
  const base = { id: 'chatcmpl-bench', object: 'chat.completion.chunk', created: 1_700_000_000, model: 'gpt-fake' };
  return [
    J({ ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }] }),
    ...Array.from({ length: n }, (_, i) => J({ ...base, choices: [{ index: 0, delta: { content: ` tok${i % 10}` }, logprobs: null, finish_reason: null }] })),
    J({ ...base, choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' }] }),
    J({ ...base, choices: [], usage: { prompt_tokens: 12, completion_tokens: n, total_tokens: 12 + n } }),
  ];
}

function responsesEvents(n: number): unknown[] {
  const response = { id: 'resp_bench', object: 'response', created_at: 1_700_000_000, model: 'gpt-fake', output: [], usage: null };
  let seq = 0;
  const e = (type: string, body: Record<string, unknown>) => ({ type, ...body, sequence_number: seq++ });
  const text = ' tok'.repeat(n);
  const message = { id: 'msg_bench', type: 'message', status: 'completed', role: 'assistant', content: [{ type: 'output_text', annotations: [], text }] };
  return [
    e('response.created', { response: { ...response, status: 'in_progress' } }),
    e('response.in_progress', { response: { ...response, status: 'in_progress' } }),
    e('response.output_item.added', { output_index: 0, item: { ...message, status: 'in_progress', content: [] } }),
    e('response.content_part.added', { item_id: 'msg_bench', output_index: 0, content_index: 0, part: { type: 'output_text', annotations: [], text: '' } }),
    ...Array.from({ length: n }, (_, i) => e('response.output_text.delta', { item_id: 'msg_bench', output_index: 0, content_index: 0, delta: ` tok${i % 10}`, logprobs: [] })),
    e('response.output_text.done', { item_id: 'msg_bench', output_index: 0, content_index: 0, text }),
    e('response.content_part.done', { item_id: 'msg_bench', output_index: 0, content_index: 0, part: { type: 'output_text', annotations: [], text } }),
    e('response.output_item.done', { output_index: 0, item: message }),
    e('response.completed', { response: { ...response, status: 'completed', output: [message], usage: { input_tokens: 12, output_tokens: n, total_tokens: 12 + n } } }),
  ];
}

function anthropicText(n: number): string[] {
  return [
    J({ type: 'message_start', message: { id: 'msg_bench', type: 'message', role: 'assistant', model: 'claude-fake', content: [], stop_reason: null, usage: { input_tokens: 12, output_tokens: 1 } } }),
    J({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }),
    ...Array.from({ length: n }, (_, i) => J({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: ` tok${i % 10}` } })),
    J({ type: 'content_block_stop', index: 0 }),
    J({ type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: n } }),
    J({ type: 'message_stop' }),
  ];
}

function geminiText(n: number): string[] {
  const meta = { modelVersion: 'gemini-fake', responseId: 'resp_bench' };
  return [
    ...Array.from({ length: n }, (_, i) => J({ candidates: [{ content: { parts: [{ text: ` tok${i % 10}` }], role: 'model' }, index: 0 }], ...meta })),
    J({ candidates: [{ content: { parts: [{ text: '' }], role: 'model' }, finishReason: 'STOP', index: 0 }], usageMetadata: { promptTokenCount: 12, candidatesTokenCount: n, totalTokenCount: 12 + n }, ...meta }),
  ];
}

/** A Vertex AI function call whose one string argument streams in `n` `partialArgs` chunks (a file written by a tool, say). */
function geminiStreamedArgument(n: number): string[] {
  const call = (functionCall: Record<string, unknown>) => J({ candidates: [{ content: { parts: [{ functionCall }], role: 'model' }, index: 0 }], modelVersion: 'gemini-fake' });
  return [
    call({ name: 'write_file', willContinue: true }),
    call({ partialArgs: [{ jsonPath: '$.path', stringValue: 'notes.md' }], willContinue: true }),
    ...Array.from({ length: n }, (_, i) => call({ partialArgs: [{ jsonPath: '$.content', stringValue: `line ${i}: "quoted" text\n`, willContinue: true }], willContinue: true })),
    call({ partialArgs: [{ jsonPath: '$.content', stringValue: '' }] }),
    J({ candidates: [{ content: { parts: [{ text: '' }], role: 'model' }, finishReason: 'STOP', index: 0 }], modelVersion: 'gemini-fake' }),
  ];
}

function aiSdkText(n: number): string[] {
  const usage = { inputTokens: { total: 12, noCache: 12, cacheRead: 0, cacheWrite: 0 }, outputTokens: { total: n, text: n, reasoning: 0 } };
  return [
    J({ type: 'stream-start', warnings: [] }),
    J({ type: 'response-metadata', id: 'resp_bench', modelId: 'gpt-fake' }),
    J({ type: 'text-start', id: 't0' }),
    ...Array.from({ length: n }, (_, i) => J({ type: 'text-delta', id: 't0', delta: ` tok${i % 10}` })),
    J({ type: 'text-end', id: 't0' }),
    J({ type: 'finish', finishReason: { unified: 'stop', raw: 'stop' }, usage }),
  ];
}

/** An Agents SDK Responses model stream: each raw event as `model`, plus the SDK's own delta summaries. */
function agentsText(n: number): string[] {
  const raw = responsesEvents(n);
  const out: string[] = [J({ type: 'response_started', providerData: {} })];
  for (const event of raw) {
    out.push(J({ type: 'model', event, providerData: { rawModelEventSource: 'openai-responses' } }));
    if ((event as { type: string }).type === 'response.output_text.delta') out.push(J({ type: 'output_text_delta', delta: (event as { delta: string }).delta, providerData: {} }));
  }
  out.push(J({ type: 'response_done', response: { id: 'resp_bench', usage: { inputTokens: 12, outputTokens: n, totalTokens: 12 + n }, output: [] } }));
  return out;
}

function textInput(id: string, label: string, make: () => VelTranslator, lines: string[], unitNote: string): Input {
  return { id, scenario: `${label}: text-only stream (${unitNote})`, make, streams: [fromLines(lines)], lines: [lines], target: TEXT_TARGET };
}

function translate(input: Input): number {
  let produced = 0;
  for (const stream of input.streams) {
    const translator = input.make();
    for (const event of stream) produced += translator.push(event).length;
    produced += translator.finish().length;
  }
  return produced;
}

function parseAll(input: Input): number {
  let parsed = 0;
  for (const lines of input.lines) for (const line of lines) if (JSON.parse(line) !== undefined) parsed++;
  return parsed;
}

export async function translatorRows(config: TranslatorsConfig): Promise<Row[]> {
  const n = config.textDeltas;
  const argumentLines = geminiStreamedArgument(n);
  const inputs: Input[] = [
    fixtureInput('openai-chat.fixtures', 'openai-chat', 'OpenAI Chat translator', () => new OpenAIChatTranslator({ idPrefix: 'bench' })),
    textInput('openai-chat.text', 'OpenAI Chat translator', () => new OpenAIChatTranslator({ idPrefix: 'bench' }), chatText(n), 'one chunk per delta'),
    fixtureInput('openai-responses.fixtures', 'openai-responses', 'OpenAI Responses translator', () => new OpenAIResponsesTranslator({ idPrefix: 'bench' })),
    textInput('openai-responses.text', 'OpenAI Responses translator', () => new OpenAIResponsesTranslator({ idPrefix: 'bench' }), responsesEvents(n).map((e) => J(e)), 'one event per delta'),
    fixtureInput('anthropic.fixtures', 'anthropic', 'Anthropic Messages translator', () => new AnthropicMessagesTranslator({ idPrefix: 'bench' })),
    textInput('anthropic.text', 'Anthropic Messages translator', () => new AnthropicMessagesTranslator({ idPrefix: 'bench' }), anthropicText(n), 'one event per delta'),
    fixtureInput('gemini.fixtures', 'google', 'Gemini translator', () => new GeminiTranslator({ idPrefix: 'bench' })),
    textInput('gemini.text', 'Gemini translator', () => new GeminiTranslator({ idPrefix: 'bench' }), geminiText(n), 'one chunk per delta'),
    {
      id: 'gemini.streamed-argument',
      scenario: `Gemini translator: one tool argument streamed in ${n} partialArgs chunks`,
      make: () => new GeminiTranslator({ idPrefix: 'bench' }),
      streams: [fromLines(argumentLines)],
      lines: [argumentLines],
    },
    textInput('ai-sdk.text', 'AI SDK V4 parts translator', () => new AiSdkStreamTranslator({ idPrefix: 'bench' }), aiSdkText(n), 'one part per delta'),
    textInput('agents-model.text', 'Agents SDK model translator', () => new AgentsModelTranslator({ idPrefix: 'bench' }), agentsText(n), 'raw event + summary per delta'),
  ];
  const rows: Row[] = [];
  for (const input of inputs) {
    const events = input.streams.reduce((sum, s) => sum + s.length, 0);
    const passes = Math.max(1, Math.ceil(config.minEventsPerSample / events));
    let sink = 0;
    const samples = await interleave(
      [
        { name: 'bare', run: () => { for (let p = 0; p < passes; p++) sink += parseAll(input); } },
        { name: 'translate', run: () => { for (let p = 0; p < passes; p++) sink += translate(input); } },
      ],
      { warmup: config.warmup, iterations: config.iterations },
    );
    if (sink === 0) throw new Error(`${input.id}: nothing translated`);
    const perEvent = (name: string) => stats(samples.get(name)!.map((ms) => (ms * 1e6) / (events * passes)));
    const t = perEvent('translate');
    const bare = perEvent('bare');
    rows.push(
      judge({
        id: `translator.${input.id}`,
        group: 'translators',
        scenario: input.scenario,
        n: events,
        samples: t.n,
        unit: 'events/s',
        median: 1e9 / t.median,
        // The slow tail: the rate at the 99th-percentile time per event.
        p99: 1e9 / t.p99,
        spread: relativeIqr(t),
        baseline: 'JSON.parse of the same events',
        baselineMedian: 1e9 / bare.median,
        ratio: t.median / bare.median,
        added: t.median,
        addedUnit: 'ns/event',
        ...(input.target ? { target: input.target } : {}),
        note: `${t.median.toFixed(0)} ns per event; ratio = translate time ÷ JSON.parse time of the same events (${bare.median.toFixed(0)} ns)`,
      }),
    );
  }
  return rows;
}
