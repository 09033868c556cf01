// Why this file exists: `npm start` — how a newcomer meets Sluice. On embedded defaults (fake model,
// local Vela, in-memory telemetry) it runs an Agents SDK agent with two tools through one pipeline
// with all four plugins, streamed, and shows every model call's lifecycle, Vela's audit, the trace,
// a follow-up turn, and a revoked delegation stopping the next call before the model is asked.
import { parseArgs } from 'node:util';
import { Agent, Runner, setTracingDisabled, tool, type AgentInputItem } from '@openai/agents';
import { createPipeline, ExecutionDeniedError, type SluicePlugin } from '@sluice/core';
import { createModelProvider } from '@sluice/core/agents';
import { concurrency } from '@sluice/plugin-concurrency';
import { otel } from '@sluice/plugin-otel';
import { installAgentsTracingBridge } from '@sluice/plugin-otel/agents';
import { vel, velStreamFromRun } from '@sluice/plugin-vel';
import { createVelaClient, vela } from '@sluice/plugin-vela';
import { toolLoopScript, type RecordedRequest } from '@sluice/test/fake-model-server';
import { z } from 'zod';
import { formatAuditTable } from './audit-table.ts';
import { priceUsd, startDemoWorld } from './demo-world.ts';
import { lifecyclePrinter } from './lifecycle-printer.ts';
import { Terminal } from './terminal.ts';
import { formatTraceTree } from './trace-tree.ts';

const HELP = `Usage: npm start -- [options]

Runs an OpenAI Agents SDK agent with two tools through the Sluice pipeline (Vela, Vel,
OpenTelemetry and concurrency plugins), streamed, on embedded defaults: a fake OpenAI-compatible
model and a local Vela dev server (SQLite in a temp folder). Nothing leaves this machine unless
you set the variables below.

Options:
  --city <name>     the city to ask about (default: Paris)
  --delay <ms>      delay between streamed chunks of the fake model (default: 12)
  --api <name>      responses | chat_completions (default: responses)
  -h, --help        show this help

Environment:
  OPENAI_API_KEY, OPENAI_BASE_URL, OPENAI_MODEL   relay to a real OpenAI-compatible endpoint instead
                                                  of the fake model (OPENAI_MODEL default gpt-4.1-mini)
  OTEL_EXPORTER_OTLP_ENDPOINT                     also export the traces to this OTLP/HTTP collector
                                                  (see examples/otel-collector)
`;

