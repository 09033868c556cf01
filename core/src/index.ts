// Why this file exists: the public surface of @sluice/core. Integrations live in subpath exports
// (`@sluice/core/agents`, `/openai`, `/ai-sdk`) so an app loads only the SDK it uses.
export { createPipeline } from './pipeline.ts';
export type { CallInit, CloseOptions, Pipeline, PipelineOptions, SluicePlugin } from './pipeline.ts';
export { installGracefulShutdown } from './graceful-shutdown.ts';
export type { GracefulShutdownOptions } from './graceful-shutdown.ts';
export type { SluiceHooks } from './hooks.ts';
export { ActiveCall, abortReason } from './active-call.ts';
export { onCallAbort } from './call-abort.ts';
export type { CallAbortWatcher } from './call-abort.ts';
export type { CompletionInfo } from './active-call.ts';
export type {
  Allow,
  CallError,
  CallSource,
  Decision,
  Denial,
  ModelApi,
  ModelCall,
  ModelSlot,
  Outcome,
  RelaySettings,
  StreamEvent,
  StreamEventSource,
  VelEvent,
} from './model-call.ts';
export { ExecutionDeniedError, SluiceClosedError, SluiceConfigError, SluicePluginError, describeError } from './errors.ts';
export type { DenialKind } from './errors.ts';
export { redactSecrets, toCallError } from './call-error.ts';
export { currentScope, withScope } from './scope.ts';
export type { ExecutionScope } from './scope.ts';
export { usageFromAgents, usageFromAiSdk, usageFromChatCompletions, usageFromLanguageModelUsage, usageFromResponses } from './usage.ts';
export type { Usage } from './usage.ts';
