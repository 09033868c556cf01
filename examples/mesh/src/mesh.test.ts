// Why this file exists: the mesh example promises one valid Vel message for a whole graph of agent
// nodes on two SDKs, with real parallelism, per-node usage, one plugin registration for every model
// call, clear graph errors, a failure policy and a clean abort. These tests run the real parts (the
// fake OpenAI-compatible model on 127.0.0.1, the Agents SDK, the AI SDK, the Sluice pipeline) and
// synchronize only on events (the fake server's gates, stream events), never on time.
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createPipeline, type ExecutionScope, type ModelCall, type Outcome, type SluicePlugin, type Usage, type VelEvent } from '@sluice/core';
import { startFakeModelServer, type FakeModelServer, type RecordedRequest } from '@sluice/test/fake-model-server';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { assertValidVelStream, summarize, toUIMessage } from '../../../plugins/vel/src/testing/conformance.ts';
import {
  buildDemoGraph,
  DEMO_CALLS,
  DEMO_INPUT,
  DEMO_NODES,
  DEMO_TEXT,
  DEMO_USAGE,
  demoScript,
  headlines,
  nodeOfRequest,
  SHARED_TOOL_CALL_ID,
  weatherReport,
  type DemoNode,
  type DemoScriptOptions,
} from './demo-graph.ts';
import { DuplicateNodeError, GraphCycleError, GraphValidationError, InvalidNodeError, UnknownNodeError } from './graph-errors.ts';
import { agentsNode, NODE_ID_ATTRIBUTE, runNodeThroughSluice, type NodeRunner } from './node-adapters.ts';
import type { InterleaveMode } from './node-stream.ts';
import { createOrchestrator, type GraphMessageMetadata, type NodeFinishData, type NodeStartData } from './orchestrator.ts';
import { Agent, tool as agentTool } from '@openai/agents';
import OpenAI from 'openai';
import { z } from 'zod';

let server: FakeModelServer;
beforeAll(async () => {
  server = await startFakeModelServer();
});
afterAll(() => server.close());
beforeEach(() => {
  server.reset();
  server.setScript(demoScript());
});

/** A plugin recording every call it sees and every report, keyed by call id. */
interface Recorder extends SluicePlugin {
  calls: ModelCall[];
  reports: Map<string, Outcome[]>;
  /** Resolves once every call seen so far has at least one report. */
  allReported(): Promise<void>;
}

function recorder(): Recorder {
  const calls: ModelCall[] = [];
  const reports = new Map<string, Outcome[]>();
  let waiters: Array<() => void> = [];
  const check = () => {
    if (!calls.every((call) => reports.has(call.id))) return;
    for (const wake of waiters) wake();
    waiters = [];
  };
  return {
    name: 'test-recorder',
    calls,
    reports,
    apply(hooks) {
      hooks.beforePrepare.tap('test-recorder', (call) => {
        calls.push(call);
        return call;
      });
      hooks.onReport.tap('test-recorder', (call, outcome) => {
        reports.set(call.id, [...(reports.get(call.id) ?? []), outcome]);
        check();
      });
    },
    allReported: () =>
      new Promise<void>((resolve) => {
        waiters.push(resolve);
        check();
      }),
  };
}

const nodeOfCall = (call: ModelCall) => call.attributes[NODE_ID_ATTRIBUTE] as string | undefined;

/** Collects a stream, calling `onEvent` with each event and everything collected so far. */
async function collect(run: AsyncIterable<VelEvent>, onEvent?: (event: VelEvent, events: VelEvent[]) => void): Promise<VelEvent[]> {
  const events: VelEvent[] = [];
  for await (const event of run) {
    events.push(event);
    onEvent?.(event, events);
  }
  return events;
}

const starts = (events: VelEvent[]) => events.flatMap((e) => (e.type === 'data-node-start' ? [e.data as NodeStartData] : []));
const finishes = (events: VelEvent[]) => events.flatMap((e) => (e.type === 'data-node-finish' ? [e.data as NodeFinishData] : []));
const finishOf = (events: VelEvent[], node: string) => finishes(events).find((data) => data.nodeId === node);
const indexOf = (events: VelEvent[], type: string, node: string) => events.findIndex((e) => e.type === type && (e as { data: { nodeId: string } }).data.nodeId === node);

