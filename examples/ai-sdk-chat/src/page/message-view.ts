// Why this file exists: how one chat message looks — streamed text, each tool call with its input
// and output, and under a reply its usage and cost from the message metadata.
import { createElement as h, type ReactNode } from 'react';
import { formatUsd, type ChatMessageMetadata, type ChatUIMessage } from '../shared/chat-message.ts';

type Part = ChatUIMessage['parts'][number];

/** The fields of a tool part (`tool-<name>` or `dynamic-tool`) the page shows. */
interface ToolView {
  toolCallId: string;
  toolName: string;
  state: string;
  input: unknown;
  output: unknown;
  errorText: string | undefined;
}

function toolView(part: Part): ToolView | undefined {
  if (!part.type.startsWith('tool-') && part.type !== 'dynamic-tool') return undefined;
  if (!('toolCallId' in part) || !('state' in part)) return undefined;
  const record = part as unknown as Record<string, unknown>;
  return {
    toolCallId: String(record.toolCallId),
    toolName: part.type === 'dynamic-tool' ? String(record.toolName) : part.type.slice('tool-'.length),
    state: String(record.state),
    input: record.input,
    output: record.output,
    errorText: typeof record.errorText === 'string' ? record.errorText : undefined,
  };
}

/** One line when short, indented when not. */
function json(value: unknown): string {
  const line = JSON.stringify(value) ?? String(value);
  return line.length <= 72 ? line : (JSON.stringify(value, null, 2) ?? line);
}

function ToolCall({ tool }: { tool: ToolView }): ReactNode {
  const rows: ReactNode[] = [h('dt', { key: 'in-label' }, 'input'), h('dd', { key: 'in' }, h('pre', { 'data-testid': 'tool-input' }, tool.input === undefined ? '…' : json(tool.input)))];
  if (tool.state === 'output-available') rows.push(h('dt', { key: 'out-label' }, 'output'), h('dd', { key: 'out' }, h('pre', { 'data-testid': 'tool-output' }, json(tool.output))));
  if (tool.errorText !== undefined) rows.push(h('dt', { key: 'err-label' }, 'error'), h('dd', { key: 'err' }, tool.errorText));
  return h(
    'div',
    { className: 'tool', 'data-testid': `tool-${tool.toolName}` },
    h('div', { className: 'tool-head' }, h('span', { className: 'kind' }, 'tool'), tool.toolName, h('span', { className: 'state' }, tool.state)),
    h('dl', null, ...rows),
  );
}

/** "63 input · 27 output tokens · $0.000117 · 2 model calls", or undefined before the reply finished. */
export function usageLine(metadata: ChatMessageMetadata | undefined): string | undefined {
  const usage = metadata?.usage;
  if (!usage) return undefined;
  const parts = [`${usage.inputTokens ?? '?'} input · ${usage.outputTokens ?? '?'} output tokens`];
  parts.push(metadata.costUsd !== undefined ? formatUsd(metadata.costUsd) : 'cost not reported');
  if (metadata.modelCalls !== undefined) parts.push(`${metadata.modelCalls} model call${metadata.modelCalls === 1 ? '' : 's'}`);
  return parts.join(' · ');
}

/** One message of the transcript. */
export function MessageView({ message }: { message: ChatUIMessage }): ReactNode {
  const body: ReactNode[] = [];
  message.parts.forEach((part, index) => {
    if (part.type === 'text') body.push(h('p', { key: index }, part.text));
    const tool = toolView(part);
    if (tool) body.push(h(ToolCall, { key: tool.toolCallId, tool }));
  });
  const usage = message.role === 'assistant' ? usageLine(message.metadata) : undefined;
  return h(
    'article',
    { className: `message ${message.role}`, 'data-testid': `message-${message.role}` },
    h('div', { className: 'role' }, message.role === 'user' ? 'You' : 'Assistant'),
    ...body,
    usage ? h('div', { className: 'usage', 'data-testid': 'usage' }, usage) : null,
  );
}
