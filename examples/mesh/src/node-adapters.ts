// Why this file exists: an orchestrator (this example's, or any other) needs one thing per node —
// "run this node's agent through Sluice and give me Vel events". These adapters do that for an
// OpenAI Agents SDK agent and for an AI SDK `streamText` call: the model calls go through the
// pipeline (so every plugin registered on it sees them, tagged with the node's id), and the run
// comes back as one complete Vel stream whose ids are namespaced by the node's `idPrefix`.
import { Runner, type Agent, type AgentOutputType, type ModelProvider, type RunConfig } from '@openai/agents';
import type { ExecutionScope, Pipeline, Usage, VelEvent } from '@sluice/core';
import { createModelProvider, type AgentsModelProviderOptions } from '@sluice/core/agents';
import { createSluiceModel, type SluiceModelOptions } from '@sluice/core/ai-sdk';
import { randomIdPrefix, velStreamFromRun, velStreamFromStreamText } from '@sluice/plugin-vel';
import { isStepCount, streamText, type LanguageModel, type ToolSet } from 'ai';
import { createIdNamespacer } from './node-stream.ts';

/** The `ModelCall.attributes` key the adapters set to the node's id, for plugins (spans, audit, logs). */
export const NODE_ID_ATTRIBUTE = 'mesh.node.id';

/** What a node gets when it runs. */
export interface NodeContext {
  nodeId: string;
  /** The graph's input (the same for every node). */
  input: string;
  /** The outputs of the node's dependencies, by node id. */
  dependencies: Readonly<Record<string, string>>;
  /** The pipeline every model call of the node must go through. */
  sluice: Pipeline;
  /** Aborted when the graph is aborted (or its consumer stops reading). */
  signal: AbortSignal;
  /** Namespace for the node's Vel ids (`velStreamFromRun(result, { idPrefix })`). */
  idPrefix: string;
  /** The execution scope of the graph run, if any (already applied with `sluice.withScope`). */
  scope: ExecutionScope | undefined;
}

/** A running node, as its runner returns it. */
export interface NodeExecution {
  /**
   * The node's own complete Vel stream (`start` … `finish`, usage in `finish.messageMetadata.usage`),
   * ids namespaced by `context.idPrefix`. A run that fails or is aborted still ends the stream
   * properly (an `error` chunk, or the abort order).
   */
  events: AsyncIterable<VelEvent>;
  /** The node's answer, settled once `events` is over; rejects when the run failed. */
  output: Promise<string>;
}

/** Runs one node: starts the work at once and returns its events and output. */
export type NodeRunner = (context: NodeContext) => NodeExecution | Promise<NodeExecution>;

/**
 * The default prompt of a node: the graph input, then each dependency's output under a heading.
 *
 * @example
 * defaultNodeInput({ input: 'Brief me', dependencies: { weather: 'Sunny' } }) // "Brief me\n\n## weather\nSunny"
 */
export function defaultNodeInput(context: Pick<NodeContext, 'input' | 'dependencies'>): string {
  const sections = Object.entries(context.dependencies).map(([id, output]) => `## ${id}\n${output}`);
  return sections.length === 0 ? context.input : `${context.input}\n\n${sections.join('\n\n')}`;
}

function textOf(output: unknown): string {
  if (typeof output === 'string') return output;
  if (output === undefined || output === null) return '';
  return JSON.stringify(output) ?? String(output);
}

function noop(): void {}

/** One instance per pipeline and node id, so each node's calls carry its id and nothing is rebuilt per run. */
function perPipeline<T>(build: (sluice: Pipeline, nodeId: string) => T): (sluice: Pipeline, nodeId: string) => T {
  const cache = new WeakMap<Pipeline, Map<string, T>>();
  return (sluice, nodeId) => {
    let byNode = cache.get(sluice);
    if (!byNode) cache.set(sluice, (byNode = new Map()));
    let value = byNode.get(nodeId);
    if (value === undefined) byNode.set(nodeId, (value = build(sluice, nodeId)));
    return value;
  };
}

/** How an Agents node reaches its model: a provider you built, or the options of `createModelProvider`. */
export type AgentsNodeModel =
  /** A provider already wrapping the pipeline you pass to the orchestrator (its calls are not tagged with the node id). */
  | { modelProvider: ModelProvider }
  /** `createModelProvider(context.sluice, options)` is built per pipeline and node; calls get {@link NODE_ID_ATTRIBUTE}. */
  | ({ modelProvider?: undefined } & AgentsModelProviderOptions);

