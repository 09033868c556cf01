// Why this file exists: `otel()` gives every model call one GenAI client span — starting before the
// call waits or is authorized, ending exactly once at its report — plus the GenAI metrics, using
// only `@opentelemetry/api` (the app's SDK, or none, decides where it goes). While a call runs the
// plugin keeps only its parent context (and, with metrics, when authorization began); at the report
// it makes the span from the call, its decision and its outcome, with the call's own times (its
// creation, `decidedAt`, its first event) — so it taps no hook between the two. An SDK span in flight
// holds ~1 KB and validates every attribute set on it again, and a stream needs no per-event work
// unless content is recorded.
import { context as otelContext, createNoopMeter, metrics, SpanKind, SpanStatusCode, trace, type Attributes, type Context, type Histogram, type Meter, type Span, type Tracer } from '@opentelemetry/api';
import { redactSecrets, SluiceConfigError, type ModelCall, type SluicePlugin, type Usage } from '@sluice/core';
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
  /**
   * Spans begun (a call entered `beforePrepare`) and ended (its report made and ended the span) so
   * far; equal once every call has reported.
   */
  spanCounts(): { started: number; ended: number };
}

/** What the plugin keeps for a call in flight with metrics or recorded content (else the parent context alone); its span is made at the report from the call itself. */
interface CallRecord {
  readonly parent: Context;
  /** `performance.now()` when `prepare` began (only read by the authorization metric). */
  prepareStartedAt: number;
  /** Recorded content only. */
  readonly input: string | undefined;
  readonly output: string[] | undefined;
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

/** Where a call's request went (`server.address`, `server.port`). */
type Server = { address: string; port: number };
/** Parsed server addresses by URL: every call of a client names the same one (never mutated, so shared). */
const SERVERS = new Map<string, Server | undefined>();
const MAX_CACHED_SERVERS = 256;

function serverOf(url: string | undefined): Server | undefined {
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
  // By call id, not by the call object: a later beforePrepare tap may hand on a reshaped copy (a
  // waterfall), and the copy is what the other hooks see. Every entry goes at the call's report.
  // Without metrics or content an entry is the parent context itself: a record around it would be
  // one more object per call in flight, holding nothing else.
  const records = new Map<string, CallRecord | Context>();
  let lastCall: ModelCall | undefined;
  let lastRecord: CallRecord | undefined;
  const counts = { started: 0, ended: 0 };
  const duration: Histogram = meter.createHistogram(names.metricDuration, { unit: 's', description: 'GenAI operation duration' });
  const tokenUsage: Histogram = meter.createHistogram(names.metricTokenUsage, { unit: '{token}', description: 'Measures number of input and output tokens used' });
  const timeToFirstChunk: Histogram = meter.createHistogram(names.metricTimeToFirstChunk, { unit: 's', description: 'Time to receive the first chunk in a streaming operation' });
  const queueWait: Histogram = meter.createHistogram(SLUICE.metricQueueWait, { unit: 's', description: 'Time a model call waited for a concurrency slot' });
  const authorizationDuration: Histogram = meter.createHistogram(SLUICE.metricAuthorizationDuration, { unit: 's', description: 'Time to authorize a model call' });
  // Without a MeterProvider every instrument is the API's shared no-op: skip building what it would drop.
  const metricsOn = [duration, tokenUsage, timeToFirstChunk, queueWait, authorizationDuration].some((h) => h !== NOOP_HISTOGRAM);
  /** Whether a call in flight needs a {@link CallRecord}, or only its parent context. */
  const recordsKept = metricsOn || options.recordContent === true;
  const recordOf = (call: ModelCall): CallRecord | undefined => (recordsKept ? (records.get(call.id) as CallRecord | undefined) : undefined);

  /** The request's messages, redacted and serialized when the call starts (content recording only). */
  const inputOf = (call: ModelCall): string | undefined => {
    const input = inputMessagesOf(call);
    return input === undefined ? undefined : JSON.stringify(redact(input));
  };

  return {
    name: NAME,
    spanCounts: () => ({ ...counts }),
    apply(hooks) {
      hooks.beforePrepare.tap({ name: NAME, stage: OTEL_STAGE }, (call) => {
        const parent = options.parentContext?.(call) ?? otelContext.active();
        records.set(
          call.id,
          recordsKept
            ? { parent, prepareStartedAt: 0, input: options.recordContent ? inputOf(call) : undefined, output: options.recordContent ? [] : undefined }
            : parent,
        );
        counts.started++;
        return call;
      });
      if (metricsOn) {
        hooks.prepare.tap({ name: NAME, stage: OTEL_STAGE }, (call) => {
          const record = recordOf(call);
          if (!record) return undefined;
          record.prepareStartedAt = performance.now();
          const waited = call.attributes[SLUICE.queueWaitMs];
          if (typeof waited === 'number') queueWait.record(waited / 1000, { [names.requestModel]: call.model });
          return undefined;
        });
      }
      if (options.recordContent) {
        hooks.onEvent.tap(NAME, (call, event) => {
          // The last call's record: a stream's events come in a row, so most lookups skip the map.
          const record = call === lastCall ? lastRecord : recordOf(call);
          if (!record) return;
          lastCall = call;
          lastRecord = record;
          for (const vel of event.vel) if (vel.type === 'text-delta') record.output!.push(vel.delta);
        });
      }
      hooks.onReport.tap(NAME, (call, outcome) => {
        const entry = records.get(call.id);
        if (!entry) return;
        records.delete(call.id);
        const record = recordsKept ? (entry as CallRecord) : undefined;
        const parent = record ? record.parent : (entry as Context);
        if (lastCall === call) lastCall = lastRecord = undefined;
        const endedAt = performance.now();
        // What a sampler decides on, given when the span is created (the semconv's creation-time
        // attributes, and the outcome: the span is made when the call is over). The rest is set
        // on the span one by one: the SDK validates creation attributes twice and set ones once,
        // per value, and an object of them built first would only be taken apart again.
        const start: Attributes = {
          [names.operationName]: 'chat',
          [names.providerName]: providerName(call),
          [names.requestModel]: call.model,
          [SLUICE.outcome]: outcome.status,
        };
        // The authorization: the allow on the call, or the denial in the outcome.
        const allow = call.decision?.outcome === 'allow' ? call.decision : undefined;
        const denial = outcome.status === 'denied' ? outcome.denial : undefined;
        const server = (allow?.relay ? serverOf(allow.relay.baseURL) : undefined) ?? serverOf(typeof call.attributes['sluice.server.url'] === 'string' ? call.attributes['sluice.server.url'] : undefined);
        if (server) {
          start[names.serverAddress] = server.address;
          start[names.serverPort] = server.port;
        }
        // Times are performance.now() readings (the call's creation, its authorization, its first
        // event, now): the SDK maps them onto its clock as it does its own.
        const span: Span = tracer.startSpan(chatSpanName(call.model), { kind: SpanKind.CLIENT, attributes: start, startTime: call.createdAt }, parent);
        span.setAttribute(SLUICE.callId, call.id);
        span.setAttribute(SLUICE.source, call.source);
        span.setAttribute(SLUICE.api, call.api);
        if (names.requestStream) span.setAttribute(names.requestStream, call.stream);
        if (call.scope) {
          span.setAttribute(SLUICE.tenantId, call.scope.customerTenantId);
          span.setAttribute(SLUICE.delegationId, call.scope.delegationId);
          if (call.scope.userId) span.setAttribute(SLUICE.userId, call.scope.userId);
        }
        if (call.slot) span.setAttribute(SLUICE.slotId, call.slot.slotId);
        if (record?.input !== undefined) span.setAttribute(names.inputMessages, record.input);
        const waited = call.attributes[SLUICE.queueWaitMs];
        if (typeof waited === 'number') span.setAttribute(SLUICE.queueWaitMs, waited);
        // When prepare answered (or, without pre-request hooks, the call was made): the authorization event's time.
        const decidedAt = call.decidedAt;
        let authorization: Attributes | undefined;
        if (allow && decidedAt !== undefined) {
          authorization = { [SLUICE.authorizationOutcome]: 'allow' };
          if (allow.decidedBy) authorization[SLUICE.decidedBy] = allow.decidedBy;
          if (allow.executionId) {
            authorization[SLUICE.executionId] = allow.executionId;
            span.setAttribute(SLUICE.executionId, allow.executionId);
          }
          span.setAttribute(SLUICE.authorizationOutcome, 'allow');
        } else if (denial) {
          authorization = { [SLUICE.authorizationOutcome]: denial.outcome, [SLUICE.authorizationReason]: denial.code, message: denial.message };
          if (denial.decidedBy) authorization[SLUICE.decidedBy] = denial.decidedBy;
          if (denial.executionId) authorization[SLUICE.executionId] = denial.executionId;
          span.setAttribute(SLUICE.authorizationOutcome, denial.outcome);
          span.setAttribute(SLUICE.authorizationReason, denial.code);
        }
        if (outcome.timeToFirstTokenMs !== undefined) {
          span.setAttribute(names.timeToFirstChunk ?? SLUICE.timeToFirstChunkMs, names.timeToFirstChunk ? outcome.timeToFirstTokenMs / 1000 : outcome.timeToFirstTokenMs);
        }
        // The two the metrics carry besides the creation attributes.
        let responseModel: string | undefined;
        let errorType: string | undefined;
        let status: { code: SpanStatusCode; message: string } | undefined;
        switch (outcome.status) {
          case 'completed': {
            responseModel = outcome.responseModel || undefined;
            if (responseModel) span.setAttribute(names.responseModel, responseModel);
            if (outcome.responseId) span.setAttribute(names.responseId, outcome.responseId);
            if (outcome.finishReason) span.setAttribute(names.finishReasons, [outcome.finishReason]);
            setUsage(span, names, outcome.usage);
            if (record?.output && record.output.length > 0) {
              span.setAttribute(names.outputMessages, JSON.stringify(redact([{ role: 'assistant', parts: [{ type: 'text', content: record.output.join('') }] }])));
            }
            break;
          }
          case 'failed':
            errorType = outcome.error.type;
            span.setAttribute(names.errorType, errorType);
            if (outcome.error.statusCode !== undefined) span.setAttribute('http.response.status_code', outcome.error.statusCode);
            status = { code: SpanStatusCode.ERROR, message: outcome.error.message };
            break;
          case 'denied':
            errorType = 'ExecutionDeniedError';
            span.setAttribute(names.errorType, errorType);
            status = { code: SpanStatusCode.ERROR, message: `${outcome.denial.outcome} (${outcome.denial.code}): ${outcome.denial.message}` };
            break;
          case 'aborted':
            span.setAttribute(SLUICE.abortReason, outcome.reason);
            break;
        }
        if (metricsOn) {
          // The span attributes the GenAI metrics carry too, with the same values.
          const metric: Attributes = { [names.operationName]: start[names.operationName], [names.providerName]: start[names.providerName], [names.requestModel]: call.model };
          if (responseModel) metric[names.responseModel] = responseModel;
          if (errorType !== undefined) metric[names.errorType] = errorType;
          if (server) metric[names.serverAddress] = server.address;
          if (outcome.status === 'completed' && outcome.usage?.inputTokens !== undefined) tokenUsage.record(outcome.usage.inputTokens, { ...metric, [names.tokenType]: 'input' });
          if (outcome.status === 'completed' && outcome.usage?.outputTokens !== undefined) tokenUsage.record(outcome.usage.outputTokens, { ...metric, [names.tokenType]: 'output' });
          duration.record(outcome.durationMs / 1000, metric);
          if (outcome.timeToFirstTokenMs !== undefined) timeToFirstChunk.record(outcome.timeToFirstTokenMs / 1000, metric);
          // The same outcome the authorization event carries.
          if (record?.prepareStartedAt && decidedAt !== undefined && authorization) {
            authorizationDuration.record((decidedAt - record.prepareStartedAt) / 1000, { [SLUICE.authorizationOutcome]: authorization[SLUICE.authorizationOutcome] });
          }
        }
        if (authorization) span.addEvent(SLUICE.eventAuthorization, authorization, decidedAt ?? endedAt);
        if (outcome.timeToFirstTokenMs !== undefined) span.addEvent(SLUICE.eventFirstChunk, call.createdAt + outcome.timeToFirstTokenMs);
        if (status) span.setStatus(status);
        span.end(endedAt);
        counts.ended++;
      });
    },
  };
}
