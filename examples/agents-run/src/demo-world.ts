// Why this file exists: everything the demo runs on, started in-process on embedded defaults — the
// model (the fake OpenAI-compatible server, or a real endpoint when OPENAI_API_KEY is set), a local
// Vela with a seeded app, tenant and budgeted delegation, and telemetry (in memory, plus OTLP when
// OTEL_EXPORTER_OTLP_ENDPOINT is set) — so `npm start` needs no configuration.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, InMemorySpanExporter, SimpleSpanProcessor, TracerProvider, type SpanProcessor } from '@opentelemetry/sdk-trace';
import { DEFAULT_PRICES, seedVelaDemo, startVelaDevServer, type VelaDevServer } from '@sluice/plugin-vela/dev-server';
import { startFakeModelServer, type FakeModelServer, type RecordedRequest, type FakeTurn } from '@sluice/test/fake-model-server';

/** Where model requests go. */
export interface Upstream {
  baseURL: string;
  apiKey: string;
  model: string;
  /** The fake model, when no real endpoint is configured. */
  fake: FakeModelServer | undefined;
}

export interface DemoWorld {
  upstream: Upstream;
  vela: VelaDevServer;
  dbPath: string;
  appId: string;
  appToken: string;
  tenantId: string;
  delegationId: string;
  spans: InMemorySpanExporter;
  tracerProvider: TracerProvider;
  otlpEndpoint: string | undefined;
  close(): Promise<void>;
}

/** Price of a call from the dev server's own price table (so what the demo prints is what Vela records). */
export function priceUsd(model: string, usage: { inputTokens?: number | undefined; outputTokens?: number | undefined; cachedInputTokens?: number | undefined } | undefined): number | undefined {
  const price = (DEFAULT_PRICES as Record<string, { inputPerMTokUsd: number; cachedInputPerMTokUsd?: number; outputPerMTokUsd: number }>)[model];
  if (!price || !usage || usage.inputTokens === undefined || usage.outputTokens === undefined) return undefined;
  const cached = usage.cachedInputTokens ?? 0;
  return ((usage.inputTokens - cached) * price.inputPerMTokUsd + cached * (price.cachedInputPerMTokUsd ?? price.inputPerMTokUsd) + usage.outputTokens * price.outputPerMTokUsd) / 1e6;
}

export async function startDemoWorld(options: { script: (request: RecordedRequest) => FakeTurn; env?: Record<string, string | undefined> }): Promise<DemoWorld> {
  const env = options.env ?? process.env;
  let upstream: Upstream;
  if (env.OPENAI_API_KEY) {
    upstream = { baseURL: env.OPENAI_BASE_URL || 'https://api.openai.com/v1', apiKey: env.OPENAI_API_KEY, model: env.OPENAI_MODEL || 'gpt-4.1-mini', fake: undefined };
  } else {
    const fake = await startFakeModelServer({ script: options.script });
    upstream = { baseURL: fake.baseURL, apiKey: `sk-fake-upstream-${randomBytes(8).toString('hex')}`, model: 'gpt-fake', fake };
  }
  const dir = mkdtempSync(join(tmpdir(), 'sluice-demo-'));
  const dbPath = join(dir, 'vela.sqlite');
  // Generated per run and never printed: the app holds its token, the dev server only its hash.
  const appToken = `vat_${randomBytes(24).toString('base64url')}`;
  const vela = await startVelaDevServer({ dbPath, upstream: { baseURL: upstream.baseURL, apiKey: upstream.apiKey }, adminToken: randomBytes(24).toString('base64url') });
  const seed = seedVelaDemo(vela, { appToken, budgetUsd: 5 });

  const spans = new InMemorySpanExporter();
  const otlpEndpoint = env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || undefined;
  const processors: SpanProcessor[] = [new SimpleSpanProcessor({ exporter: spans })];
  if (otlpEndpoint) processors.push(new BatchSpanProcessor({ exporter: new OTLPTraceExporter() }));
  const tracerProvider = new TracerProvider({ spanProcessors: processors, resource: resourceFromAttributes({ 'service.name': env.OTEL_SERVICE_NAME || 'sluice-demo' }) });

  return {
    upstream,
    vela,
    dbPath,
    appId: seed.appId,
    appToken,
    tenantId: seed.tenantId,
    delegationId: seed.delegationId,
    spans,
    tracerProvider,
    otlpEndpoint,
    async close() {
      await tracerProvider.shutdown();
      await vela.close();
      await upstream.fake?.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
