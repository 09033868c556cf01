// Why this file exists: a Mesh-like orchestrator runs a graph of agent nodes — independent nodes in
// parallel (fan-out), a node with several inputs once all of them are done (fan-in) — with every
// model call of every node going through ONE Sluice pipeline, and shows the whole graph to a UI as
// ONE Vel message: `start`, per node `data-node-start` / the node's own events / `data-node-finish`,
// then one `finish` with the usage of every node and their total.
//
// Decisions (see README.md):
// - Steps: a Vel stream may have one step open at a time, so parallel nodes' steps must not nest.
//   Default `atomic-steps`: each node's step is buffered and written contiguously when it ends;
//   `live` drops the nodes' step boundaries and streams every token as it comes (node-stream.ts).
// - Failure: a failed node is reported (an `error` chunk, then `data-node-finish` with
//   `status: 'failed'` and the error text); nodes that do not depend on it keep running; nodes that
//   depend on it, directly or not, are `skipped` (a `data-node-finish` without a start). The graph's
//   `finish` then has reason `error`.
// - Abort: the signal reaches every running node (its runs and model calls stop and are reported
//   aborted), nodes not started never start; each running node's events end in its abort order,
//   then `data-node-finish` (`aborted`) for every unfinished node, then `abort` and `finish`.
import { createPipeline, type ExecutionScope, type Pipeline, type SluicePlugin, type Usage, type VelEvent } from '@sluice/core';
import { randomIdPrefix } from '@sluice/plugin-vel';
import { DuplicateNodeError, GraphCycleError, InvalidNodeError, UnknownNodeError } from './graph-errors.ts';
import { runNodeThroughSluice, type NodeRunner } from './node-adapters.ts';
import { NodeStreamFilter, type InterleaveMode } from './node-stream.ts';
import { compactUsage, sumUsage } from './usage-sum.ts';

/** Options of {@link createOrchestrator}. */
export interface OrchestratorOptions {
  /** The pipeline every node's model calls go through. Default: a new `createPipeline()`. */
  sluice?: Pipeline;
  /** How parallel nodes share the stream. Default `atomic-steps` (see {@link InterleaveMode}). */
  interleave?: InterleaveMode;
  /**
   * After an abort, how long a node may take to wind down before the orchestrator stops reading it
   * and closes its part of the stream itself. Default 5000 ms.
   */
  abortGraceMs?: number;
}

/** Options of {@link Orchestrator.run}. */
export interface GraphRunOptions {
  /** Aborts the whole graph. */
  signal?: AbortSignal;
  /** The execution scope of every model call of every node (`sluice.withScope`). */
  scope?: ExecutionScope;
  /** `start.messageId` of the graph message. */
  messageId?: string;
}

/** How a node ended. `skipped`: a dependency did not complete; `aborted`: the graph was aborted. */
export type NodeStatus = 'completed' | 'failed' | 'aborted' | 'skipped';

/** `data-node-start.data`. */
export interface NodeStartData {
  nodeId: string;
  /** Every Vel id of the node's events starts with `${idPrefix}-`. */
  idPrefix: string;
  dependencies: string[];
}

/** `data-node-finish.data`. Every node of the graph gets exactly one. */
export interface NodeFinishData {
  nodeId: string;
  status: NodeStatus;
  /** The node's usage (its model calls summed); absent when it reported none. */
  usage?: Partial<Usage>;
  /** Why the node failed, was skipped or aborted. */
  error?: string;
}

/** `finish.messageMetadata` of the graph message. */
export interface GraphMessageMetadata {
  /** Total over all nodes. */
  usage?: Partial<Usage>;
  /** Per node that reported usage. */
  nodes: Record<string, Partial<Usage>>;
}

/** What one node came to. */
export interface NodeResult {
  status: NodeStatus;
  output?: string;
  usage?: Usage;
  error?: string;
}

