// Why this file exists: `npm start -w @sluice/example-mesh` — a graph of four agent nodes on two
// SDKs, run through one Sluice pipeline against the local fake model, printed as the ONE Vel stream
// a UI would receive: node starts and finishes, each node's streamed text and tools (prefixed with
// its id), a line per model call from a plugin registered once, usage per node and in total.
import { parseArgs } from 'node:util';
import { setTracingDisabled } from '@openai/agents';
import { createPipeline, type Usage } from '@sluice/core';
import { startFakeModelServer } from '@sluice/test/fake-model-server';
import { callPrinter } from './call-printer.ts';
import { buildDemoGraph, DEMO_INPUT, DEMO_SDK, demoScript, type DemoNode } from './demo-graph.ts';
import type { GraphMessageMetadata, NodeFinishData, NodeStartData } from './orchestrator.ts';

const HELP = `Usage: npm start -w @sluice/example-mesh -- [options]

Runs a graph of agent nodes through one Sluice pipeline against a local fake model:
planner (Agents SDK) → weather (Agents SDK, tool) ∥ news (AI SDK, tool) → writer (AI SDK).

Options:
  --interleave <mode>  atomic-steps (each node's step written whole) | live (token by token)
                       (default: atomic-steps)
  --delay <ms>         delay between streamed chunks, to watch the stream (default: 15)
  -h, --help           show this help
`;

const { values } = parseArgs({
  options: {
    interleave: { type: 'string', default: 'atomic-steps' },
    delay: { type: 'string', default: '15' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  process.stdout.write(HELP);
  process.exit(0);
}
const interleave = values.interleave;
if (interleave !== 'atomic-steps' && interleave !== 'live') {
  process.stderr.write(`--interleave must be "atomic-steps" or "live", got "${interleave}"\n`);
  process.exit(2);
}
const delay = Number(values.delay);
if (!Number.isFinite(delay) || delay < 0) {
  process.stderr.write(`--delay must be a number of milliseconds ≥ 0, got "${values.delay}"\n`);
  process.exit(2);
}

// The Agents SDK would export traces to OpenAI when OPENAI_API_KEY is set; this demo sends nothing out.
setTracingDisabled(true);

// Streamed text and whole lines share the terminal: a line starts on a fresh line, and text from
// another node starts a new prefixed line.
let textOwner: string | undefined;
const out = (text: string) => process.stdout.write(text);
const line = (text: string) => {
  out(`${textOwner !== undefined ? '\n' : ''}${text}\n`);
  textOwner = undefined;
};
const streamText = (node: string, delta: string) => {
  if (textOwner !== node) out(`${textOwner !== undefined ? '\n' : ''}  [${node}] `);
  textOwner = node;
  out(delta.replaceAll('\n', ' '));
};
const tokens = (usage: Partial<Usage> | undefined) =>
  usage ? `${usage.totalTokens ?? '?'} tokens (${usage.inputTokens ?? '?'} in / ${usage.outputTokens ?? '?'} out)` : 'no usage reported';

const fake = await startFakeModelServer({ script: demoScript({ chunkDelayMs: delay }) });
const sluice = createPipeline();
const mesh = buildDemoGraph({ baseURL: fake.baseURL, sluice, interleave });
const printer = callPrinter(line);
mesh.use(printer); // once, for every node and both SDKs

out(`Mesh demo: planner → weather ∥ news → writer, one Sluice pipeline, fake model at ${fake.baseURL} (${interleave})\n`);
out(`> ${DEMO_INPUT}\n\n`);

/** Which node an event belongs to, by the id prefix announced in its `data-node-start`. */
const prefixes = new Map<string, string>();
const nodeOfId = (id: string) => {
  for (const [prefix, node] of prefixes) if (id.startsWith(`${prefix}-`)) return node;
  return '?';
};

let exitCode = 0;
try {
  const run = mesh.run(DEMO_INPUT);
  for await (const event of run) {
    switch (event.type) {
      case 'data-node-start': {
        const data = event.data as NodeStartData;
        prefixes.set(data.idPrefix, data.nodeId);
        const sdk = DEMO_SDK[data.nodeId as DemoNode] === 'agents' ? 'Agents SDK' : 'AI SDK';
        line(`▶ ${data.nodeId} started (${sdk}${data.dependencies.length ? `, after ${data.dependencies.join(' + ')}` : ''})`);
        break;
      }
      case 'text-delta':
        streamText(nodeOfId(event.id), event.delta);
        break;
      case 'tool-input-available':
        line(`  [${nodeOfId(event.toolCallId)}] tool call → ${event.toolName}(${JSON.stringify(event.input)})`);
        break;
      case 'tool-output-available':
        line(`  [${nodeOfId(event.toolCallId)}] tool result ← ${typeof event.output === 'string' ? event.output : JSON.stringify(event.output)}`);
        break;
      case 'error':
        line(`  ✖ ${event.errorText}`);
        break;
      case 'data-node-finish': {
        const data = event.data as NodeFinishData;
        line(`■ ${data.nodeId} ${data.status} · ${tokens(data.usage)}${data.error ? ` · ${data.error}` : ''}`);
        break;
      }
      case 'finish': {
        const metadata = event.messageMetadata as GraphMessageMetadata;
        line(`\nUsage per node:`);
        for (const [node, usage] of Object.entries(metadata.nodes)) line(`  ${node.padEnd(8)} ${tokens(usage)}`);
        await sluice.idle();
        line(`Total: ${tokens(metadata.usage)} over ${Object.keys(metadata.nodes).length} nodes and ${printer.calls} model calls (finish: ${event.finishReason ?? '?'})`);
        break;
      }
    }
  }
  const result = await run.result;
  if (result.status !== 'completed') exitCode = 1;
} catch (error) {
  exitCode = 1;
  process.stderr.write(`The graph failed: ${error instanceof Error ? error.message : String(error)}\n`);
} finally {
  await sluice.close();
  await fake.close();
}
process.exitCode = exitCode;