/** Options of {@link agentsNode}. */
export type AgentsNodeOptions<TContext, TOutput extends AgentOutputType> = AgentsNodeModel & {
  agent: Agent<TContext, TOutput>;
  /** The run input. Default: {@link defaultNodeInput}. */
  input?: (context: NodeContext) => string;
  /** Runner settings besides the model provider (e.g. `{ tracingDisabled: true }`). */
  runConfig?: Partial<Omit<RunConfig, 'modelProvider'>>;
  maxTurns?: number;
  /** The Agents SDK run context handed to tools. */
  runContext?: TContext;
};

/**
 * A node running an OpenAI Agents SDK agent through Sluice:
 * `new Runner({ modelProvider: createModelProvider(sluice, …) }).run(agent, input, { stream: true, signal })`,
 * translated with `velStreamFromRun(result, { idPrefix, signal })`. Output: the run's `finalOutput`
 * (JSON text when it is not a string).
 *
 * @example
 * orchestrator.node('weather', agentsNode({ agent, slots: [slot], client }));
 */
export function agentsNode<TContext, TOutput extends AgentOutputType>(options: AgentsNodeOptions<TContext, TOutput>): NodeRunner {
  const { agent, input = defaultNodeInput, runConfig, maxTurns, runContext, modelProvider, ...providerOptions } = options;
  const providerFor = perPipeline((sluice, nodeId) =>
    createModelProvider(sluice, {
      ...(providerOptions as AgentsModelProviderOptions),
      attributes: (slot, request) => ({ [NODE_ID_ATTRIBUTE]: nodeId, ...(providerOptions as AgentsModelProviderOptions).attributes?.(slot, request) }),
    }),
  );
  return (context) => {
    const runner = new Runner({ ...runConfig, modelProvider: modelProvider ?? providerFor(context.sluice, context.nodeId) });
    const started = runner.run(agent, input(context), {
      stream: true,
      signal: context.signal,
      ...(maxTurns !== undefined ? { maxTurns } : {}),
      ...(runContext !== undefined ? { context: runContext } : {}),
    });
    started.catch(noop); // observed through `events` and `output`
    async function* runEvents(): AsyncGenerator<unknown> {
      yield* await started; // a run that fails to start fails the stream: start, error, finish
    }
    return {
      events: velStreamFromRun(runEvents(), { idPrefix: context.idPrefix, signal: context.signal }),
      output: started.then(async (result) => {
        await result.completed;
        // An aborted run has no final output (and the SDK warns when it is read).
        if (result.cancelled || context.signal.aborted) throw new Error('the run was aborted before its final output');
        return textOf(result.finalOutput);
      }),
    };
  };
}

/** Options of {@link aiSdkNode}. */
export interface AiSdkNodeOptions<TOOLS extends ToolSet> {
  /**
   * `createSluiceModel` options (the model is built per pipeline and node, on `context.sluice`, and
   * its calls get {@link NODE_ID_ATTRIBUTE}), or a model you built on the same pipeline
   * (`createSluiceModel` / `sluiceMiddleware`).
   */
  model: SluiceModelOptions | Exclude<LanguageModel, string>;
  tools?: TOOLS;
  system?: string;
  /** The prompt. Default: {@link defaultNodeInput}. */
  prompt?: (context: NodeContext) => string;
  /** Model calls at most (`stopWhen: isStepCount(maxSteps)`). Default 5. */
  maxSteps?: number;
  /** `streamText`'s retries; each retry is a new call through the pipeline. Default: the AI SDK's. */
  maxRetries?: number;
}

function isSluiceModelOptions(model: AiSdkNodeOptions<ToolSet>['model']): model is SluiceModelOptions {
  return !('specificationVersion' in model);
}

/**
 * A node running AI SDK `streamText` through Sluice (a model from `createSluiceModel(sluice, …)`),
 * translated with `velStreamFromStreamText(result.fullStream, { idPrefix, signal })`. Output: the
 * text of the last step.
 *
 * @example
 * orchestrator.node('news', aiSdkNode({ model: { model: 'gpt-4.1-mini', api: 'chat_completions' }, tools, system }));
 */
