// Why this file exists: every failure Sluice surfaces is a class with a stable `code` an app can
// branch on, naming what was wrong and what would be valid — and never carrying a secret.

/** A call that a `prepare` tap refused: `deny` (not permitted) or `blocked` (permitted, not now). */
export type DenialKind = 'deny' | 'blocked';

/**
 * Thrown when authorization refuses a model call. The model endpoint received nothing.
 *
 * `kind` tells a permanent refusal (`deny`: revoked delegation, model not allowed) from a
 * temporary one (`blocked`: budget exhausted, queue full; see `retryAfterMs`).
 */
export class ExecutionDeniedError extends Error {
  override readonly name = 'ExecutionDeniedError';
  /** `SLUICE_EXECUTION_DENIED` or `SLUICE_EXECUTION_BLOCKED`. */
  readonly code: 'SLUICE_EXECUTION_DENIED' | 'SLUICE_EXECUTION_BLOCKED';
  readonly kind: DenialKind;
  /** The reason code given by the authorizer, e.g. `delegation_revoked`, `budget_exceeded`. */
  readonly reasonCode: string;
  /** The authorizer's execution id, when it issued one. */
  readonly executionId: string | undefined;
  /** For `blocked`: how long to wait before trying again, when known. */
  readonly retryAfterMs: number | undefined;
  /** The authorizer's own message, without the prefix this error adds. */
  readonly reasonMessage: string;
  /** The name of the plugin whose `prepare` tap answered. */
  readonly decidedBy: string | undefined;

  constructor(denial: {
    kind: DenialKind;
    reasonCode: string;
    message: string;
    executionId?: string | undefined;
    retryAfterMs?: number | undefined;
    decidedBy?: string | undefined;
  }) {
    super(`Model call ${denial.kind === 'deny' ? 'denied' : 'blocked'} (${denial.reasonCode}): ${denial.message}`);
    this.kind = denial.kind;
    this.code = denial.kind === 'deny' ? 'SLUICE_EXECUTION_DENIED' : 'SLUICE_EXECUTION_BLOCKED';
    this.reasonCode = denial.reasonCode;
    this.reasonMessage = denial.message;
    this.executionId = denial.executionId;
    this.retryAfterMs = denial.retryAfterMs;
    this.decidedBy = denial.decidedBy;
  }
}

/**
 * A plugin threw in a hook that fails the call closed (`beforePrepare`, `prepare`, `onAllow`),
 * or in an isolated hook (`onEvent`, `onReport`, `onDeny`) — then it is handed to `onPluginError`.
 */
export class SluicePluginError extends Error {
  override readonly name = 'SluicePluginError';
  readonly code = 'SLUICE_PLUGIN_ERROR';
  /** The plugin's name (the tap name). */
  readonly plugin: string;
  /** The hook the plugin was running in. */
  readonly hook: string;

  constructor(plugin: string, hook: string, cause: unknown) {
    super(`Plugin "${plugin}" failed in ${hook}: ${describeError(cause)}`, { cause });
    this.plugin = plugin;
    this.hook = hook;
  }
}

/** Invalid configuration or arguments: names the option, what was given and what is expected. */
export class SluiceConfigError extends Error {
  override readonly name = 'SluiceConfigError';
  readonly code = 'SLUICE_INVALID_CONFIG';
  /** The option or argument that was wrong, e.g. `slots[0].slotId`. */
  readonly field: string;

  constructor(field: string, message: string) {
    super(`Invalid ${field}: ${message}`);
    this.field = field;
  }
}

/** The pipeline is closing or closed: it takes no new model calls. */
export class SluiceClosedError extends Error {
  override readonly name = 'SluiceClosedError';
  readonly code = 'SLUICE_CLOSED';

  constructor() {
    super('The Sluice pipeline is shutting down and takes no new model calls');
  }
}

/** A predictable one-line description of any thrown value (strings, empty errors, unknowns). */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message || error.name || 'Error';
  if (typeof error === 'string') return error || 'empty error string';
  if (error === undefined || error === null) return `no error value (${String(error)})`;
  try {
    return JSON.stringify(error) ?? String(error);
  } catch {
    return Object.prototype.toString.call(error);
  }
}
