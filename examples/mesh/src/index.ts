// Why this file exists: the public surface of the mesh example — the orchestrator, the node
// adapters an external orchestrator can use on their own, and the errors and types they speak.
export { createOrchestrator } from './orchestrator.ts';
export type {
  GraphMessageMetadata,
  GraphResult,
  GraphRun,
  GraphRunOptions,
  NodeFinishData,
  NodeResult,
  NodeStartData,
  NodeStatus,
  Orchestrator,
  OrchestratorOptions,
} from './orchestrator.ts';
export { agentsNode, aiSdkNode, defaultNodeInput, NODE_ID_ATTRIBUTE, runNodeThroughSluice } from './node-adapters.ts';
export type { AgentsNodeModel, AgentsNodeOptions, AiSdkNodeOptions, NodeContext, NodeExecution, NodeRun, NodeRunner, RunNodeOptions } from './node-adapters.ts';
export { createIdNamespacer, NodeStreamFilter } from './node-stream.ts';
export type { InterleaveMode, NodeStreamOutcome } from './node-stream.ts';
export { DuplicateNodeError, GraphCycleError, GraphValidationError, InvalidNodeError, UnknownNodeError } from './graph-errors.ts';
export type { GraphErrorCode } from './graph-errors.ts';
export { compactUsage, sumUsage } from './usage-sum.ts';
