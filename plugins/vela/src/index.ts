// Why this file exists: the public surface of @sluice/plugin-vela (the dev server is the
// `@sluice/plugin-vela/dev-server` subpath, so apps do not load it).
export { vela } from './plugin.ts';
export type { VelaPlugin, VelaPluginOptions } from './plugin.ts';
export { createVelaClient } from './vela-client.ts';
export type { VelaClient, VelaClientOptions } from './vela-client.ts';
export { createVelaClientFromEnvironment, createVelaEnvironmentDiagnosticsResponse, getVelaEnvironmentDiagnostics } from './environment.ts';
export type { VelaEnvironmentDiagnostics, VelaEnvironmentProblem } from './environment.ts';
export { createRefusalResponse, createVelaIntegration } from './integration.ts';
export type { PrepareExecutionOptions, VelaAllowedExecution, VelaPreparedExecution, VelaRefusedExecution } from './integration.ts';
export type { CompletedInput, ReportResult, ResultReporter } from './result-reporter.ts';
export { createOpenAiCompatibleUsageReportInput, getErrorMessage } from './report-body.ts';
export { createMemoryOutbox, createSqliteOutbox } from './outbox.ts';
export type { Outbox, OutboxEntry } from './outbox.ts';
export { VelaEnvironmentError, VelaProtocolError, VelaRequestError, VelaUnavailableError } from './errors.ts';
export type * from './protocol.ts';
