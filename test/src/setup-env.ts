// Why this file exists: no test may reach a real provider or OpenAI's trace exporter, whatever the
// developer's shell exports; every client in the suite points at the fake model explicitly.
for (const name of ['OPENAI_API_KEY', 'OPENAI_BASE_URL', 'OPENAI_ORG_ID', 'OPENAI_PROJECT_ID', 'OTEL_EXPORTER_OTLP_ENDPOINT']) delete process.env[name];
process.env.OPENAI_AGENTS_DISABLE_TRACING = '1';