const { values } = parseArgs({
  options: {
    city: { type: 'string', default: 'Paris' },
    delay: { type: 'string', default: '12' },
    api: { type: 'string', default: 'responses' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  process.stdout.write(HELP);
  process.exit(0);
}
const api = values.api;
if (api !== 'responses' && api !== 'chat_completions') {
  process.stderr.write(`--api must be "responses" or "chat_completions", got "${api}"\n`);
  process.exit(2);
}
const delay = Number(values.delay);
if (!Number.isFinite(delay) || delay < 0) {
  process.stderr.write(`--delay must be a number of milliseconds ≥ 0, got "${values.delay}"\n`);
  process.exit(2);
}
const city = values.city;

// The fake model: two tool turns, then an answer; a follow-up (previous_response_id) gets its own answer.
const toolTurns = toolLoopScript({
  toolCalls: [[{ name: 'get_weather', arguments: JSON.stringify({ city }) }], [{ name: 'get_local_time', arguments: JSON.stringify({ city }) }]],
  finalText: `It is sunny and 22°C in ${city}, with a light westerly breeze, and the local time is 14:05 — a good afternoon for a walk.`,
  usage: { inputTokens: 412, outputTokens: 38, cachedInputTokens: 256, reasoningTokens: 0 },
});
const script = (request: RecordedRequest) => {
  const body = request.body as { previous_response_id?: string; messages?: unknown[] };
  const followUp = body.previous_response_id !== undefined || JSON.stringify(body).includes('And tomorrow?');
  const turn = followUp ? { text: `Tomorrow ${city} should stay dry: 24°C and clear skies in the afternoon.`, usage: { inputTokens: 96, outputTokens: 17 } } : toolTurns(request);
  return { ...turn, chunkDelayMs: delay };
};

const terminal = new Terminal();
const world = await startDemoWorld({ script });
let exitCode = 0;
try {
  const tracer = world.tracerProvider.getTracer('sluice-demo');
  // Replaces the Agents SDK's default trace exporter (to OpenAI) with the OpenTelemetry bridge.
  const bridge = installAgentsTracingBridge({ tracer });
  setTracingDisabled(false);

  const cost = (call: { model: string }, outcome: { responseModel?: string; usage: Parameters<typeof priceUsd>[1] }) => priceUsd(outcome.responseModel ?? call.model, outcome.usage);
  const velaPlugin = vela({ client: createVelaClient({ baseUrl: world.vela.url, appId: world.appId, appToken: world.appToken }), priceUsd: cost });
  const printer = lifecyclePrinter(terminal, cost);
  const plugins: SluicePlugin[] = [printer, concurrency({ perTenant: { concurrency: 2 } }), velaPlugin, vel(), otel({ tracer, parentContext: () => bridge.parentContext() })];
  const sluice = createPipeline({ plugins });
  const scope = { customerTenantId: world.tenantId, delegationId: world.delegationId };
  const modelProvider = createModelProvider(sluice, {
    api,
    scope,
    slots: [{ slotId: 'agent', label: 'Demo weather agent', selectionMode: 'locked', requiredModel: `openai/${world.upstream.model}` }],
  });
  const getWeather = tool({ name: 'get_weather', description: 'Current weather for a city', parameters: z.object({ city: z.string() }), execute: async (input) => `Sunny, 22°C, wind 12 km/h W in ${input.city}` });
  const getLocalTime = tool({ name: 'get_local_time', description: 'Local time in a city', parameters: z.object({ city: z.string() }), execute: async (input) => `14:05 in ${input.city}` });
  const agent = new Agent({ name: 'Weather assistant', instructions: 'Answer with the weather and the local time, using your tools.', model: 'agent', tools: [getWeather, getLocalTime] });
  const runner = new Runner({ modelProvider, workflowName: 'Sluice demo' });

  /** Runs one streamed turn, printing its Vel stream: answer text, tool calls and results. */
  const turn = async (input: string | AgentInputItem[], previousResponseId?: string) => {
    const result = await runner.run(agent, input, { stream: true, ...(previousResponseId ? { previousResponseId } : {}) });
    for await (const event of velStreamFromRun(result)) {
      if (event.type === 'text-delta') terminal.append('answer', `  answer: ${event.delta}`, event.delta);
      else if (event.type === 'tool-input-available') terminal.line(`  tool call   → ${event.toolName}(${JSON.stringify(event.input)})`);
      else if (event.type === 'tool-output-available') terminal.line(`  tool result ← ${String(event.output)}`);
      else if (event.type === 'error') terminal.line(`  error: ${event.errorText}`);
    }
    terminal.endLine();
    await result.completed;
    await sluice.idle();
    return result;
  };
  const section = async () => {
    await velaPlugin.flushReports();
    terminal.line();
    terminal.line('  Vela audit (this tenant)');
    for (const line of formatAuditTable(world.vela.admin.audit({ tenant: world.tenantId }))) terminal.line(line);
    await world.tracerProvider.forceFlush();
    terminal.line();
    terminal.line('  Trace');
    for (const line of formatTraceTree(world.spans.getFinishedSpans())) terminal.line(line);
    world.spans.reset();
  };

  terminal.line('Sluice demo: every model call of an Agents SDK run through one pipeline');
  terminal.line(`  model:   ${world.upstream.fake ? `fake OpenAI-compatible model at ${world.upstream.baseURL} (set OPENAI_API_KEY to relay to a real one)` : `${world.upstream.model} at ${world.upstream.baseURL}`}`);
  terminal.line(`  Vela:    local dev server at ${world.vela.url}, tenant ${world.tenantId}, delegation ${world.delegationId}, budget $5.00`);
  terminal.line(`  plugins: ${plugins.map((p) => p.name).join(', ')} · api ${api}${world.otlpEndpoint ? ` · traces also to ${world.otlpEndpoint}` : ''}`);

  terminal.line();
  terminal.line(`▸ 1. A question that needs two tools (three model calls, each authorized afresh)`);
  const question = `What's the weather and the local time in ${city}?`;
  terminal.line(`> ${question}`);
  const first = await turn(question);
  await section();

  terminal.line();
  terminal.line('▸ 2. A follow-up turn continues the conversation through the pipeline');
  terminal.line('> And tomorrow?');
  if (api === 'responses') await turn('And tomorrow?', first.lastResponseId);
  else await turn([...first.history, { role: 'user', content: 'And tomorrow?' }]);
  await section();

  terminal.line();
  terminal.line('▸ 3. The delegation is revoked: the next call is denied before the model is asked');
  world.vela.admin.revokeDelegation(world.delegationId);
  const requestsBefore = world.upstream.fake?.requests.length;
  try {
    await turn('One more question?');
    terminal.line('  unexpected: the call was not denied');
    exitCode = 1;
  } catch (error) {
    terminal.endLine();
    if (!(error instanceof ExecutionDeniedError)) throw error;
    terminal.line(`  ExecutionDeniedError: kind=${error.kind} reason=${error.reasonCode} execution=${error.executionId ?? '-'}`);
    if (requestsBefore !== undefined) terminal.line(`  the model received ${world.upstream.fake!.requests.length - requestsBefore} requests for it`);
  }
  await section();
  terminal.line();
  terminal.line(`Done: ${printer.calls()} model calls through the pipeline.`);
  await sluice.close();
} catch (error) {
  exitCode = 1;
  terminal.line(`The demo failed: ${error instanceof Error ? error.message : String(error)}`);
} finally {
  await world.close();
}
process.exitCode = exitCode;