/** The result of a graph run, once its stream has ended. */
export interface GraphResult {
  status: 'completed' | 'failed' | 'aborted';
  nodes: Record<string, NodeResult>;
  /** Total over all nodes. */
  usage: Usage | undefined;
}

/** One graph run: iterate it (once) for the Vel stream; `result` settles when the stream ends. */
export interface GraphRun extends AsyncIterable<VelEvent> {
  readonly result: Promise<GraphResult>;
}

/** A graph of nodes on one pipeline. */
export interface Orchestrator {
  readonly sluice: Pipeline;
  /** Registers a Sluice plugin once for every node (delegates to `sluice.use`). */
  use(plugin: SluicePlugin): Orchestrator;
  /** Adds a node. Throws {@link DuplicateNodeError} or {@link InvalidNodeError}. */
  node(id: string, runner: NodeRunner): Orchestrator;
  /** `to` runs after `from` completes and receives its output. Checked by {@link Orchestrator.validate}. */
  edge(from: string, to: string): Orchestrator;
  /** Throws {@link UnknownNodeError} or {@link GraphCycleError}; returns the node ids in a runnable order. */
  validate(): string[];
  /** Validates the graph (throwing at once), then returns the run; nothing starts before it is iterated. */
  run(input: string, options?: GraphRunOptions): GraphRun;
}

interface Plan {
  order: string[];
  runners: Map<string, NodeRunner>;
  dependencies: Map<string, string[]>;
  dependents: Map<string, string[]>;
}

/**
 * Creates an orchestrator.
 *
 * @example
 * const mesh = createOrchestrator({ sluice })
 *   .node('planner', agentsNode({ agent: planner, slots, client }))
 *   .node('news', aiSdkNode({ model: { model: 'gpt-4.1-mini', fallback }, tools }))
 *   .edge('planner', 'news');
 * for await (const event of mesh.run('Brief me')) ui.send(event);
 */
export function createOrchestrator(options: OrchestratorOptions = {}): Orchestrator {
  const sluice = options.sluice ?? createPipeline();
  const interleave = options.interleave ?? 'atomic-steps';
  const abortGraceMs = options.abortGraceMs ?? 5000;
  const runners = new Map<string, NodeRunner>();
  const edges: Array<readonly [string, string]> = [];

  const plan = (): Plan => {
    const ids = [...runners.keys()];
    const dependencies = new Map(ids.map((id) => [id, [] as string[]]));
    const dependents = new Map(ids.map((id) => [id, [] as string[]]));
    for (const edge of edges) {
      const [from, to] = edge;
      for (const id of edge) if (!runners.has(id)) throw new UnknownNodeError(id, edge, ids);
      if (dependencies.get(to)!.includes(from)) continue; // the same edge twice
      dependencies.get(to)!.push(from);
      dependents.get(from)!.push(to);
    }
    // Kahn's algorithm; what is left over lies on or behind a cycle.
    const waiting = new Map(ids.map((id) => [id, dependencies.get(id)!.length]));
    const order = ids.filter((id) => waiting.get(id) === 0);
    for (let i = 0; i < order.length; i++) {
      for (const next of dependents.get(order[i]!)!) {
        const left = waiting.get(next)! - 1;
        waiting.set(next, left);
        if (left === 0) order.push(next);
      }
    }
    if (order.length < ids.length) throw new GraphCycleError(findCycle(ids.filter((id) => waiting.get(id)! > 0), dependents));
    return { order, runners: new Map(runners), dependencies, dependents };
  };

  const orchestrator: Orchestrator = {
    sluice,
    use(plugin) {
      sluice.use(plugin);
      return orchestrator;
    },
    node(id, runner) {
      if (typeof id !== 'string' || id === '') throw new InvalidNodeError(id, 'the id must be a non-empty string');
      if (typeof runner !== 'function') throw new InvalidNodeError(id, `the runner must be a function (context) => { events, output }, got ${typeof runner}`);
      if (runners.has(id)) throw new DuplicateNodeError(id);
      runners.set(id, runner);
      return orchestrator;
    },
    edge(from, to) {
      edges.push([from, to]);
      return orchestrator;
    },
    validate: () => plan().order,
    run(input, runOptions = {}) {
      const graph = plan();
      const execution = new GraphExecution(graph, { sluice, interleave, abortGraceMs, input, ...runOptions });
      let iterated = false;
      return {
        result: execution.result,
        [Symbol.asyncIterator]() {
          if (iterated) throw new Error('a graph run can be iterated once; call run() again for another run');
          iterated = true;
          return execution.events();
        },
      };
    },
  };
  return orchestrator;
}

