// Why this file exists: the embedded fake model has to behave like a tool-using assistant without
// any randomness — a weather question makes a `get_weather` call, a time question a `get_time`
// call, and once the tool results are in the conversation it answers from them. Stateless: each
// request carries the whole conversation (Chat Completions `messages`), so the script reads it.
import type { FakeTurn, RecordedRequest } from '@sluice/test/fake-model-server';

type ChatMessage = { role?: unknown; content?: unknown };

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.map((part) => (typeof part === 'object' && part !== null && typeof (part as { text?: unknown }).text === 'string' ? (part as { text: string }).text : '')).join('');
}

/** The city a question names ("… in Lisbon?"), else Paris. */
export function cityOf(question: string): string {
  const match = /\b(?:in|at|for)\s+([A-Z][\p{L}'-]*(?:\s+[A-Z][\p{L}'-]*)*)/u.exec(question);
  return match?.[1] ?? 'Paris';
}

function sentenceFor(output: Record<string, unknown>): string {
  if (typeof output.condition === 'string') {
    return `In ${String(output.city)} it is ${output.condition.toLowerCase()} and ${String(output.temperatureC)}°C, with wind at ${String(output.windKmh)} km/h.`;
  }
  if (typeof output.localTime === 'string') return `It is ${output.localTime} in ${String(output.city)} (${String(output.timeZone)}).`;
  return `The tool answered: ${JSON.stringify(output)}.`;
}

/**
 * Scripts one answer of the fake model from the conversation in the request.
 *
 * @example
 * const fake = await startFakeModelServer({ script: (request) => chatTurn(request, { chunkDelayMs: 20 }) });
 */
export function chatTurn(request: RecordedRequest, options: { chunkDelayMs?: number } = {}): FakeTurn {
  const delay = options.chunkDelayMs ? { chunkDelayMs: options.chunkDelayMs } : {};
  const body = typeof request.body === 'object' && request.body !== null ? (request.body as { messages?: unknown }) : {};
  const messages = (Array.isArray(body.messages) ? body.messages : []) as ChatMessage[];
  const lastUser = messages.findLastIndex((message) => message.role === 'user');
  const question = lastUser >= 0 ? textOf(messages[lastUser]?.content) : '';
  const results = messages.slice(lastUser + 1).filter((message) => message.role === 'tool');

  const wanted: string[] = [];
  if (/weather|forecast|rain|sunny|temperature/i.test(question)) wanted.push('get_weather');
  if (/\btime\b|clock|hour/i.test(question)) wanted.push('get_time');
  if (wanted.length > 0 && results.length === 0) {
    const city = cityOf(question);
    return { ...delay, toolCalls: wanted.map((name) => ({ name, arguments: JSON.stringify({ city }) })) };
  }
  if (results.length > 0) {
    const sentences = results.map((result) => {
      try {
        const parsed: unknown = JSON.parse(textOf(result.content));
        return typeof parsed === 'object' && parsed !== null ? sentenceFor(parsed as Record<string, unknown>) : String(parsed);
      } catch {
        return textOf(result.content);
      }
    });
    return { ...delay, text: `${sentences.join(' ')} Anything else?` };
  }
  return { ...delay, text: 'I am the local fake model. Ask me about the weather or the time in a city, e.g. "What is the weather in Lisbon?"' };
}
