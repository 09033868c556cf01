// Why this file exists: the demo (`npm start`) and the tests run the same graph — a planner that
// fans out to a weather agent and a news agent in parallel, which fan in to a writer — on the fake
// model server. The fake model tells the nodes apart by the marker in each node's system prompt and
// answers each differently, with fixed usage, so tests can compare exact numbers.
import { createOpenAI } from '@ai-sdk/openai';
import { Agent, tool as agentTool } from '@openai/agents';
import type { ModelSlot, Pipeline } from '@sluice/core';
import { toolLoopScript, type FakeFault, type FakeTurn, type FakeUsage, type RecordedRequest } from '@sluice/test/fake-model-server';
import { tool } from 'ai';
import OpenAI from 'openai';
import { z } from 'zod';
import { agentsNode, aiSdkNode } from './node-adapters.ts';
import { createOrchestrator, type Orchestrator } from './orchestrator.ts';
import type { InterleaveMode } from './node-stream.ts';

/** The demo's node ids. */
export const DEMO_NODES = ['planner', 'weather', 'news', 'writer'] as const;
/** One of {@link DEMO_NODES}. */
export type DemoNode = (typeof DEMO_NODES)[number];

/** Which SDK runs each node. */
export const DEMO_SDK: Record<DemoNode, 'agents' | 'ai-sdk'> = { planner: 'agents', weather: 'agents', news: 'ai-sdk', writer: 'ai-sdk' };

/** The graph input. */
export const DEMO_INPUT = 'Prepare my morning briefing for Lisbon.';

/** What each node's final model call says. */
export const DEMO_TEXT: Record<DemoNode, string> = {
  planner: 'Plan: get the Lisbon weather and the top tech headline, then write a two-line briefing.',
  weather: 'Lisbon is sunny and 22°C with a light westerly breeze.',
  news: 'Top tech story: a Lisbon startup ships an open-source agent mesh.',
  writer: 'Good morning! Sunny and 22°C in Lisbon today, and a local startup just shipped an open-source agent mesh.',
};

/** Usage of every model call of each node (weather and news make two calls: a tool call, then the answer). */
export const DEMO_USAGE: Record<DemoNode, FakeUsage> = {
  planner: { inputTokens: 40, outputTokens: 12 },
  weather: { inputTokens: 30, outputTokens: 8 },
  news: { inputTokens: 25, outputTokens: 9 },
  writer: { inputTokens: 60, outputTokens: 20 },
};

/** Model calls per node. */
export const DEMO_CALLS: Record<DemoNode, number> = { planner: 1, weather: 2, news: 2, writer: 1 };

/**
 * The native tool call id the fake model gives BOTH the weather and the news tool call, so the
 * graph stream must namespace them to keep them apart.
 */
export const SHARED_TOOL_CALL_ID = 'call_1';

/** The marker the fake model looks for in a system prompt. */
export function nodeMarker(node: DemoNode): string {
  return `[mesh:${node}]`;
}

const INSTRUCTIONS: Record<DemoNode, string> = {
  planner: `${nodeMarker('planner')} You plan the briefing: say which facts the other agents must gather.`,
  weather: `${nodeMarker('weather')} You report the weather; use the get_weather tool.`,
  news: `${nodeMarker('news')} You find the top tech headline; use the get_headlines tool.`,
  writer: `${nodeMarker('writer')} You write the final briefing from the weather and news reports.`,
};

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The system prompt of a Chat Completions or Responses request (`instructions`, or a system/developer message). */
export function systemPromptOf(body: unknown): string {
  if (!isRecord(body)) return '';
  if (typeof body.instructions === 'string') return body.instructions;
  const items = Array.isArray(body.messages) ? body.messages : Array.isArray(body.input) ? body.input : [];
  for (const item of items) {
    if (isRecord(item) && (item.role === 'system' || item.role === 'developer')) {
      if (typeof item.content === 'string') return item.content;
      if (Array.isArray(item.content)) return item.content.map((part) => (isRecord(part) && typeof part.text === 'string' ? part.text : '')).join('');
    }
  }
  return '';
}

/** The demo node a model request comes from, by the marker in its system prompt. */
export function nodeOfRequest(request: Pick<RecordedRequest, 'body'>): DemoNode | undefined {
  const system = systemPromptOf(request.body);
  return DEMO_NODES.find((node) => system.includes(nodeMarker(node)));
}

/** Options of {@link demoScript}. */
export interface DemoScriptOptions {
  /** Delay between streamed chunks (to watch the demo stream). */
  chunkDelayMs?: number;
  /** Hold a node's FIRST model stream until the promise settles (fake server `gate`, before the first content chunk). */
  gates?: Partial<Record<DemoNode, Promise<unknown>>>;
  /** Make a node's first model call misbehave. */
  faults?: Partial<Record<DemoNode, FakeFault>>;
}

