// Why this file exists: route handlers and raw `fetch` users report one execution's result
// themselves; this reporter makes that exactly-once and predictable whatever they pass it.
import { SluiceConfigError, type Usage } from '@sluice/core';
import { createOpenAiCompatibleUsageReportInput, failedErrorFrom, toWireUsage } from './report-body.ts';
import type { ReportRequest, WireUsage } from './protocol.ts';
import type { VelaClient } from './vela-client.ts';

/** What a report call resolved to. */
export interface ReportResult {
  /** False when an earlier call had already settled this execution: nothing was sent. */
  sent: boolean;
  /** True when Vela said an earlier report (e.g. from another process) already settled it. */
  alreadyReported: boolean;
}

/** Completion details for {@link ResultReporter.reportCompletedWithUsage}. */
export interface CompletedInput {
  /** Normalized Sluice usage, or OpenAI usage of either API (`prompt_tokens`… / `input_tokens`…). */
  usage?: Usage | WireUsage | Record<string, unknown> | null;
  /** Final cost; default: the estimate given at prepare. */
  costUsd?: number;
  responseId?: string;
  finishReason?: string;
  durationMs?: number;
  timeToFirstTokenMs?: number;
}

/** Reports one execution's result; the first report settles it, later ones send nothing. */
export interface ResultReporter {
  readonly settled: boolean;
  reportCompletedWithUsage(input?: CompletedInput): Promise<ReportResult>;
  reportFailedWithError(error: unknown): Promise<ReportResult>;
  reportAborted(reason?: string): Promise<ReportResult>;
  /** As {@link ResultReporter.reportCompletedWithUsage}, but never throws: failures go to `onReportError`. */
  tryReportCompletedWithUsage(input?: CompletedInput): Promise<ReportResult | undefined>;
  tryReportFailedWithError(error: unknown): Promise<ReportResult | undefined>;
  tryReportAborted(reason?: string): Promise<ReportResult | undefined>;
}

function normalizeUsage(usage: CompletedInput['usage']): WireUsage | undefined {
  if (usage === undefined || usage === null) return undefined;
  if (typeof usage !== 'object') throw new SluiceConfigError('usage', `expected a usage object, got ${typeof usage}`);
  if ('prompt_tokens' in usage || 'input_tokens' in usage || 'completion_tokens' in usage || 'output_tokens' in usage) {
    return createOpenAiCompatibleUsageReportInput(usage);
  }
  return toWireUsage(usage as Usage);
}

/** @internal Built by `prepareExecutionWithResponse` for an allowed execution. */
export function createResultReporter(init: {
  client: VelaClient;
  executionId: string;
  estimatedCostUsd: number;
  onReportError?: ((error: unknown) => void) | undefined;
}): ResultReporter {
  let settled = false;
  const send = async (build: () => ReportRequest): Promise<ReportResult> => {
    if (settled) return { sent: false, alreadyReported: true };
    const body = build(); // may throw on bad input: the execution is not settled then
    settled = true;
    const answer = await init.client.report(init.executionId, body);
    return { sent: true, alreadyReported: answer.alreadyReported };
  };
  const tryTo = async (report: () => Promise<ReportResult>) => {
    try {
      return await report();
    } catch (error) {
      init.onReportError?.(error);
      return undefined;
    }
  };
  const reporter: ResultReporter = {
    get settled() {
      return settled;
    },
    reportCompletedWithUsage: (input = {}) =>
      send(() => {
        const body: ReportRequest = { status: 'completed', costUsd: input.costUsd ?? init.estimatedCostUsd };
        const usage = normalizeUsage(input.usage);
        if (usage) body.usage = usage;
        if (input.responseId !== undefined) body.responseId = input.responseId;
        if (input.finishReason !== undefined) body.finishReason = input.finishReason;
        if (input.durationMs !== undefined) body.durationMs = input.durationMs;
        if (input.timeToFirstTokenMs !== undefined) body.timeToFirstTokenMs = input.timeToFirstTokenMs;
        if (body.costUsd !== undefined && !(Number.isFinite(body.costUsd) && body.costUsd >= 0)) throw new SluiceConfigError('costUsd', 'expected a finite number ≥ 0');
        return body;
      }),
    reportFailedWithError: (error) => send(() => ({ status: 'failed', error: failedErrorFrom(error) })),
    reportAborted: (reason = 'aborted') => send(() => ({ status: 'aborted', reason })),
    tryReportCompletedWithUsage: (input) => tryTo(() => reporter.reportCompletedWithUsage(input)),
    tryReportFailedWithError: (error) => tryTo(() => reporter.reportFailedWithError(error)),
    tryReportAborted: (reason) => tryTo(() => reporter.reportAborted(reason)),
  };
  return reporter;
}
