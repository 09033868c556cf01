// Why this file exists: `vela()` is the governance plugin — it asks Vela before every model call
// (the relay settings of an allow become the call's endpoint) and leaves exactly one report per
// allowed execution, durably, even when Vela is down at report time.
import { SluiceConfigError, type Decision, type ModelCall, type ModelSlot, type Outcome, type SluicePlugin } from '@sluice/core';
import { VelaUnavailableError } from './errors.ts';
import { createMemoryOutbox, createSqliteOutbox, type Outbox } from './outbox.ts';
import type { PrepareRequest } from './protocol.ts';
import { ReportDelivery } from './report-delivery.ts';
import { reportFromOutcome } from './report-body.ts';
import type { VelaClient } from './vela-client.ts';

const NAME = 'vela';

/** Options of {@link vela}. */
export interface VelaPluginOptions {
  client: VelaClient;
  /**
   * Slots for calls that do not carry one (`wrapOpenAI`, AI SDK models), matched by model name.
   * An unmatched call is sent as a locked slot named after its model (`openai/<model>`).
   */
  slots?: readonly ModelSlot[];
  /** The estimate Vela holds against the budget. Default: the call's `estimatedCostUsd`, else `defaultEstimateUsd`. */
  estimateCostUsd?: (call: ModelCall) => number | undefined;
  /** Default 0.01. */
  defaultEstimateUsd?: number;
  /** Final cost of a completed call; default: the outcome's `costUsd`, else Vela prices the usage. */
  priceUsd?: (call: ModelCall, outcome: Extract<Outcome, { status: 'completed' }>) => number | undefined;
  /**
   * `closed` (default): Vela unreachable → the call fails with an error naming Vela and its URL.
   * `open`: DANGEROUS — the call proceeds unauthorized, on the integration's default client, with
   * no audit record; `onFailOpen` is told. Only 'Vela unreachable' fails open, never a 4xx.
   */
  failMode?: 'closed' | 'open';
  onFailOpen?: (error: VelaUnavailableError, call: ModelCall) => void;
  /** Per-attempt timeout of prepare. Default: the client's. */
  timeoutMs?: number;
  /** Undelivered reports: a SQLite file path (durable across restarts), an {@link Outbox}, or memory (default). */
  outbox?: string | Outbox;
  /** A report Vela refused for good (kept in the outbox as dead). */
  onReportError?: (error: Error, executionId: string) => void;
  /** How long `pipeline.close()` waits for pending reports. Default 5,000 ms. */
  closeTimeoutMs?: number;
  /** Report retry backoff. Defaults: 250 ms doubling to 30 s. */
  reportRetry?: { initialBackoffMs?: number; maxBackoffMs?: number };
}

/** The Vela plugin instance: a Sluice plugin plus its report delivery state. */
export interface VelaPlugin extends SluicePlugin {
  /** Reports not yet delivered to Vela. */
  pendingReports(): number;
  /** Sends pending reports now; resolves with what is left after `timeoutMs`. */
  flushReports(timeoutMs?: number): Promise<{ pending: number }>;
}

function slotFor(call: ModelCall, slots: readonly ModelSlot[] | undefined): ModelSlot {
  if (call.slot) return call.slot;
  const matched = slots?.find((slot) => slot.requiredModel === call.model || slot.requiredModel.endsWith(`/${call.model}`));
  if (matched) return matched;
  return { slotId: call.model, label: call.model, selectionMode: 'locked', requiredModel: call.model.includes('/') ? call.model : `openai/${call.model}` };
}

function metadataOf(call: ModelCall): NonNullable<PrepareRequest['metadata']> {
  const metadata: NonNullable<PrepareRequest['metadata']> = { callId: call.id, source: call.source, stream: call.stream };
  const runId = call.attributes.runId;
  if (typeof runId === 'string' || typeof runId === 'number') metadata.runId = runId;
  return metadata;
}

/**
 * The Vela plugin: authorizes each model call (`prepare`) and reports its result (`onReport`).
 *
 * @example
 * const sluice = createPipeline({ plugins: [vela({ client: createVelaClientFromEnvironment(), outbox: './vela-outbox.sqlite' })] });
 */