/** The id an event carries (block, tool call or source id). */
function idOf(event: VelEvent): string | undefined {
  if ('toolCallId' in event) return event.toolCallId;
  if ('sourceId' in event) return event.sourceId;
  if ('id' in event && typeof event.id === 'string' && !event.type.startsWith('data-')) return event.id;
  return undefined;
}

/** Maps events to nodes by the id prefix each node announced in its `data-node-start`. */
function nodeOfEventIn(events: VelEvent[]): (event: VelEvent) => string | undefined {
  return (event) => {
    const id = idOf(event);
    if (id === undefined) return undefined;
    return starts(events).find((data) => id.startsWith(`${data.idPrefix}-`))?.nodeId;
  };
}

function expectedUsage(node: DemoNode): Pick<Usage, 'inputTokens' | 'outputTokens' | 'totalTokens'> {
  const { inputTokens, outputTokens } = DEMO_USAGE[node];
  const calls = DEMO_CALLS[node];
  return { inputTokens: inputTokens * calls, outputTokens: outputTokens * calls, totalTokens: (inputTokens + outputTokens) * calls };
}

const pick = (usage: Partial<Usage> | undefined) => ({ inputTokens: usage?.inputTokens, outputTokens: usage?.outputTokens, totalTokens: usage?.totalTokens });
const requestsOf = (node: DemoNode) => server.requests.filter((request: RecordedRequest) => nodeOfRequest(request) === node);

/** A promise with its resolve function. */
function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** Sets the demo script, calling `onRequest` with the node of each model request as it arrives. */
function script(options: DemoScriptOptions, onRequest?: (node: DemoNode | undefined) => void): void {
  const answer = demoScript(options);
  server.setScript((request) => {
    onRequest?.(nodeOfRequest(request));
    return answer(request);
  });
}

