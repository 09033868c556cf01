// Why this file exists: a graph is declared piece by piece (`node`, `edge`), so its mistakes are
// found late; each kind gets its own error class and a stable `code`, naming the node or the cycle,
// so a caller can tell them apart without parsing messages.

/** The codes of {@link GraphValidationError}. */
export type GraphErrorCode = 'MESH_INVALID_NODE' | 'MESH_DUPLICATE_NODE' | 'MESH_UNKNOWN_NODE' | 'MESH_CYCLE';

/** Base class of every graph validation error. */
export class GraphValidationError extends Error {
  readonly code: GraphErrorCode;

  constructor(code: GraphErrorCode, message: string) {
    super(message);
    this.name = 'GraphValidationError';
    this.code = code;
  }
}

/** A node id that is not a non-empty string, or a runner that is not a function. */
export class InvalidNodeError extends GraphValidationError {
  readonly nodeId: unknown;

  constructor(nodeId: unknown, problem: string) {
    super('MESH_INVALID_NODE', `invalid node ${JSON.stringify(nodeId) ?? String(nodeId)}: ${problem}`);
    this.name = 'InvalidNodeError';
    this.nodeId = nodeId;
  }
}

/** Two nodes with the same id. */
export class DuplicateNodeError extends GraphValidationError {
  readonly nodeId: string;

  constructor(nodeId: string) {
    super('MESH_DUPLICATE_NODE', `duplicate node id "${nodeId}": each node needs its own id`);
    this.name = 'DuplicateNodeError';
    this.nodeId = nodeId;
  }
}

/** An edge naming a node that was never added. */
export class UnknownNodeError extends GraphValidationError {
  readonly nodeId: string;
  readonly edge: readonly [from: string, to: string];

  constructor(nodeId: string, edge: readonly [string, string], known: readonly string[]) {
    super('MESH_UNKNOWN_NODE', `edge "${edge[0]}" → "${edge[1]}" names unknown node "${nodeId}" (known nodes: ${known.map((id) => `"${id}"`).join(', ') || 'none'})`);
    this.name = 'UnknownNodeError';
    this.nodeId = nodeId;
    this.edge = edge;
  }
}

/** The edges form a cycle, so no order can run the graph. */
export class GraphCycleError extends GraphValidationError {
  /** The cycle as a path that returns to its first node: `['a', 'b', 'a']`. */
  readonly cycle: readonly string[];

  constructor(cycle: readonly string[]) {
    super('MESH_CYCLE', `the graph has a cycle: ${cycle.map((id) => `"${id}"`).join(' → ')}`);
    this.name = 'GraphCycleError';
    this.cycle = cycle;
  }
}
