// Why this file exists: the public surface of @sluice/plugin-otel. The Agents SDK bridge
// (`/agents`) and the SDK starter (`/sdk`) are subpaths, so the plugin itself needs only the API.
export { defaultRedact, otel, OTEL_STAGE } from './plugin.ts';
export type { OtelPlugin, OtelPluginOptions } from './plugin.ts';
export { chatSpanName, genAiNames, semconvFromEnvironment, SLUICE } from './semconv.ts';
export type { GenAiNames, SemconvVersion } from './semconv.ts';