export function vela(options: VelaPluginOptions): VelaPlugin {
  if (!options || typeof options.client?.prepare !== 'function') throw new SluiceConfigError('client', 'expected a Vela client (createVelaClient or createVelaClientFromEnvironment)');
  const failMode = options.failMode ?? 'closed';
  if (failMode !== 'closed' && failMode !== 'open') throw new SluiceConfigError('failMode', `expected "closed" or "open", got ${JSON.stringify(failMode)}`);
  const defaultEstimate = options.defaultEstimateUsd ?? 0.01;
  const ownsOutbox = typeof options.outbox !== 'object';
  const outbox = typeof options.outbox === 'string' ? createSqliteOutbox(options.outbox) : (options.outbox ?? createMemoryOutbox());
  const delivery = new ReportDelivery({ client: options.client, outbox, onReportError: options.onReportError, ...options.reportRetry });
  const executions = new WeakMap<ModelCall, string>();
  let started = false;

  return {
    name: NAME,
    apply(hooks) {
      if (!started) {
        started = true;
        delivery.start();
      }
      hooks.prepare.tapPromise(NAME, async (call): Promise<Decision | undefined> => {
        const scope = call.scope;
        if (!scope) {
          throw new SluiceConfigError('scope', 'Vela authorizes every call for a tenant: give the call an execution scope (the integration\'s `scope` option or sluice.withScope())');
        }
        const estimate = call.estimatedCostUsd ?? options.estimateCostUsd?.(call) ?? defaultEstimate;
        const slot = slotFor(call, options.slots);
        const executionScope: PrepareRequest['executionScope'] = { customerTenantId: scope.customerTenantId, delegationId: scope.delegationId };
        if (scope.userId !== undefined) executionScope.userId = scope.userId;
        let answer;
        try {
          // Not tied to call.signal: if the caller aborts meanwhile, the answer is still recorded so
          // the aborted report releases Vela's budget hold.
          answer = await options.client.prepare(
            { executionScope, modelSlot: { slotId: slot.slotId, label: slot.label, selectionMode: slot.selectionMode, requiredModel: slot.requiredModel }, api: call.api, estimatedCostUsd: estimate, metadata: metadataOf(call) },
            call.id,
            options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {},
          );
        } catch (error) {
          if (failMode === 'open' && error instanceof VelaUnavailableError) {
            options.onFailOpen?.(error, call);
            return undefined;
          }
          throw error;
        }
        if (answer.outcome !== 'allow') {
          const denial: Decision = { outcome: answer.outcome, code: answer.reason.code, message: answer.reason.message, executionId: answer.executionId };
          if (answer.retryAfterMs !== undefined) denial.retryAfterMs = answer.retryAfterMs;
          return denial;
        }
        executions.set(call, answer.executionId);
        const allow: Decision = {
          outcome: 'allow',
          executionId: answer.executionId,
          relay: { baseURL: answer.relay.baseUrl, apiKey: answer.relay.apiKey, model: answer.relay.model, expiresAt: answer.relay.expiresAt },
        };
        if (answer.budget) allow.budget = answer.budget;
        return allow;
      });
      hooks.onReport.tap(NAME, (call, outcome) => {
        const executionId = executions.get(call);
        if (executionId === undefined) return; // denied (recorded by Vela at prepare) or never prepared
        const costUsd = outcome.status === 'completed' ? (options.priceUsd?.(call, outcome) ?? outcome.costUsd) : undefined;
        const body = reportFromOutcome(outcome, costUsd);
        if (body) delivery.submit(executionId, body);
      });
    },
    pendingReports: () => delivery.pendingCount(),
    flushReports: (timeoutMs = options.closeTimeoutMs ?? 5_000) => delivery.flush(timeoutMs),
    async close() {
      await delivery.close(options.closeTimeoutMs ?? 5_000);
      if (ownsOutbox) outbox.close();
    },
  };
}