/** The fake model's script for the demo graph: answers per node, by the system prompt's marker. */
export function demoScript(options: DemoScriptOptions = {}): (request: RecordedRequest) => FakeTurn {
  const loops = {
    weather: toolLoopScript({ toolCalls: [[{ id: SHARED_TOOL_CALL_ID, name: 'get_weather', arguments: '{"city":"Lisbon"}' }]], finalText: DEMO_TEXT.weather, usage: DEMO_USAGE.weather }),
    news: toolLoopScript({ toolCalls: [[{ id: SHARED_TOOL_CALL_ID, name: 'get_headlines', arguments: '{"topic":"tech"}' }]], finalText: DEMO_TEXT.news, usage: DEMO_USAGE.news }),
  };
  const seen = new Map<DemoNode, number>();
  return (request) => {
    const node = nodeOfRequest(request);
    if (!node) return { text: 'This request came from no demo node.' };
    const nth = (seen.get(node) ?? 0) + 1;
    seen.set(node, nth);
    const turn: FakeTurn = node === 'weather' || node === 'news' ? loops[node](request) : { text: DEMO_TEXT[node], usage: DEMO_USAGE[node] };
    if (options.chunkDelayMs) turn.chunkDelayMs = options.chunkDelayMs;
    const gate = options.gates?.[node];
    const fault = options.faults?.[node];
    if (nth === 1 && gate) turn.gate = gate;
    if (nth === 1 && fault) turn.fault = fault;
    return turn;
  };
}

/** What the weather tool answers. */
export function weatherReport(city: string): string {
  return `Sunny, 22°C, wind 12 km/h W in ${city}`;
}

/** What the headlines tool answers. */
export function headlines(topic: string): string {
  return `1. Lisbon startup ships an open-source agent mesh (${topic})`;
}

/** Options of {@link buildDemoGraph}. */
export interface DemoGraphOptions {
  /** The fake model server's OpenAI base URL (`fake.baseURL`). */
  baseURL: string;
  sluice?: Pipeline;
  interleave?: InterleaveMode;
}

const slot = (node: DemoNode): ModelSlot => ({ slotId: node, label: `Mesh ${node} agent`, selectionMode: 'locked', requiredModel: 'openai/gpt-fake' });

/**
 * The demo graph: `planner` (Agents SDK) → `weather` (Agents SDK, tool `get_weather`) ∥ `news`
 * (AI SDK, tool `get_headlines`) → `writer` (AI SDK).
 */
export function buildDemoGraph(options: DemoGraphOptions): Orchestrator {
  const { baseURL } = options;
  const client = new OpenAI({ baseURL, apiKey: 'sk-mesh-demo-fake-model', maxRetries: 0 });
  const openai = createOpenAI({ baseURL, apiKey: 'sk-mesh-demo-fake-model' });
  const runConfig = { tracingDisabled: true };

  const getWeather = agentTool({
    name: 'get_weather',
    description: 'The current weather for a city',
    parameters: z.object({ city: z.string() }),
    execute: async ({ city }) => weatherReport(city),
  });
  const getHeadlines = tool({
    description: 'Top headlines for a topic',
    inputSchema: z.object({ topic: z.string() }),
    execute: async ({ topic }) => headlines(topic),
  });

  return createOrchestrator({ ...(options.sluice ? { sluice: options.sluice } : {}), ...(options.interleave ? { interleave: options.interleave } : {}) })
    .node('planner', agentsNode({ agent: new Agent({ name: 'planner', instructions: INSTRUCTIONS.planner, model: 'planner' }), slots: [slot('planner')], client, runConfig }))
    .node('weather', agentsNode({ agent: new Agent({ name: 'weather', instructions: INSTRUCTIONS.weather, model: 'weather', tools: [getWeather] }), slots: [slot('weather')], api: 'chat_completions', client, runConfig }))
    .node('news', aiSdkNode({ model: { model: 'gpt-fake', api: 'chat_completions', fallback: openai.chat('gpt-fake') }, system: INSTRUCTIONS.news, tools: { get_headlines: getHeadlines }, maxRetries: 0 }))
    .node('writer', aiSdkNode({ model: { model: 'gpt-fake', api: 'responses', fallback: openai.responses('gpt-fake') }, system: INSTRUCTIONS.writer, maxRetries: 0 }))
    .edge('planner', 'weather')
    .edge('planner', 'news')
    .edge('weather', 'writer')
    .edge('news', 'writer');
}
