// Why this file exists: the one place that touches the OpenTelemetry SDK. Apps that already run an
// SDK skip it; everyone else gets OTLP/HTTP export of traces and metrics configured by the
// standard `OTEL_*` variables, and a `shutdown()` that flushes.
import { metrics, trace, type Meter, type Tracer } from '@opentelemetry/api';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { SpanExporter } from '@opentelemetry/sdk-trace';

/** Options of {@link startOtel}. */
export interface StartOtelOptions {
  /** `service.name`; `OTEL_SERVICE_NAME` wins when set. */
  serviceName: string;
  serviceVersion?: string;
  /** Extra resource attributes (merged with `OTEL_RESOURCE_ATTRIBUTES`). */
  resourceAttributes?: Record<string, string>;
  /** Default: OTLP/HTTP to `OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT` (default http://localhost:4318). */
  traceExporter?: SpanExporter;
  /** Metrics export interval. Default `OTEL_METRIC_EXPORT_INTERVAL` or 60 s. */
  metricExportIntervalMillis?: number;
}

/** A started OpenTelemetry SDK. */
export interface StartedOtel {
  tracer: Tracer;
  meter: Meter;
  /** Exports everything pending now (traces and metrics). */
  forceFlush(): Promise<void>;
  /** Flushes and stops the SDK. */
  shutdown(): Promise<void>;
}

/**
 * Starts `@opentelemetry/sdk-node` with OTLP/HTTP exporters for traces and metrics.
 *
 * @example
 * const telemetry = startOtel({ serviceName: 'my-agents' });
 * process.on('SIGTERM', () => telemetry.shutdown());
 */
export function startOtel(options: StartOtelOptions): StartedOtel {
  const interval = options.metricExportIntervalMillis ?? (Number(process.env.OTEL_METRIC_EXPORT_INTERVAL) || 60_000);
  const metricReader = new PeriodicExportingMetricReader({ exporter: new OTLPMetricExporter(), exportIntervalMillis: interval });
  const sdk = new NodeSDK({
    resource: resourceFromAttributes({
      'service.name': process.env.OTEL_SERVICE_NAME || options.serviceName,
      ...(options.serviceVersion ? { 'service.version': options.serviceVersion } : {}),
      ...options.resourceAttributes,
    }),
    traceExporter: options.traceExporter ?? new OTLPTraceExporter(),
    metricReaders: [metricReader],
    instrumentations: [],
  });
  sdk.start();
  const provider = trace.getTracerProvider() as unknown as { forceFlush?: () => Promise<void>; getDelegate?: () => { forceFlush?: () => Promise<void> } };
  return {
    tracer: trace.getTracer('@sluice/plugin-otel'),
    meter: metrics.getMeter('@sluice/plugin-otel'),
    async forceFlush() {
      const target = provider.getDelegate?.() ?? provider;
      await target.forceFlush?.();
      await metricReader.forceFlush();
    },
    shutdown: () => sdk.shutdown(),
  };
}
