// Why this file exists: the Agents SDK traces a run with its own spans (agent, function, handoff,
// generation…) and, by default, exports them to OpenAI. This TracingProcessor turns them into
// OpenTelemetry spans instead — `invoke_agent {name}` with `execute_tool {name}` children — and lets
// the pipeline's `chat {model}` spans find their agent span as parent, so a run is one OTel trace.
import { getCurrentSpan, setTraceProcessors, type Span as AgentsSpan, type Trace as AgentsTrace, type TracingProcessor } from '@openai/agents';
import { context as otelContext, SpanKind, SpanStatusCode, trace, type Context, type Span, type Tracer } from '@opentelemetry/api';
import { defaultRedact } from './plugin.ts';
import { genAiNames, type SemconvVersion } from './semconv.ts';

/** Options of {@link createAgentsTracingBridge}. */
export interface AgentsTracingBridgeOptions {
  /** Default: `trace.getTracer('@sluice/plugin-otel')`. */
  tracer?: Tracer;
  /** Record tool arguments and results (`gen_ai.tool.call.arguments` / `.result`). Default false. */
  recordContent?: boolean;
  redact?: (value: unknown) => unknown;
  semconv?: SemconvVersion;
}

/** The bridge: an Agents SDK `TracingProcessor` plus the parent lookup for the pipeline's spans. */
export interface AgentsTracingBridge extends TracingProcessor {
  /** The OTel context of the Agents span active now (for `otel({ parentContext })`), if any. */
  parentContext(): Context | undefined;
  /** OTel spans started and ended by the bridge. */
  spanCounts(): { started: number; ended: number };
}

/** The fields of an Agents span the bridge reads (its span-data union, loosened). */
interface AnyAgentsSpan {
  spanId: string;
  parentId: string | null;
  traceId: string;
  error: { message: string } | null;
  spanData: { type: string; name?: string; from_agent?: string; to_agent?: string; input?: unknown; output?: unknown };
}

/** Agents span types that are not spans of their own here: their children hang off their parent. */
const TRANSPARENT = new Set(['generation', 'response', 'task', 'turn', 'transcription', 'speech', 'speech_group']);

/**
 * Creates the bridge. Register it with {@link installAgentsTracingBridge} (which also removes the
 * default OpenAI exporter) or `setTraceProcessors([bridge])` yourself.
 */
export function createAgentsTracingBridge(options: AgentsTracingBridgeOptions = {}): AgentsTracingBridge {
  const tracer = options.tracer ?? trace.getTracer('@sluice/plugin-otel');
  const names = genAiNames(options.semconv);
  const redact = options.redact ?? defaultRedact;
  /** Agents trace/span id → the OTel span that represents it (or its nearest mapped ancestor). */
  const mapped = new Map<string, Span>();
  const owned = new Map<string, Span>();
  const counts = { started: 0, ended: 0 };

  const start = (id: string, name: string, parent: Span | undefined, attributes: Record<string, string | number | boolean>) => {
    const parentContext = parent ? trace.setSpan(otelContext.active(), parent) : otelContext.active();
    const span = tracer.startSpan(name, { kind: SpanKind.INTERNAL, attributes }, parentContext);
    counts.started++;
    mapped.set(id, span);
    owned.set(id, span);
    return span;
  };
  const end = (id: string, error?: { message: string } | null) => {
    const span = owned.get(id);
    owned.delete(id);
    mapped.delete(id);
    if (!span) return;
    if (error) span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
    span.end();
    counts.ended++;
  };

  return {
    async onTraceStart(t: AgentsTrace) {
      start(t.traceId, t.name || 'Agent workflow', undefined, { [names.workflowName]: t.name || 'Agent workflow', 'sluice.agents.trace_id': t.traceId });
    },
    async onTraceEnd(t: AgentsTrace) {
      end(t.traceId);
    },
    async onSpanStart(s: AgentsSpan<never>) {
      const span = s as unknown as AnyAgentsSpan;
      const data = span.spanData;
      const parent = (span.parentId ? mapped.get(span.parentId) : undefined) ?? mapped.get(span.traceId);
      if (TRANSPARENT.has(data.type)) {
        if (parent) mapped.set(span.spanId, parent);
        return;
      }
      switch (data.type) {
        case 'agent':
          start(span.spanId, `invoke_agent ${data.name ?? ''}`.trim(), parent, { [names.operationName]: 'invoke_agent', [names.agentName]: data.name ?? '' });
          return;
        case 'function':
          start(span.spanId, `execute_tool ${data.name ?? ''}`.trim(), parent, { [names.operationName]: 'execute_tool', [names.toolName]: data.name ?? '', [names.toolType]: 'function' });
          return;
        case 'handoff':
          start(span.spanId, 'handoff', parent, { 'sluice.handoff.from': data.from_agent ?? '', 'sluice.handoff.to': data.to_agent ?? '' });
          return;
        default:
          start(span.spanId, data.name ? `${data.type} ${data.name}` : data.type, parent, { 'sluice.agents.span_type': data.type });
      }
    },
    async onSpanEnd(s: AgentsSpan<never>) {
      const span = s as unknown as AnyAgentsSpan;
      const data = span.spanData;
      const otelSpan = owned.get(span.spanId);
      if (otelSpan && data.type === 'function' && options.recordContent) {
        if (data.input !== undefined) otelSpan.setAttribute(names.toolCallArguments, JSON.stringify(redact(data.input)));
        if (data.output !== undefined) otelSpan.setAttribute(names.toolCallResult, JSON.stringify(redact(data.output)));
      }
      if (otelSpan && data.type === 'handoff') otelSpan.setAttributes({ 'sluice.handoff.from': data.from_agent ?? '', 'sluice.handoff.to': data.to_agent ?? '' });
      if (otelSpan && span.error) otelSpan.setAttribute(names.errorType, span.error.message.slice(0, 100));
      if (owned.has(span.spanId)) end(span.spanId, span.error);
      else mapped.delete(span.spanId);
    },
    async shutdown() {
      for (const id of [...owned.keys()]) end(id);
    },
    async forceFlush() {},
    parentContext() {
      const current = getCurrentSpan();
      const span = current ? (mapped.get(current.spanId) ?? mapped.get(current.traceId)) : undefined;
      return span ? trace.setSpan(otelContext.active(), span) : undefined;
    },
    spanCounts: () => ({ ...counts }),
  };
}

/**
 * Creates the bridge and makes it the Agents SDK's only trace processor, replacing the default
 * exporter that would send traces to OpenAI.
 *
 * @example
 * const bridge = installAgentsTracingBridge();
 * const sluice = createPipeline({ plugins: [otel({ parentContext: () => bridge.parentContext() })] });
 */
export function installAgentsTracingBridge(options: AgentsTracingBridgeOptions = {}): AgentsTracingBridge {
  const bridge = createAgentsTracingBridge(options);
  setTraceProcessors([bridge]);
  return bridge;
}
