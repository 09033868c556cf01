// The observer sees the upstream's bytes in whatever pieces the network delivers; these tests feed
// the same streams whole, byte by byte and with CRLF line ends, and expect the same observation.

import { describe, expect, it } from 'vitest';
import { createRelayUsageObserver } from './relay-usage-observer.ts';
import type { RelayObservation } from './relay-usage-observer.ts';

const encoder = new TextEncoder();

function observe(contentType: string, text: string, pieceSize = Infinity): RelayObservation {
  const observer = createRelayUsageObserver(contentType);
  const bytes = encoder.encode(text);
  const size = Math.min(pieceSize, bytes.length);
  for (let start = 0; start < bytes.length; start += size) observer.push(bytes.subarray(start, start + size));
  return observer.finish();
}

const chat = [
  'data: {"object":"chat.completion.chunk","choices":[{"delta":{"content":"Hi ✓"}}],"usage":null}',
  'data: {"object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":3,"total_tokens":15}}',
  'data: [DONE]',
].join('\n\n') + '\n\n';

const responses = [
  'event: response.created\ndata: {"type":"response.created","response":{"usage":null}}',
  'event: response.output_text.delta\ndata: {"type":"response.output_text.delta","delta":"\\"usage\\""}',
  'event: response.completed\ndata: {"type":"response.completed","response":{"usage":{"input_tokens":30,"output_tokens":4}}}',
].join('\n\n') + '\n\n';

describe('relay usage observer', () => {
  it('reads chat usage and [DONE], whatever the piece size or line ends', () => {
    const expected = { inputTokens: 12, outputTokens: 3, outcome: 'completed' };
    expect(observe('text/event-stream', chat)).toEqual(expected);
    expect(observe('text/event-stream; charset=utf-8', chat, 1)).toEqual(expected);
    expect(observe('text/event-stream', chat.replace(/\n/g, '\r\n'), 7)).toEqual(expected);
  });

  it('reads Responses usage from response.completed', () => {
    expect(observe('text/event-stream', responses, 5)).toEqual({ inputTokens: 30, outputTokens: 4, outcome: 'completed' });
  });

  it('a stream without its final event, or with an error event, is failed', () => {
    expect(observe('text/event-stream', chat.replace('data: [DONE]\n\n', ''))).toMatchObject({ outcome: 'failed', inputTokens: 12 });
    expect(observe('text/event-stream', 'data: {"error":{"message":"boom"}}\n\n')).toMatchObject({ outcome: 'failed' });
    expect(observe('text/event-stream', 'event: error\ndata: {"type":"error","message":"x"}\n\nevent: response.failed\ndata: {"type":"response.failed","response":{"usage":null}}\n\n')).toEqual({
      inputTokens: null,
      outputTokens: null,
      outcome: 'failed',
    });
  });

  it('reads usage from JSON answers of both APIs', () => {
    expect(observe('application/json', '{"usage":{"prompt_tokens":5,"completion_tokens":2}}', 3)).toEqual({ inputTokens: 5, outputTokens: 2, outcome: 'completed' });
    expect(observe('application/json', '{"usage":{"input_tokens":6,"output_tokens":1}}')).toEqual({ inputTokens: 6, outputTokens: 1, outcome: 'completed' });
    expect(observe('application/json', '{"usage":')).toEqual({ inputTokens: null, outputTokens: null, outcome: 'failed' });
  });
});
