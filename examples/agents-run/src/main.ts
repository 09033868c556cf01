// Why this file exists: `npm start` — the first thing a newcomer runs. An Agents SDK agent with a
// function tool, streamed through the Sluice pipeline against the fake OpenAI-compatible model,
// printing the answer as it streams and each model call's lifecycle. Nothing to configure.
import { parseArgs } from 'node:util';
import { Agent, Runner, setTracingDisabled, tool } from '@openai/agents';
import { createPipeline } from '@sluice/core';
import { createModelProvider } from '@sluice/core/agents';
import { startFakeModelServer, toolLoopScript } from '@sluice/test/fake-model-server';
import OpenAI from 'openai';
import { z } from 'zod';
import { lifecyclePrinter } from './lifecycle-printer.ts';

const HELP = `Usage: npm start -- [options]

Runs an OpenAI Agents SDK agent with one function tool through the Sluice pipeline,
streamed, against a local fake OpenAI-compatible model (nothing leaves this machine).

Options:
  --prompt <text>   what to ask the agent (default: "What is the weather in Paris?")
  --city <name>     the city the fake model asks the tool about (default: Paris)
  --delay <ms>      delay between streamed chunks, to watch the stream (default: 15)
  --api <name>      responses | chat_completions (default: responses)
  -h, --help        show this help
`;

const { values } = parseArgs({
  options: {
    prompt: { type: 'string', default: 'What is the weather in Paris?' },
    city: { type: 'string', default: 'Paris' },
    delay: { type: 'string', default: '15' },
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

// The Agents SDK would export traces to OpenAI when OPENAI_API_KEY is set; this demo sends nothing out.
setTracingDisabled(true);

const city = values.city;
const script = toolLoopScript({
  toolCalls: [[{ name: 'get_weather', arguments: JSON.stringify({ city }) }]],
  finalText: `It is sunny and 22°C in ${city} right now, with a light breeze from the west. A good afternoon for a walk.`,
});
const fake = await startFakeModelServer({ script: (request) => ({ ...script(request), chunkDelayMs: delay }) });

// Lifecycle lines and the streamed answer share the terminal: a line starts on a fresh line.
let midLine = false;
const out = (text: string) => process.stdout.write(text);
const line = (text: string) => {
  out(`${midLine ? '\n' : ''}${text}\n`);
  midLine = false;
};

const getWeather = tool({
  name: 'get_weather',
  description: 'The current weather for a city',
  parameters: z.object({ city: z.string() }),
  execute: async ({ city: name }) => `Sunny, 22°C, wind 12 km/h W in ${name}`,
});

const sluice = createPipeline({ plugins: [lifecyclePrinter(line)] });
const provider = createModelProvider(sluice, {
  api,
  slots: [{ slotId: 'agent', label: 'Demo agent response', selectionMode: 'locked', requiredModel: 'openai/gpt-fake' }],
  // No authorizer is registered yet, so calls use this default client (the fake model).
  client: new OpenAI({ baseURL: fake.baseURL, apiKey: 'sk-demo-fake-model', maxRetries: 0 }),
});
const agent = new Agent({ name: 'Weather assistant', instructions: 'Answer weather questions using the get_weather tool.', model: 'agent', tools: [getWeather] });

out(`Sluice demo: Agents SDK run through the pipeline (${api}), fake model at ${fake.baseURL}\n`);
out(`> ${values.prompt}\n\n`);

let exitCode = 0;
try {
  const result = await new Runner({ modelProvider: provider, tracingDisabled: true }).run(agent, values.prompt, { stream: true });
  for await (const event of result) {
    if (event.type === 'raw_model_stream_event' && event.data.type === 'output_text_delta') {
      if (!midLine) out('  answer: ');
      midLine = true;
      out(event.data.delta);
    } else if (event.type === 'run_item_stream_event') {
      const item = event.item;
      if (event.name === 'tool_called' && item.rawItem.type === 'function_call') {
        line(`  tool call → ${item.rawItem.name}(${item.rawItem.arguments})`);
      } else if (event.name === 'tool_output' && item.type === 'tool_call_output_item') {
        line(`  tool result ← ${String(item.output)}`);
      }
    }
  }
  await result.completed;
  await sluice.idle();
  line(`\nDone: ${fake.requests.length} model calls, final answer: ${String(result.finalOutput)}`);
} catch (error) {
  exitCode = 1;
  process.stderr.write(`The run failed: ${error instanceof Error ? error.message : String(error)}\n`);
} finally {
  await sluice.close();
  await fake.close();
}
process.exitCode = exitCode;