export function aiSdkNode<TOOLS extends ToolSet>(options: AiSdkNodeOptions<TOOLS>): NodeRunner {
  const { model, tools, system, prompt = defaultNodeInput, maxSteps = 5, maxRetries } = options;
  const modelFor = perPipeline((sluice, nodeId) => {
    if (!isSluiceModelOptions(model)) return model;
    return createSluiceModel(sluice, { ...model, attributes: (params) => ({ [NODE_ID_ATTRIBUTE]: nodeId, ...model.attributes?.(params) }) });
  });
  return (context) => {
    const result = streamText({
      model: modelFor(context.sluice, context.nodeId),
      ...(system !== undefined ? { system } : {}),
      prompt: prompt(context),
      ...(tools !== undefined ? { tools } : {}),
      stopWhen: isStepCount(maxSteps),
      abortSignal: context.signal,
      ...(maxRetries !== undefined ? { maxRetries } : {}),
      // Errors reach the Vel stream as `error` chunks; the AI SDK's default would also log them.
      onError: noop,
    });
    return {
      events: velStreamFromStreamText(result.fullStream, { idPrefix: context.idPrefix, signal: context.signal }),
      output: Promise.resolve(result.text),
    };
  };
}

/** Options of {@link runNodeThroughSluice}. */
export interface RunNodeOptions {
  sluice: Pipeline;
  input: string;
  /** Outputs of the node's dependencies. Default none. */
  dependencies?: Readonly<Record<string, string>>;
  signal?: AbortSignal;
  /** Default: a random prefix. Give each node of one stream its own. */
  idPrefix?: string;
  /** Applied with `sluice.withScope` around the start of the run. */
  scope?: ExecutionScope;
  /** Default `"node"`. Tags the node's model calls ({@link NODE_ID_ATTRIBUTE}). */
  nodeId?: string;
}

/** A node run through {@link runNodeThroughSluice}. */
export interface NodeRun {
  /**
   * The node's complete Vel stream, every id under `${idPrefix}-` (tool call ids from the provider
   * included); a runner that throws becomes `start`, `error`, `finish`. Iterate once.
   */
  events: AsyncIterable<VelEvent>;
  /** The node's answer; rejects when the node failed. */
  output: Promise<string>;
  /** The usage of the node's `finish` chunk, once `events` is over (`undefined` without one). */
  usage: Promise<Usage | undefined>;
}

async function* failedStream(error: unknown, signal: AbortSignal): AsyncGenerator<VelEvent> {
  yield { type: 'start' };
  if (signal.aborted) {
    yield { type: 'abort', reason: typeof signal.reason === 'string' ? signal.reason : 'aborted' };
    yield { type: 'finish', finishReason: 'other' };
    return;
  }
  yield { type: 'error', errorText: error instanceof Error ? error.message : String(error) };
  yield { type: 'finish', finishReason: 'error' };
}

/**
 * Runs one node through Sluice, for any orchestrator: builds the {@link NodeContext}, starts the
 * runner inside `sluice.withScope(scope)`, and returns its Vel events, output and usage. The run
 * starts at once; iterate `events` to follow it.
 *
 * @example
 * const run = runNodeThroughSluice(agentsNode({ agent, slots, client }), { sluice, input: 'Weather in Paris?', idPrefix: 'weather' });
 * for await (const event of run.events) ui.send(event);
 * console.log(await run.output, await run.usage);
 */
export function runNodeThroughSluice(runner: NodeRunner, options: RunNodeOptions): NodeRun {
  const { sluice, scope } = options;
  const signal = options.signal ?? new AbortController().signal;
  const context: NodeContext = {
    nodeId: options.nodeId ?? 'node',
    input: options.input,
    dependencies: { ...options.dependencies },
    sluice,
    signal,
    idPrefix: options.idPrefix ?? randomIdPrefix(),
    scope,
  };
  let execution: Promise<NodeExecution>;
  try {
    execution = Promise.resolve(scope ? sluice.withScope(scope, () => runner(context)) : runner(context));
  } catch (error) {
    execution = Promise.reject(error);
  }
  let settleUsage!: (usage: Usage | undefined) => void;
  const usage = new Promise<Usage | undefined>((resolve) => (settleUsage = resolve));
  const namespace = createIdNamespacer(context.idPrefix);
  async function* events(): AsyncGenerator<VelEvent> {
    let finishUsage: Usage | undefined;
    try {
      let source: AsyncIterable<VelEvent>;
      try {
        source = (await execution).events;
      } catch (error) {
        source = failedStream(error, signal);
      }
      for await (const event of source) {
        if (event.type === 'finish') finishUsage = (event.messageMetadata as { usage?: Usage } | undefined)?.usage;
        yield namespace(event);
      }
    } finally {
      settleUsage(finishUsage);
    }
  }
  const output = execution.then((run) => run.output);
  output.catch(noop); // a failed node is also reported in its events; callers awaiting still see the rejection
  return { events: events(), output, usage };
}
