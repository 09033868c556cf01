// Why this file exists: the relay must not trust the app alone for what a call consumed, yet it
// must pass the upstream's bytes through untouched and unbuffered. This observer watches a copy of
// the bytes on their way past — SSE events split on blank lines, parsing only the few payloads that
// carry usage or errors — and afterwards says what it saw: token counts and whether the stream
// ended the way a finished answer ends.

/** What the relay saw of one upstream answer. */
export interface RelayObservation {
  inputTokens: number | null;
  outputTokens: number | null;
  /** `completed`: a finished answer (terminal event / parseable JSON); `failed`: an error or truncation. */
  outcome: 'completed' | 'failed';
}

/** Feeds on the upstream's body chunks; `finish()` once the body ended cleanly. */
export interface RelayUsageObserver {
  push(chunk: Uint8Array): void;
  finish(): RelayObservation;
}

/** Past this much unparsed text (one event, or a JSON body) the observer stops looking; bytes still flow. */
const MAX_OBSERVED_CHARS = 16 * 1024 * 1024;

/** An observer for a body of the given content type (`text/event-stream` → SSE, else JSON). */
export function createRelayUsageObserver(contentType: string | null): RelayUsageObserver {
  return contentType !== null && contentType.toLowerCase().includes('text/event-stream') ? sseObserver() : jsonObserver();
}

interface Counts {
  inputTokens: number | null;
  outputTokens: number | null;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function tokenCount(value: unknown): number | null {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : null;
}

/** Counts from a Chat Completions (`prompt_tokens`) or Responses (`input_tokens`) usage object. */
function countsOf(usage: unknown): Counts | undefined {
  if (!isRecord(usage)) return undefined;
  const inputTokens = tokenCount(usage.input_tokens ?? usage.prompt_tokens);
  const outputTokens = tokenCount(usage.output_tokens ?? usage.completion_tokens);
  if (inputTokens === null && outputTokens === null) return undefined;
  return { inputTokens, outputTokens };
}

function sseObserver(): RelayUsageObserver {
  const decoder = new TextDecoder();
  let buffer = '';
  let blind = false;
  let counts: Counts = { inputTokens: null, outputTokens: null };
  let terminal = false;
  let failed = false;

  const onEvent = (block: string): void => {
    let eventName: string | undefined;
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line.startsWith('event:')) eventName = line.slice(6).trim();
      else if (line.startsWith('data:')) data.push(line.slice(line.startsWith('data: ') ? 6 : 5));
    }
    if (eventName === 'error') failed = true;
    const payload = data.join('\n');
    if (payload.trim() === '[DONE]') {
      terminal = true;
      return;
    }
    // Only payloads that can carry usage or an error are worth parsing.
    if (!payload.includes('"usage"') && !payload.includes('"error"')) return;
    let event: unknown;
    try {
      event = JSON.parse(payload);
    } catch {
      return; // a malformed event is the client's to judge; the bytes went through unchanged
    }
    if (!isRecord(event)) return;
    const type = typeof event.type === 'string' ? event.type : undefined;
    if (type === 'response.completed' || type === 'response.incomplete' || type === 'response.failed') {
      const response = isRecord(event.response) ? event.response : {};
      counts = countsOf(response.usage) ?? counts;
      terminal = true;
      if (type === 'response.failed') failed = true;
    } else if (type === 'error' || (type === undefined && event.error !== undefined && event.error !== null)) {
      failed = true;
    } else if (type === undefined) {
      counts = countsOf(event.usage) ?? counts;
    }
  };

  return {
    push(chunk) {
      if (blind) return;
      buffer = (buffer + decoder.decode(chunk, { stream: true })).replace(/\r\n/g, '\n');
      let boundary = buffer.indexOf('\n\n');
      while (boundary !== -1) {
        onEvent(buffer.slice(0, boundary));
        buffer = buffer.slice(boundary + 2);
        boundary = buffer.indexOf('\n\n');
      }
      if (buffer.length > MAX_OBSERVED_CHARS) {
        blind = true;
        buffer = '';
      }
    },
    finish() {
      if (!blind && buffer.trim() !== '') onEvent(buffer);
      return { ...counts, outcome: terminal && !failed ? 'completed' : 'failed' };
    },
  };
}

function jsonObserver(): RelayUsageObserver {
  const chunks: Uint8Array[] = [];
  let size = 0;
  let blind = false;
  return {
    push(chunk) {
      if (blind) return;
      size += chunk.length;
      if (size > MAX_OBSERVED_CHARS) {
        blind = true;
        chunks.length = 0;
        return;
      }
      chunks.push(chunk);
    },
    finish() {
      if (blind) return { inputTokens: null, outputTokens: null, outcome: 'completed' };
      try {
        const body: unknown = JSON.parse(new TextDecoder().decode(Buffer.concat(chunks)));
        const counts = isRecord(body) ? countsOf(body.usage) : undefined;
        return { inputTokens: counts?.inputTokens ?? null, outputTokens: counts?.outputTokens ?? null, outcome: 'completed' };
      } catch {
        return { inputTokens: null, outputTokens: null, outcome: 'failed' };
      }
    },
  };
}