describe('the demo graph, end to end', () => {
  it('is ONE valid Vel message: nodes wrapped in data-node-start/finish, texts and tools, ids apart, usage per node and total, one plugin for every call', async () => {
    const sluice = createPipeline();
    const mesh = buildDemoGraph({ baseURL: server.baseURL, sluice });
    const seen = recorder();
    mesh.use(seen);
    const scope: ExecutionScope = { customerTenantId: 't_mesh', delegationId: 'd_mesh' };
    const run = mesh.run(DEMO_INPUT, { scope, messageId: 'msg_graph' });
    const events = await collect(run);

    await assertValidVelStream(events);
    expect(events[0]).toEqual({ type: 'start', messageId: 'msg_graph' });
    expect(events.filter((e) => e.type === 'start')).toHaveLength(1);
    expect(events.filter((e) => e.type === 'finish')).toHaveLength(1);
    expect(events.at(-1)).toMatchObject({ type: 'finish', finishReason: 'stop' });

    // Each node: one start, one finish, wrapping every event that carries one of its ids.
    expect(starts(events).map((d) => d.nodeId).sort()).toEqual([...DEMO_NODES].sort());
    expect(finishes(events).map((d) => [d.nodeId, d.status]).sort()).toEqual(DEMO_NODES.map((n) => [n, 'completed']).sort());
    const nodeOf = nodeOfEventIn(events);
    for (const node of DEMO_NODES) {
      const [from, to] = [indexOf(events, 'data-node-start', node), indexOf(events, 'data-node-finish', node)];
      const own = events.flatMap((event, index) => (nodeOf(event) === node ? [index] : []));
      expect(own.length, node).toBeGreaterThan(0);
      expect(Math.min(...own), node).toBeGreaterThan(from);
      expect(Math.max(...own), node).toBeLessThan(to);
    }
    // Fan-out after the planner, fan-in after both branches.
    for (const branch of ['weather', 'news']) expect(indexOf(events, 'data-node-start', branch)).toBeGreaterThan(indexOf(events, 'data-node-finish', 'planner'));
    expect(indexOf(events, 'data-node-start', 'writer')).toBeGreaterThan(Math.max(indexOf(events, 'data-node-finish', 'weather'), indexOf(events, 'data-node-finish', 'news')));
    expect(starts(events).find((d) => d.nodeId === 'writer')?.dependencies.sort()).toEqual(['news', 'weather']);

    // The AI SDK builds one message holding every node's text and both tools with their outputs.
    const message = await toUIMessage(events);
    const texts = (message?.parts ?? []).flatMap((part) => (part.type === 'text' ? [part.text] : []));
    for (const node of DEMO_NODES) expect(texts, node).toContain(DEMO_TEXT[node]);
    const tools = (message?.parts ?? []).filter((part) => part.type.startsWith('tool-'));
    expect(tools).toHaveLength(2);
    expect(tools.find((part) => part.type === 'tool-get_weather')).toMatchObject({ state: 'output-available', input: { city: 'Lisbon' }, output: weatherReport('Lisbon') });
    expect(tools.find((part) => part.type === 'tool-get_headlines')).toMatchObject({ state: 'output-available', input: { topic: 'tech' }, output: headlines('tech') });
    expect((message?.parts ?? []).filter((part) => part.type === 'data-node-finish')).toHaveLength(4);

    // Ids never collide between nodes — although the fake model gave both tool calls the same id.
    const idsByNode = new Map(DEMO_NODES.map((node) => [node, new Set(events.flatMap((e) => (nodeOf(e) === node ? [idOf(e)!] : [])))]));
    for (const [i, a] of DEMO_NODES.entries()) for (const b of DEMO_NODES.slice(i + 1)) expect([...idsByNode.get(a)!].filter((id) => idsByNode.get(b)!.has(id)), `${a}/${b}`).toEqual([]);
    for (const node of ['weather', 'news'] as const) expect(JSON.stringify(requestsOf(node)[1]?.body)).toContain(`"${SHARED_TOOL_CALL_ID}"`);
    const toolIds = events.flatMap((e) => (e.type === 'tool-input-available' ? [e.toolCallId] : []));
    expect(new Set(toolIds).size).toBe(2);
    expect(toolIds.every((id) => id.endsWith(`-${SHARED_TOOL_CALL_ID}`))).toBe(true);

    // Usage: each node's equals the fake model's, the total is their sum, both in finish metadata.
    const metadata = (events.at(-1) as { messageMetadata: GraphMessageMetadata }).messageMetadata;
    for (const node of DEMO_NODES) {
      expect(pick(finishOf(events, node)?.usage), node).toEqual(expectedUsage(node));
      expect(pick(metadata.nodes[node]), node).toEqual(expectedUsage(node));
    }
    const sum = (key: 'inputTokens' | 'outputTokens' | 'totalTokens') => DEMO_NODES.reduce((total, node) => total + expectedUsage(node)[key]!, 0);
    expect(pick(metadata.usage)).toEqual({ inputTokens: sum('inputTokens'), outputTokens: sum('outputTokens'), totalTokens: sum('totalTokens') });
    expect(summarize(events).usage?.totalTokens).toBe(sum('totalTokens'));

    // The plugin, registered once, saw every model call of every node, each reported exactly once.
    await seen.allReported();
    await sluice.close();
    expect(seen.calls).toHaveLength(server.requests.length);
    expect(seen.calls).toHaveLength(6);
    expect(seen.calls.filter((call) => call.source === 'agents')).toHaveLength(DEMO_CALLS.planner + DEMO_CALLS.weather);
    expect(seen.calls.filter((call) => call.source === 'ai-sdk')).toHaveLength(DEMO_CALLS.news + DEMO_CALLS.writer);
    for (const node of DEMO_NODES) {
      const calls = seen.calls.filter((call) => nodeOfCall(call) === node);
      expect(calls, node).toHaveLength(DEMO_CALLS[node]);
      const reported = calls.flatMap((call) => seen.reports.get(call.id) ?? []);
      expect(reported.map((o) => o.status), node).toEqual(calls.map(() => 'completed'));
      // The node's usage in the stream is what the pipeline's reports say, too.
      const fromReports = { inputTokens: 0, outputTokens: 0, totalTokens: 0 };
      for (const outcome of reported) if (outcome.status === 'completed') for (const key of ['inputTokens', 'outputTokens', 'totalTokens'] as const) fromReports[key] += outcome.usage?.[key] ?? 0;
      expect(fromReports, node).toEqual(expectedUsage(node));
    }
    for (const call of seen.calls) expect(seen.reports.get(call.id)).toHaveLength(1);
    expect(seen.calls.every((call) => call.scope?.customerTenantId === 't_mesh' && call.scope.delegationId === 'd_mesh')).toBe(true);

    // Each node received its dependencies' outputs; the result has every output.
    for (const node of ['weather', 'news'] as const) expect(JSON.stringify(requestsOf(node)[0]?.body)).toContain(DEMO_TEXT.planner);
    expect(JSON.stringify(requestsOf('writer')[0]?.body)).toContain(DEMO_TEXT.weather);
    expect(JSON.stringify(requestsOf('writer')[0]?.body)).toContain(DEMO_TEXT.news);
    const result = await run.result;
    expect(result.status).toBe('completed');
    for (const node of DEMO_NODES) expect(result.nodes[node]).toMatchObject({ status: 'completed', output: DEMO_TEXT[node] });
  });

  it.each(['atomic-steps', 'live'] as const)('parallel nodes overlap (%s): news streams while the weather model stream is held open', async (interleave: InterleaveMode) => {
    const weatherGate = deferred();
    const weatherRequested = deferred();
    const weatherToolStarted = deferred();
    // news waits until weather is provably in flight: its request arrived (atomic-steps), or its
    // open tool call is already in the graph stream (live).
    script({ gates: { weather: weatherGate.promise, news: interleave === 'live' ? weatherToolStarted.promise : weatherRequested.promise } }, (node) => {
      if (node === 'weather') weatherRequested.resolve();
    });
    const mesh = buildDemoGraph({ baseURL: server.baseURL, interleave });
    let atRelease: { weatherRequests: number; weatherFinished: boolean; inFlight: number } | undefined;
    const events = await collect(mesh.run(DEMO_INPUT), (event, all) => {
      const node = nodeOfEventIn(all)(event);
      if (node === 'weather' && event.type === 'tool-input-start') weatherToolStarted.resolve();
      // news's tool input completes only after its gate opened: weather is already in flight then.
      if (node === 'news' && event.type === 'tool-input-available' && atRelease === undefined) {
        atRelease = { weatherRequests: requestsOf('weather').length, weatherFinished: finishOf(all, 'weather') !== undefined, inFlight: server.inFlight };
        weatherGate.resolve();
      }
    });
    weatherGate.resolve();

    // news produced events while weather's first model call was received and held, unfinished.
    expect(atRelease).toEqual({ weatherRequests: 1, weatherFinished: false, inFlight: expect.any(Number) });
    expect(atRelease!.inFlight).toBeGreaterThanOrEqual(1);
    expect(server.maxInFlight).toBeGreaterThanOrEqual(2);
    await assertValidVelStream(events);
    const nodeOf = nodeOfEventIn(events);
    const newsInput = events.findIndex((e) => nodeOf(e) === 'news' && e.type === 'tool-input-available');
    const weatherInput = events.findIndex((e) => nodeOf(e) === 'weather' && e.type === 'tool-input-available');
    expect(indexOf(events, 'data-node-start', 'weather')).toBeLessThan(newsInput);
    expect(newsInput).toBeGreaterThan(-1);
    expect(newsInput).toBeLessThan(weatherInput);
    if (interleave === 'live') {
      // Token by token: weather's tool call opened before news's tool input and completed after it.
      expect(events.findIndex((e) => nodeOf(e) === 'weather' && e.type === 'tool-input-start')).toBeLessThan(newsInput);
      expect(events.some((e) => e.type === 'start-step' || e.type === 'finish-step')).toBe(false);
    } else {
      // Whole steps: weather's held step is written after news's, contiguously.
      const weatherStep = events.findIndex((e) => nodeOf(e) === 'weather');
      expect(weatherStep).toBeGreaterThan(newsInput);
      expect(events[weatherStep - 1]?.type).toBe('start-step');
    }
    const message = await toUIMessage(events);
    const text = (message?.parts ?? []).flatMap((part) => (part.type === 'text' ? [part.text] : [])).join('\n');
    for (const node of DEMO_NODES) expect(text).toContain(DEMO_TEXT[node]);
    expect(finishes(events).every((data) => data.status === 'completed')).toBe(true);
  });
});

