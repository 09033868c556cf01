// Why this file exists: `otel()` gives every model call one GenAI client span — started before the
// call waits or is authorized, ended exactly once at its report — plus the GenAI metrics, using
// only `@opentelemetry/api` (the app's SDK, or none, decides where it goes).
import { context as otelContext, createNoopMeter, metrics, SpanKind, SpanStatusCode, trace, type Attributes, type Context, type Histogram, type Meter, type Span, type Tracer } from '@opentelemetry/api';
import { redactSecrets, SluiceConfigError, type ModelCall, type Outcome, type SluicePlugin, type Usage } from '@sluice/core';
import { chatSpanName, genAiNames, SLUICE, type GenAiNames, type SemconvVersion } from './semconv.ts';

const NAME = 'otel';
/** First in `beforePrepare` (so queue wait is inside the span) and first in `prepare`. */
export const OTEL_STAGE = -1000;
const INSTRUMENTATION = '@sluice/plugin-otel';

/** Options of {@link otel}. */
export interface OtelPluginOptions {
  /** Default: `trace.getTracer('@sluice/plugin-otel')` of the global provider. */
  tracer?: Tracer;
  /** Default: `metrics.getMeter('@sluice/plugin-otel')` of the global provider. */
  meter?: Meter;
  /** Record `gen_ai.input.messages` / `gen_ai.output.messages`. Default false. */
  recordContent?: boolean;
  /** Applied to recorded content before it is put on a span. Default: keys and tokens redacted. */
  redact?: (value: unknown) => unknown;
  /** Attribute names: `v1.41` (default) or `latest`; default follows `OTEL_SEMCONV_STABILITY_OPT_IN`. */
  semconv?: SemconvVersion;
  /** The parent of each call's span. Default: the active context (an HTTP request span, an agent span). */
  parentContext?: (call: ModelCall) => Context | undefined;
  /** `gen_ai.provider.name`. Default `openai`. */
  providerName?: (call: ModelCall) => string;
}

/** The plugin, with counters that show every started span was ended. */
export interface OtelPlugin extends SluicePlugin {
  /** Spans started and ended by this plugin so far. */
  spanCounts(): { started: number; ended: number };
}

interface CallSpan {
  span: Span;
  prepareStartedAt: number;
  firstChunkAt: number;
  output: string[] | undefined;
  server: { address: string; port: number } | undefined;
}

/** Redacts strings that look like keys or bearer tokens, deeply. */
export function defaultRedact(value: unknown): unknown {
  if (typeof value === 'string') return redactSecrets(value);
  if (Array.isArray(value)) return value.map(defaultRedact);
  if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, defaultRedact(v)]));
  return value;
}

/** The no-op histogram the OTel API hands out when no MeterProvider is registered (one shared instance). */
const NOOP_HISTOGRAM = createNoopMeter().createHistogram('sluice.noop');

/** Parsed server addresses by URL: every call of a client names the same one (never mutated, so shared). */
const SERVERS = new Map<string, { address: string; port: number } | undefined>();
const MAX_CACHED_SERVERS = 256;

function serverOf(url: string | undefined): { address: string; port: number } | undefined {
  if (!url) return undefined;
  if (SERVERS.has(url)) return SERVERS.get(url);
  const server = parseServer(url);
  if (SERVERS.size < MAX_CACHED_SERVERS) SERVERS.set(url, server);
  return server;
}

function parseServer(url: string): { address: string; port: number } | undefined {
  try {
    const u = new URL(url);
    return { address: u.hostname, port: u.port ? Number(u.port) : u.protocol === 'https:' ? 443 : 80 };
  } catch {
    return undefined;
  }
}

function inputMessagesOf(call: ModelCall): unknown {
  const request = call.request as Record<string, unknown> | undefined;
  if (!request || typeof request !== 'object') return undefined;
  if ('messages' in request) return request.messages;
  if ('prompt' in request && Array.isArray(request.prompt)) return request.prompt; // AI SDK call options
  const instructions = request.instructions ?? request.systemInstructions;
  const input = request.input;
  return instructions !== undefined ? [{ role: 'system', content: instructions }, ...(Array.isArray(input) ? input : [{ role: 'user', content: input }])] : input;
}

function setUsage(span: Span, names: GenAiNames, usage: Usage | undefined): void {
  if (!usage) return;
  if (usage.inputTokens !== undefined) span.setAttribute(names.inputTokens, usage.inputTokens);
  if (usage.outputTokens !== undefined) span.setAttribute(names.outputTokens, usage.outputTokens);
  if (usage.cachedInputTokens !== undefined) span.setAttribute(names.cacheReadInputTokens, usage.cachedInputTokens);
  if (usage.cacheWriteInputTokens !== undefined) span.setAttribute(names.cacheCreationInputTokens, usage.cacheWriteInputTokens);
  if (usage.reasoningTokens !== undefined) span.setAttribute(names.reasoningOutputTokens, usage.reasoningTokens);
}

