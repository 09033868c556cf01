// Why this file exists: every scenario compares the same pipeline variants — none (the pipeline
// alone), Vel, and Vel + OTel + concurrency limits, with OTel exporting to memory — so they are
// built in one place, with the same scope and the same tidy-up between iterations. Spans go through
// the SDK's BatchSpanProcessor with its defaults, as `startOtel` (sdk-node) sets it up for apps.
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { BatchSpanProcessor, InMemorySpanExporter, TracerProvider } from '@opentelemetry/sdk-trace';
import { createPipeline, type ExecutionScope, type ModelSlot, type Pipeline, type SluicePlugin } from '@sluice/core';
import { concurrency, type ConcurrencyPlugin } from '@sluice/plugin-concurrency';
import { otel } from '@sluice/plugin-otel';
import { vel } from '@sluice/plugin-vel';

/**
 * Which plugins a pipeline variant carries. `full`: Vel, OTel (spans through a BatchSpanProcessor into an in-memory exporter;
 * metrics on the global meter, a no-op unless an app registers a MeterProvider) and concurrency
 * limits; `vel-otel`: the same without limits; `full-metrics`: with an OTel metrics SDK too
 * (MeterProvider, in-memory reader).
 */
export type SetupKind = 'none' | 'vel' | 'vel-otel' | 'full' | 'full-metrics';

export const SETUP_LABEL: Record<SetupKind, string> = {
  none: 'Sluice, no plugins',
  vel: 'Sluice + Vel',
  'vel-otel': 'Sluice + Vel + OTel (no limits)',
  full: 'Sluice + Vel + OTel + limits',
  'full-metrics': 'Sluice + Vel + OTel (+ metrics SDK) + limits',
};

export const SCOPE: ExecutionScope = { customerTenantId: 't_bench', delegationId: 'd_bench' };
export const MODEL = 'gpt-fake';
export const SLOT: ModelSlot = { slotId: 'agent', label: 'Bench agent', selectionMode: 'locked', requiredModel: `openai/${MODEL}` };

/** A pipeline variant and its housekeeping. */
export interface Setup {
  kind: SetupKind;
  sluice: Pipeline;
  limiter: ConcurrencyPlugin | undefined;
  /** Drops exported spans (the exporter's memory, not Sluice's): call between iterations. */
  tidy(): void;
  close(): Promise<void>;
}

/**
 * Builds a pipeline variant. `full`: `vel()`, `otel()` on an SDK TracerProvider with a
 * BatchSpanProcessor (SDK defaults: batches of 512, every 5 s) into an InMemorySpanExporter, and `concurrency()` with global and per-tenant
 * limits high enough never to make a benchmark call wait. `full-metrics` adds a MeterProvider.
 */
export function createSetup(kind: SetupKind, limits: { global: number; perTenant: number } = { global: 100_000, perTenant: 100_000 }): Setup {
  const plugins: SluicePlugin[] = [];
  let exporter: InMemorySpanExporter | undefined;
  let tracerProvider: TracerProvider | undefined;
  let meterProvider: MeterProvider | undefined;
  let limiter: ConcurrencyPlugin | undefined;
  if (kind !== 'none') plugins.push(vel());
  if (kind === 'vel-otel' || kind === 'full' || kind === 'full-metrics') {
    exporter = new InMemorySpanExporter();
    tracerProvider = new TracerProvider({ spanProcessors: [new BatchSpanProcessor({ exporter })] });
    if (kind === 'full-metrics') {
      meterProvider = new MeterProvider({
        readers: [new PeriodicExportingMetricReader({ exporter: new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE), exportIntervalMillis: 3_600_000 })],
      });
    }
    plugins.push(otel({ tracer: tracerProvider.getTracer('bench'), ...(meterProvider ? { meter: meterProvider.getMeter('bench') } : {}) }));
    if (kind !== 'vel-otel') {
      limiter = concurrency({ global: { concurrency: limits.global }, perTenant: { concurrency: limits.perTenant } });
      plugins.push(limiter);
    }
  }
  const sluice = createPipeline({ plugins, onPluginError: (error) => console.error(`[bench] plugin error: ${error.message}`) });
  return {
    kind,
    sluice,
    limiter,
    tidy: () => exporter?.reset(),
    async close() {
      await sluice.close();
      await tracerProvider?.shutdown();
      await meterProvider?.shutdown();
    },
  };
}
