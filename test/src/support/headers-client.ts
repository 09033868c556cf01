// Why this file exists: tests that act between a response's headers and the end of its body need
// to know when the client has the headers; this client's fetch says so.
import OpenAI from 'openai';

/** An `openai` client (no retries) whose `headers` resolves when the first response's headers are in. */
export function clientTellingHeaders(baseURL: string, apiKey: string): { client: OpenAI; headers: Promise<void> } {
  let headersIn!: () => void;
  const headers = new Promise<void>((resolve) => (headersIn = resolve));
  const client = new OpenAI({
    baseURL,
    apiKey,
    maxRetries: 0,
    fetch: async (url, init) => {
      const response = await fetch(url, init);
      headersIn();
      return response;
    },
  });
  return { client, headers };
}