describe('failures and abort', () => {
  it('a failed node is reported (error chunk + data-node-finish failed); independent nodes finish; dependents are skipped', async () => {
    server.setScript(demoScript({ faults: { news: { kind: 'status', status: 400, message: 'news desk unavailable' } } }));
    const sluice = createPipeline();
    const seen = recorder();
    const mesh = buildDemoGraph({ baseURL: server.baseURL, sluice }).use(seen);
    const run = mesh.run(DEMO_INPUT);
    const events = await collect(run);

    await assertValidVelStream(events);
    const news = finishOf(events, 'news');
    expect(news).toMatchObject({ nodeId: 'news', status: 'failed', error: expect.stringContaining('news desk unavailable') });
    const errorAt = events.findIndex((e) => e.type === 'error');
    expect(errorAt).toBeGreaterThan(indexOf(events, 'data-node-start', 'news'));
    expect(errorAt).toBeLessThan(indexOf(events, 'data-node-finish', 'news'));
    expect(summarize(events).errors).toEqual([expect.stringContaining('news desk unavailable')]);
    expect(finishOf(events, 'weather')).toMatchObject({ status: 'completed' });
    expect(finishOf(events, 'writer')).toMatchObject({ status: 'skipped', error: 'dependency "news" did not complete' });
    expect(indexOf(events, 'data-node-start', 'writer')).toBe(-1);
    expect(events.at(-1)).toMatchObject({ type: 'finish', finishReason: 'error' });
    expect(requestsOf('writer')).toHaveLength(0);
    expect(summarize(events).text).toContain(DEMO_TEXT.weather);

    await seen.allReported();
    await sluice.close();
    const newsCalls = seen.calls.filter((call) => nodeOfCall(call) === 'news');
    expect(newsCalls).toHaveLength(1);
    expect(seen.reports.get(newsCalls[0]!.id)?.map((o) => o.status)).toEqual(['failed']);
    for (const call of seen.calls) expect(seen.reports.get(call.id)).toHaveLength(1);
    const result = await run.result;
    expect(result.status).toBe('failed');
    expect(Object.fromEntries(Object.entries(result.nodes).map(([id, node]) => [id, node.status]))).toEqual({ planner: 'completed', weather: 'completed', news: 'failed', writer: 'skipped' });
  });

  it('abort mid-graph stops the running nodes, never starts the rest, ends in the abort order; every call is reported exactly once', async () => {
    const weatherGate = deferred();
    const weatherRequested = deferred();
    script({ gates: { weather: weatherGate.promise, news: weatherRequested.promise } }, (node) => {
      if (node === 'weather') weatherRequested.resolve();
    });
    const sluice = createPipeline();
    const seen = recorder();
    const mesh = buildDemoGraph({ baseURL: server.baseURL, sluice }).use(seen);
    const controller = new AbortController();
    const run = mesh.run(DEMO_INPUT, { signal: controller.signal });
    const events = await collect(run, (event) => {
      // news is done while weather's model stream is held: abort now.
      if (event.type === 'data-node-finish' && (event.data as NodeFinishData).nodeId === 'news') controller.abort('user left');
    });
    weatherGate.resolve();

    await assertValidVelStream(events);
    expect(events.slice(-5).map((e) => e.type)).toEqual(['finish-step', 'data-node-finish', 'data-node-finish', 'abort', 'finish']);
    expect(events.at(-2)).toEqual({ type: 'abort', reason: 'user left' });
    expect(events.at(-1)).toMatchObject({ type: 'finish', finishReason: 'other' });
    expect(finishOf(events, 'news')).toMatchObject({ status: 'completed' });
    expect(finishOf(events, 'weather')).toMatchObject({ status: 'aborted', error: 'user left' });
    expect(finishOf(events, 'writer')).toMatchObject({ status: 'aborted' });
    expect(indexOf(events, 'data-node-start', 'writer')).toBe(-1);
    // weather's open tool call was closed before its step ended.
    const nodeOf = nodeOfEventIn(events);
    expect(events.filter((e) => nodeOf(e) === 'weather').map((e) => e.type)).toEqual(['tool-input-start', 'tool-input-error']);
    expect(requestsOf('writer')).toHaveLength(0);

    await seen.allReported();
    await sluice.close();
    expect(seen.calls.length).toBeGreaterThan(0);
    for (const call of seen.calls) expect(seen.reports.get(call.id), `${nodeOfCall(call)} call`).toHaveLength(1);
    const weatherCalls = seen.calls.filter((call) => nodeOfCall(call) === 'weather');
    expect(weatherCalls.map((call) => seen.reports.get(call.id)![0]!.status)).toEqual(['aborted']);
    expect((await run.result).status).toBe('aborted');
  });

  it('a consumer that stops reading aborts the graph; every call is still reported exactly once', async () => {
    const newsGate = deferred();
    const newsRequested = deferred();
    script({ gates: { news: newsGate.promise } }, (node) => {
      if (node === 'news') newsRequested.resolve();
    });
    const sluice = createPipeline();
    const seen = recorder();
    const mesh = buildDemoGraph({ baseURL: server.baseURL, sluice }).use(seen);
    const run = mesh.run(DEMO_INPUT);
    for await (const event of run) {
      if (event.type === 'data-node-start' && (event.data as NodeStartData).nodeId === 'news') {
        await newsRequested.promise; // news's model stream is open and held
        break;
      }
    }
    const result = await run.result;
    newsGate.resolve();
    expect(result.status).toBe('aborted');
    expect(result.nodes.news?.status).toBe('aborted');
    expect(result.nodes.writer?.status).toBe('aborted');
    await seen.allReported();
    await sluice.close();
    for (const call of seen.calls) expect(seen.reports.get(call.id)).toHaveLength(1);
    const newsCalls = seen.calls.filter((call) => nodeOfCall(call) === 'news');
    expect(newsCalls.map((call) => seen.reports.get(call.id)![0]!.status)).toEqual(['aborted']);
    expect(requestsOf('writer')).toHaveLength(0);
  });
});