/**
 * The OpenTelemetry plugin.
 *
 * @example
 * const sluice = createPipeline({ plugins: [vel(), otel({ recordContent: false })] });
 */
export function otel(options: OtelPluginOptions = {}): OtelPlugin {
  if (options.semconv !== undefined && options.semconv !== 'v1.41' && options.semconv !== 'latest') {
    throw new SluiceConfigError('semconv', `expected "v1.41" or "latest", got ${JSON.stringify(options.semconv)}`);
  }
  for (const fn of ['redact', 'parentContext', 'providerName'] as const) {
    if (options[fn] !== undefined && typeof options[fn] !== 'function') throw new SluiceConfigError(fn, `expected a function, got ${typeof options[fn]}`);
  }
  const names = genAiNames(options.semconv);
  const tracer = options.tracer ?? trace.getTracer(INSTRUMENTATION);
  const meter = options.meter ?? metrics.getMeter(INSTRUMENTATION);
  const redact = options.redact ?? defaultRedact;
  const providerName = options.providerName ?? (() => 'openai');
  const spans = new WeakMap<ModelCall, CallSpan>();
  let lastCall: ModelCall | undefined;
  let lastState: CallSpan | undefined;
  const counts = { started: 0, ended: 0 };
  const duration: Histogram = meter.createHistogram(names.metricDuration, { unit: 's', description: 'GenAI operation duration' });
  const tokenUsage: Histogram = meter.createHistogram(names.metricTokenUsage, { unit: '{token}', description: 'Measures number of input and output tokens used' });
  const timeToFirstChunk: Histogram = meter.createHistogram(names.metricTimeToFirstChunk, { unit: 's', description: 'Time to receive the first chunk in a streaming operation' });
  const queueWait: Histogram = meter.createHistogram(SLUICE.metricQueueWait, { unit: 's', description: 'Time a model call waited for a concurrency slot' });
  const authorizationDuration: Histogram = meter.createHistogram(SLUICE.metricAuthorizationDuration, { unit: 's', description: 'Time to authorize a model call' });
  // Without a MeterProvider every instrument is the API's shared no-op: skip building what it would drop.
  const metricsOn = [duration, tokenUsage, timeToFirstChunk, queueWait, authorizationDuration].some((h) => h !== NOOP_HISTOGRAM);

  const metricAttributes = (call: ModelCall, state: CallSpan, outcome: Outcome): Attributes => {
    const attributes: Attributes = { [names.operationName]: 'chat', [names.providerName]: providerName(call), [names.requestModel]: call.model };
    if (outcome.status === 'completed' && outcome.responseModel) attributes[names.responseModel] = outcome.responseModel;
    if (outcome.status === 'failed') attributes[names.errorType] = outcome.error.type;
    if (outcome.status === 'denied') attributes[names.errorType] = 'ExecutionDeniedError';
    if (state.server) attributes[names.serverAddress] = state.server.address;
    return attributes;
  };

  return {
    name: NAME,
    spanCounts: () => ({ ...counts }),
    apply(hooks) {
      hooks.beforePrepare.tap({ name: NAME, stage: OTEL_STAGE }, (call) => {
        const parent = options.parentContext?.(call) ?? otelContext.active();
        const attributes: Attributes = {
          [names.operationName]: 'chat',
          [names.providerName]: providerName(call),
          [names.requestModel]: call.model,
          [SLUICE.callId]: call.id,
          [SLUICE.source]: call.source,
          [SLUICE.api]: call.api,
        };
        if (names.requestStream) attributes[names.requestStream] = call.stream;
        if (call.scope) {
          attributes[SLUICE.tenantId] = call.scope.customerTenantId;
          attributes[SLUICE.delegationId] = call.scope.delegationId;
          if (call.scope.userId) attributes[SLUICE.userId] = call.scope.userId;
        }
        if (call.slot) attributes[SLUICE.slotId] = call.slot.slotId;
        const span = tracer.startSpan(chatSpanName(call.model), { kind: SpanKind.CLIENT, attributes }, parent);
        counts.started++;
        const server = serverOf(typeof call.attributes['sluice.server.url'] === 'string' ? call.attributes['sluice.server.url'] : undefined);
        spans.set(call, { span, prepareStartedAt: 0, firstChunkAt: 0, output: options.recordContent ? [] : undefined, server });
        if (options.recordContent) {
          const input = inputMessagesOf(call);
          if (input !== undefined) span.setAttribute(names.inputMessages, JSON.stringify(redact(input)));
        }
        return call;
      });
      hooks.prepare.tap({ name: NAME, stage: OTEL_STAGE }, (call) => {
        const state = spans.get(call);
        if (!state) return undefined;
        if (metricsOn) state.prepareStartedAt = performance.now(); // only the authorization metric reads it
        const waited = call.attributes[SLUICE.queueWaitMs];
        if (typeof waited === 'number') {
          state.span.setAttribute(SLUICE.queueWaitMs, waited);
          if (metricsOn) queueWait.record(waited / 1000, { [names.requestModel]: call.model });
        }
        return undefined;
      });
      hooks.onAllow.tap(NAME, (call, allow) => {
        const state = spans.get(call);
        if (!state) return;
        const event: Attributes = { [SLUICE.authorizationOutcome]: 'allow' };
        if (allow.decidedBy) event[SLUICE.decidedBy] = allow.decidedBy;
        if (allow.executionId) {
          event[SLUICE.executionId] = allow.executionId;
          state.span.setAttribute(SLUICE.executionId, allow.executionId);
        }
        state.span.setAttribute(SLUICE.authorizationOutcome, 'allow');
        state.span.addEvent(SLUICE.eventAuthorization, event);
        if (allow.relay) state.server = serverOf(allow.relay.baseURL) ?? state.server;
        if (state.prepareStartedAt) authorizationDuration.record((performance.now() - state.prepareStartedAt) / 1000, { [SLUICE.authorizationOutcome]: 'allow' });
      });
      hooks.onDeny.tap(NAME, (call, denial) => {
        const state = spans.get(call);
        if (!state) return;
        const event: Attributes = { [SLUICE.authorizationOutcome]: denial.outcome, [SLUICE.authorizationReason]: denial.code, message: denial.message };
        if (denial.decidedBy) event[SLUICE.decidedBy] = denial.decidedBy;
        if (denial.executionId) event[SLUICE.executionId] = denial.executionId;
        state.span.setAttributes({ [SLUICE.authorizationOutcome]: denial.outcome, [SLUICE.authorizationReason]: denial.code });
        state.span.addEvent(SLUICE.eventAuthorization, event);
        if (state.prepareStartedAt) authorizationDuration.record((performance.now() - state.prepareStartedAt) / 1000, { [SLUICE.authorizationOutcome]: denial.outcome });
      });
      hooks.onEvent.tap(NAME, (call, event) => {
        // The last call's state: a stream's events come in a row, so most lookups skip the WeakMap.
        const state = call === lastCall ? lastState : spans.get(call);
        if (!state) return;
        lastCall = call;
        lastState = state;
        if (state.firstChunkAt === 0) {
          state.firstChunkAt = performance.now();
          state.span.addEvent(SLUICE.eventFirstChunk);
        }
        if (state.output) for (const vel of event.vel) if (vel.type === 'text-delta') state.output.push(vel.delta);
      });
      hooks.onReport.tap(NAME, (call, outcome) => {
        const state = spans.get(call);
        if (!state) return;
        spans.delete(call);
        if (lastCall === call) lastCall = lastState = undefined;
        const { span } = state;
        if (state.server) span.setAttributes({ [names.serverAddress]: state.server.address, [names.serverPort]: state.server.port });
        span.setAttribute(SLUICE.outcome, outcome.status);
        if (outcome.timeToFirstTokenMs !== undefined) {
          span.setAttribute(names.timeToFirstChunk ?? SLUICE.timeToFirstChunkMs, names.timeToFirstChunk ? outcome.timeToFirstTokenMs / 1000 : outcome.timeToFirstTokenMs);
        }
        const attributes = metricsOn ? metricAttributes(call, state, outcome) : undefined;
        switch (outcome.status) {
          case 'completed': {
            if (outcome.responseModel) span.setAttribute(names.responseModel, outcome.responseModel);
            if (outcome.responseId) span.setAttribute(names.responseId, outcome.responseId);
            if (outcome.finishReason) span.setAttribute(names.finishReasons, [outcome.finishReason]);
            setUsage(span, names, outcome.usage);
            if (attributes && outcome.usage?.inputTokens !== undefined) tokenUsage.record(outcome.usage.inputTokens, { ...attributes, [names.tokenType]: 'input' });
            if (attributes && outcome.usage?.outputTokens !== undefined) tokenUsage.record(outcome.usage.outputTokens, { ...attributes, [names.tokenType]: 'output' });
            if (state.output && state.output.length > 0) {
              span.setAttribute(names.outputMessages, JSON.stringify(redact([{ role: 'assistant', parts: [{ type: 'text', content: state.output.join('') }] }])));
            }
            break;
          }
          case 'failed':
            span.setAttribute(names.errorType, outcome.error.type);
            if (outcome.error.statusCode !== undefined) span.setAttribute('http.response.status_code', outcome.error.statusCode);
            span.setStatus({ code: SpanStatusCode.ERROR, message: outcome.error.message });
            break;
          case 'denied':
            span.setAttribute(names.errorType, 'ExecutionDeniedError');
            span.setStatus({ code: SpanStatusCode.ERROR, message: `${outcome.denial.outcome} (${outcome.denial.code}): ${outcome.denial.message}` });
            break;
          case 'aborted':
            span.setAttribute(SLUICE.abortReason, outcome.reason);
            break;
        }
        if (attributes) {
          duration.record(outcome.durationMs / 1000, attributes);
          if (outcome.timeToFirstTokenMs !== undefined) timeToFirstChunk.record(outcome.timeToFirstTokenMs / 1000, attributes);
        }
        span.end();
        counts.ended++;
      });
    },
  };
}