/** A cycle among `candidates` (nodes left over by Kahn's algorithm), as a closed path. */
function findCycle(candidates: string[], dependents: Map<string, string[]>): string[] {
  const inCandidates = new Set(candidates);
  const state = new Map<string, 'visiting' | 'done'>();
  const path: string[] = [];
  const visit = (id: string): string[] | undefined => {
    state.set(id, 'visiting');
    path.push(id);
    for (const next of dependents.get(id) ?? []) {
      if (!inCandidates.has(next)) continue;
      if (state.get(next) === 'visiting') return [...path.slice(path.indexOf(next)), next];
      if (!state.has(next)) {
        const found = visit(next);
        if (found) return found;
      }
    }
    path.pop();
    state.set(id, 'done');
    return undefined;
  };
  for (const id of candidates) {
    if (state.has(id)) continue;
    const found = visit(id);
    if (found) return found;
  }
  return candidates; // unreachable: leftovers of Kahn's algorithm always contain a cycle
}

interface ExecutionOptions extends GraphRunOptions {
  sluice: Pipeline;
  interleave: InterleaveMode;
  abortGraceMs: number;
  input: string;
}

interface NodeState extends NodeResult {
  started: boolean;
  settled: boolean;
}

const GAVE_UP = Symbol('gave up');
/** Node pumps wait while this many events are queued and unread (backpressure to the model streams). */
const HIGH_WATER_MARK = 64;

function reasonText(signal: AbortSignal): string {
  const reason: unknown = signal.reason;
  if (typeof reason === 'string') return reason;
  if (reason instanceof Error && reason.name !== 'AbortError') return reason.message;
  return 'aborted';
}