/** A node that streams `text` in one step, then throws `fail` when given. */
function scriptedNode(text: string, fail?: string): NodeRunner {
  return ({ idPrefix }) => {
    async function* events(): AsyncGenerator<VelEvent> {
      yield { type: 'start' };
      yield { type: 'start-step' };
      yield { type: 'text-start', id: `${idPrefix}-t` };
      yield { type: 'text-delta', id: `${idPrefix}-t`, delta: text };
      if (fail) throw new Error(fail);
      yield { type: 'text-end', id: `${idPrefix}-t` };
      yield { type: 'finish-step' };
      yield { type: 'finish', finishReason: 'stop' };
    }
    return { events: events(), output: Promise.resolve(text) };
  };
}

describe('graph validation and custom nodes', () => {
  const ok = scriptedNode('ok');

  it('rejects bad graphs with typed errors naming the problem', () => {
    const duplicate = () => createOrchestrator().node('a', ok).node('a', ok);
    expect(duplicate).toThrow(DuplicateNodeError);
    expect(duplicate).toThrow('duplicate node id "a"');

    const unknown = createOrchestrator().node('a', ok).edge('a', 'ghost');
    expect(() => unknown.run('x')).toThrow(UnknownNodeError);
    try {
      unknown.validate();
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(GraphValidationError);
      expect(error).toMatchObject({ code: 'MESH_UNKNOWN_NODE', nodeId: 'ghost', edge: ['a', 'ghost'], message: expect.stringContaining('unknown node "ghost"') });
    }

    const cyclic = createOrchestrator().node('start', ok).node('a', ok).node('b', ok).node('c', ok).edge('start', 'a').edge('a', 'b').edge('b', 'c').edge('c', 'a');
    try {
      cyclic.run('x');
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(GraphCycleError);
      const cycle = (error as GraphCycleError).cycle;
      expect(cycle[0]).toBe(cycle.at(-1));
      expect(new Set(cycle)).toEqual(new Set(['a', 'b', 'c']));
      expect(cycle).toHaveLength(4);
      expect((error as GraphCycleError).code).toBe('MESH_CYCLE');
    }
    expect(() => createOrchestrator().node('a', ok).edge('a', 'a').validate()).toThrow('the graph has a cycle: "a" → "a"');

    expect(() => createOrchestrator().node('', ok)).toThrow(InvalidNodeError);
    expect(() => createOrchestrator().node('a', 'not a runner' as unknown as NodeRunner)).toThrow(InvalidNodeError);
    expect(createOrchestrator().node('b', ok).node('a', ok).edge('a', 'b').edge('a', 'b').validate()).toEqual(['a', 'b']);
  });

  it('a node that throws mid-stream: its open blocks and step are closed, an error chunk names it, its dependents are skipped', async () => {
    const mesh = createOrchestrator()
      .node('broken', scriptedNode('half an answer', 'boom'))
      .node('fine', ok)
      .node('after-broken', ok)
      .node('after-fine', ok)
      .edge('broken', 'after-broken')
      .edge('fine', 'after-fine');
    const run = mesh.run('x');
    const events = await collect(run);
    await assertValidVelStream(events);
    const nodeOf = nodeOfEventIn(events);
    expect(events.filter((e) => nodeOf(e) === 'broken').map((e) => e.type)).toEqual(['text-start', 'text-delta', 'text-end']);
    expect(events.find((e) => e.type === 'error')).toEqual({ type: 'error', errorText: 'node "broken" failed: boom' });
    expect(finishOf(events, 'broken')).toEqual({ nodeId: 'broken', status: 'failed', error: 'boom' });
    expect(finishOf(events, 'after-broken')).toMatchObject({ status: 'skipped' });
    expect(finishOf(events, 'after-fine')).toMatchObject({ status: 'completed' });
    expect((await run.result).nodes['after-fine']).toMatchObject({ status: 'completed', output: 'ok' });
  });

  it('runNodeThroughSluice: one node for an external orchestrator — a complete stream with every id namespaced, its output and usage', async () => {
    const sluice = createPipeline();
    const seen = recorder();
    sluice.use(seen);
    const agent = new Agent({
      name: 'weather',
      instructions: '[mesh:weather] You report the weather; use the get_weather tool.',
      model: 'weather',
      tools: [agentTool({ name: 'get_weather', description: 'Weather', parameters: z.object({ city: z.string() }), execute: async ({ city }) => weatherReport(city) })],
    });
    const client = new OpenAI({ baseURL: server.baseURL, apiKey: 'sk-test', maxRetries: 0 });
    const node = agentsNode({ agent, slots: [{ slotId: 'weather', label: 'Weather', selectionMode: 'locked', requiredModel: 'openai/gpt-fake' }], client, runConfig: { tracingDisabled: true } });
    const run = runNodeThroughSluice(node, { sluice, input: 'Weather in Lisbon?', idPrefix: 'ext-weather', nodeId: 'weather' });
    const events = await collect(run.events);
    await assertValidVelStream(events);
    const ids = events.flatMap((e) => (idOf(e) === undefined ? [] : [idOf(e)!]));
    expect(ids.length).toBeGreaterThan(0);
    expect(ids.every((id) => id.startsWith('ext-weather-'))).toBe(true);
    expect(ids).toContain(`ext-weather-${SHARED_TOOL_CALL_ID}`);
    expect(await run.output).toBe(DEMO_TEXT.weather);
    expect(pick(await run.usage)).toEqual(expectedUsage('weather'));
    await seen.allReported();
    expect(seen.calls.map(nodeOfCall)).toEqual(['weather', 'weather']);
  });
});

