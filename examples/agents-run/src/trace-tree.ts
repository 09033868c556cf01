// Why this file exists: the demo ends with the run's trace as a tree (span names and durations),
// read from the in-memory span exporter, so the OTel part is visible without a collector.
import type { ReadableSpan } from '@opentelemetry/sdk-trace';

function durationMs(span: ReadableSpan): number {
  const [s, ns] = span.duration;
  return s * 1000 + ns / 1e6;
}

/** The spans of one trace as indented lines: `name  12.3 ms`. */
export function formatTraceTree(spans: readonly ReadableSpan[]): string[] {
  const children = new Map<string, ReadableSpan[]>();
  const ids = new Set(spans.map((s) => s.spanContext().spanId));
  const roots: ReadableSpan[] = [];
  for (const span of spans) {
    const parent = span.parentSpanContext?.spanId;
    if (parent && ids.has(parent)) children.set(parent, [...(children.get(parent) ?? []), span]);
    else roots.push(span);
  }
  const byStart = (a: ReadableSpan, b: ReadableSpan) => a.startTime[0] - b.startTime[0] || a.startTime[1] - b.startTime[1];
  const lines: string[] = [];
  const walk = (span: ReadableSpan, prefix: string, last: boolean, root: boolean) => {
    const extra = span.attributes['gen_ai.usage.input_tokens'] !== undefined ? `  (${String(span.attributes['gen_ai.usage.input_tokens'])} in / ${String(span.attributes['gen_ai.usage.output_tokens'])} out)` : '';
    const status = span.status.code === 2 ? '  ERROR' : '';
    lines.push(`${prefix}${root ? '' : last ? '└─ ' : '├─ '}${span.name}  ${durationMs(span).toFixed(1)} ms${extra}${status}`);
    const kids = (children.get(span.spanContext().spanId) ?? []).sort(byStart);
    kids.forEach((kid, i) => walk(kid, root ? prefix : `${prefix}${last ? '   ' : '│  '}`, i === kids.length - 1, false));
  };
  roots.sort(byStart).forEach((root) => walk(root, '  ', true, true));
  return lines;
}
