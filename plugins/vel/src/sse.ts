// Why this file exists: a Vel stream goes to the browser as the AI SDK's UI message stream — SSE
// `data: <chunk>\n\n` frames ending with `data: [DONE]` and the `x-vercel-ai-ui-message-stream: v1`
// header — so `useChat` consumes it directly.
import type { VelEvent } from '@sluice/core';

/** Response headers of a Vel (UI message) stream. */
export const VEL_STREAM_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-type': 'text/event-stream',
  'cache-control': 'no-cache',
  connection: 'keep-alive',
  'x-vercel-ai-ui-message-stream': 'v1',
  'x-accel-buffering': 'no',
});

const encoder = new TextEncoder();
const DONE = encoder.encode('data: [DONE]\n\n');

/**
 * Frames Vel events as SSE bytes. Pull-based (no TransformStream hop): an event is serialized only
 * when the consumer reads. If the source throws, an `error` chunk is sent before `[DONE]`.
 */
export function toSSE(events: AsyncIterable<VelEvent> | Iterable<VelEvent>): ReadableStream<Uint8Array> {
  const iterator: AsyncIterator<VelEvent> | Iterator<VelEvent> =
    Symbol.asyncIterator in events ? (events as AsyncIterable<VelEvent>)[Symbol.asyncIterator]() : (events as Iterable<VelEvent>)[Symbol.iterator]();
  let ended = false;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (ended) return;
        try {
          const next = await iterator.next();
          if (next.done) {
            ended = true;
            controller.enqueue(DONE);
            controller.close();
            return;
          }
          controller.enqueue(encoder.encode(`data: ${JSON.stringify(next.value)}\n\n`));
        } catch (error) {
          ended = true;
          const errorText = error instanceof Error ? error.message : String(error);
          controller.enqueue(encoder.encode(`data: ${JSON.stringify({ type: 'error', errorText })}\n\n`));
          controller.enqueue(DONE);
          controller.close();
        }
      },
      async cancel() {
        ended = true;
        await iterator.return?.();
      },
    },
    { highWaterMark: 0 },
  );
}

/** A `Response` streaming Vel events in the UI message stream format, for route handlers. */
export function createVelResponse(events: AsyncIterable<VelEvent> | Iterable<VelEvent>, init: ResponseInit = {}): Response {
  const headers = new Headers(init.headers);
  for (const [name, value] of Object.entries(VEL_STREAM_HEADERS)) if (!headers.has(name)) headers.set(name, value);
  return new Response(toSSE(events), { ...init, status: init.status ?? 200, headers });
}