describe('npm start (examples/mesh)', () => {
  const main = join(dirname(fileURLToPath(import.meta.url)), 'main.ts');
  const demo = (...args: string[]) =>
    promisify(execFile)(process.execPath, ['--conditions=sluice:source', main, ...args], { env: { PATH: process.env.PATH, OPENAI_API_KEY: 'sk-should-not-be-used' }, timeout: 60_000 });

  it.each(['atomic-steps', 'live'])('shows all four nodes, their text, a line per model call and the total (%s)', async (interleave) => {
    const { stdout } = await demo('--delay', '0', '--interleave', interleave);
    const lines = stdout.split('\n');
    const at = (needle: string) => lines.findIndex((l) => l.includes(needle));
    for (const node of DEMO_NODES) {
      expect(at(`▶ ${node} started`), node).toBeGreaterThan(-1);
      expect(at(`■ ${node} completed · ${expectedUsage(node).totalTokens} tokens`), node).toBeGreaterThan(at(`▶ ${node} started`));
      expect(stdout).toContain(`[${node}] ${DEMO_TEXT[node].split(' ').slice(0, 3).join(' ')}`);
    }
    expect(at('▶ writer started')).toBeGreaterThan(Math.max(at('■ weather completed'), at('■ news completed')));
    expect(at('[weather] tool call → get_weather({"city":"Lisbon"})')).toBeGreaterThan(-1);
    expect(at('[news] tool result ← 1. Lisbon startup')).toBeGreaterThan(-1);
    expect(lines.filter((l) => l.includes('· model call ')).length).toBe(6);
    const total = DEMO_NODES.reduce((sum, node) => sum + expectedUsage(node).totalTokens!, 0);
    expect(stdout).toContain(`Total: ${total} tokens`);
    expect(stdout).toContain('over 4 nodes and 6 model calls (finish: stop)');
    expect(stdout).not.toContain('sk-should-not-be-used');
  });

  it('a bad option value is a clear error', async () => {
    const failed = await demo('--interleave', 'sideways').catch((error: { code: number; stderr: string }) => error);
    expect(failed).toMatchObject({ code: 2, stderr: expect.stringContaining('--interleave must be "atomic-steps" or "live"') });
  });
});