/** One run of a graph: the scheduler, the node pumps and the merged stream. */
class GraphExecution {
  readonly #plan: Plan;
  readonly #options: ExecutionOptions;
  readonly #controller = new AbortController();
  readonly #nodes = new Map<string, NodeState>();
  /** Namespace of this run's ids; node `i` uses `${prefix}-n${i}`, so no node's ids can be a prefix of another's. */
  readonly #prefix = `m${randomIdPrefix().slice(0, 6)}`;
  readonly #tasks = new Set<Promise<void>>();
  #queue: VelEvent[] = [];
  #head = 0;
  #wakeReader: (() => void) | undefined;
  #wakeWriters: Array<() => void> = [];
  #running = 0;
  #ended = false;
  #graceTimer: NodeJS.Timeout | undefined;
  #giveUp!: () => void;
  readonly #gaveUp = new Promise<typeof GAVE_UP>((resolve) => (this.#giveUp = () => resolve(GAVE_UP)));
  #settleResult!: (result: GraphResult) => void;
  readonly result = new Promise<GraphResult>((resolve) => (this.#settleResult = resolve));

  constructor(plan: Plan, options: ExecutionOptions) {
    this.#plan = plan;
    this.#options = options;
    for (const id of plan.order) this.#nodes.set(id, { status: 'skipped', started: false, settled: false });
  }

  #push(event: VelEvent): void {
    if (this.#ended) return;
    this.#queue.push(event);
    const wake = this.#wakeReader;
    this.#wakeReader = undefined;
    wake?.();
  }

  /** Resolves when the reader has caught up enough (or at once after an abort). */
  #writable(): Promise<void> | undefined {
    if (this.#queue.length - this.#head < HIGH_WATER_MARK || this.#controller.signal.aborted) return undefined;
    return new Promise((resolve) => this.#wakeWriters.push(resolve));
  }

  #releaseWriters(): void {
    const writers = this.#wakeWriters;
    this.#wakeWriters = [];
    for (const wake of writers) wake();
  }

  async *events(): AsyncGenerator<VelEvent> {
    const external = this.#options.signal;
    const forward = () => this.#controller.abort(external?.reason);
    if (external?.aborted) forward();
    else external?.addEventListener('abort', forward, { once: true });
    const onAbort = () => {
      this.#releaseWriters();
      this.#graceTimer = setTimeout(this.#giveUp, this.#options.abortGraceMs);
      this.#graceTimer.unref();
    };
    if (this.#controller.signal.aborted) onAbort();
    else this.#controller.signal.addEventListener('abort', onAbort, { once: true });

    this.#push(this.#options.messageId ? { type: 'start', messageId: this.#options.messageId } : { type: 'start' });
    this.#startReadyNodes();
    try {
      while (true) {
        while (this.#head < this.#queue.length) {
          const event = this.#queue[this.#head++]!;
          if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
            this.#queue = this.#queue.slice(this.#head);
            this.#head = 0;
          }
          if (this.#wakeWriters.length > 0 && this.#queue.length - this.#head < HIGH_WATER_MARK) this.#releaseWriters();
          yield event;
        }
        if (this.#ended) return;
        await new Promise<void>((resolve) => (this.#wakeReader = resolve));
      }
    } finally {
      if (!this.#ended) {
        // The consumer stopped reading: stop every node and let them wind down (reports exactly once).
        this.#controller.abort('consumer stopped reading');
        this.#releaseWriters();
        while (this.#tasks.size > 0) await Promise.all(this.#tasks);
        this.#finish();
      }
      external?.removeEventListener('abort', forward);
      clearTimeout(this.#graceTimer);
      this.#giveUp();
    }
  }

  /** Starts every node whose dependencies all completed; finishes the graph when nothing runs. */
  #startReadyNodes(): void {
    if (!this.#controller.signal.aborted) {
      for (const id of this.#plan.order) {
        const node = this.#nodes.get(id)!;
        if (node.started || node.settled) continue;
        if (this.#plan.dependencies.get(id)!.every((dep) => this.#nodes.get(dep)!.status === 'completed' && this.#nodes.get(dep)!.settled)) {
          node.started = true;
          this.#running++;
          const task = this.#runNode(id, node).finally(() => this.#tasks.delete(task));
          this.#tasks.add(task);
        }
      }
    }
    if (this.#running === 0) this.#finish();
  }

  #finishNode(id: string, node: NodeState): void {
    node.settled = true;
    const data: NodeFinishData = { nodeId: id, status: node.status };
    const usage = compactUsage(node.usage);
    if (usage) data.usage = usage;
    if (node.error !== undefined) data.error = node.error;
    this.#push({ type: 'data-node-finish', data });
  }

  /** Marks every node downstream of `id` as skipped. */
  #skipDependents(id: string): void {
    for (const next of this.#plan.dependents.get(id)!) {
      const node = this.#nodes.get(next)!;
      if (node.started || node.settled) continue;
      node.status = 'skipped';
      node.error = `dependency "${id}" did not complete`;
      this.#finishNode(next, node);
      this.#skipDependents(next);
    }
  }

  async #runNode(id: string, node: NodeState): Promise<void> {
    const { sluice, scope, interleave, input } = this.#options;
    const signal = this.#controller.signal;
    const idPrefix = `${this.#prefix}-n${this.#plan.order.indexOf(id)}`;
    const dependencies = this.#plan.dependencies.get(id)!;
    this.#push({ type: 'data-node-start', data: { nodeId: id, idPrefix, dependencies } satisfies NodeStartData });
    const filter = new NodeStreamFilter(interleave, (event) => this.#push(event));
    const outputs = Object.fromEntries(dependencies.map((dep) => [dep, this.#nodes.get(dep)!.output ?? '']));
    let thrown: { error: unknown } | undefined;
    let cutOff = false;
    const run = runNodeThroughSluice(this.#plan.runners.get(id)!, { sluice, input, dependencies: outputs, signal, idPrefix, nodeId: id, ...(scope ? { scope } : {}) });
    const iterator = run.events[Symbol.asyncIterator]();
    try {
      while (true) {
        const wait = this.#writable();
        if (wait) await wait;
        const next = await Promise.race([iterator.next(), this.#gaveUp]);
        if (next === GAVE_UP) {
          cutOff = true;
          iterator.return?.().catch(() => undefined);
          break;
        }
        if (next.done) break;
        filter.accept(next.value);
      }
    } catch (error) {
      thrown = { error };
    }

    const aborted = cutOff || filter.outcome.aborted || (signal.aborted && (thrown !== undefined || filter.outcome.finishReason === undefined));
    node.usage = filter.outcome.usage;
    if (aborted) {
      node.status = 'aborted';
      node.error = reasonText(signal);
    } else if (thrown || filter.failed) {
      node.status = 'failed';
      node.error = thrown ? errorText(thrown.error) : (filter.outcome.errorText ?? 'the node finished with reason "error"');
    } else {
      try {
        node.output = await run.output;
        node.status = 'completed';
      } catch (error) {
        node.status = signal.aborted ? 'aborted' : 'failed';
        node.error = signal.aborted ? reasonText(signal) : errorText(error);
      }
    }
    filter.close(node.status === 'aborted' ? 'abort' : 'end', node.error);
    if (node.status === 'failed' && filter.outcome.errorText === undefined) this.#push({ type: 'error', errorText: `node "${id}" failed: ${node.error}` });
    this.#finishNode(id, node);
    this.#running--;
    // Dependents of an aborted node are aborted with the graph (in #finish), not skipped.
    if (node.status === 'failed' || (node.status !== 'completed' && !signal.aborted)) this.#skipDependents(id);
    this.#startReadyNodes();
  }

  /** Ends the graph message once no node runs: unfinished nodes are aborted, then `abort` (when aborted) and `finish`. */
  #finish(): void {
    if (this.#ended || this.#running > 0) return;
    const signal = this.#controller.signal;
    for (const [id, node] of this.#nodes) {
      if (node.settled) continue;
      node.status = 'aborted';
      node.error = reasonText(signal);
      this.#finishNode(id, node);
    }
    const states = [...this.#nodes.values()];
    const usage = sumUsage(states.map((node) => node.usage));
    const nodes: Record<string, Partial<Usage>> = {};
    for (const [id, node] of this.#nodes) {
      const nodeUsage = compactUsage(node.usage);
      if (nodeUsage) nodes[id] = nodeUsage;
    }
    const status: GraphResult['status'] = signal.aborted ? 'aborted' : states.every((node) => node.status === 'completed') ? 'completed' : 'failed';
    if (status === 'aborted') this.#push({ type: 'abort', reason: reasonText(signal) });
    const metadata: GraphMessageMetadata = { nodes, ...(usage ? { usage: compactUsage(usage) } : {}) };
    this.#push({ type: 'finish', finishReason: status === 'aborted' ? 'other' : status === 'failed' ? 'error' : 'stop', messageMetadata: metadata });
    this.#ended = true;
    const wake = this.#wakeReader;
    this.#wakeReader = undefined;
    wake?.();
    const results: Record<string, NodeResult> = {};
    for (const [id, { status: nodeStatus, output, usage: nodeUsage, error }] of this.#nodes) {
      results[id] = { status: nodeStatus, ...(output !== undefined ? { output } : {}), ...(nodeUsage ? { usage: nodeUsage } : {}), ...(error !== undefined ? { error } : {}) };
    }
    this.#settleResult({ status, nodes: results, usage });
  }
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
