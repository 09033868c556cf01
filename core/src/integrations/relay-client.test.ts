import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { createCallAbortController } from '../call-abort.ts';
import { sendingClient } from './relay-client.ts';

type Options = { signal?: AbortSignal | undefined; fetchOptions?: Record<string, unknown> };
/** The SDK's option hook of a client (protected in its types). */
const prepareOptions = (client: OpenAI, options: Options) => (client as unknown as { prepareOptions(o: Options): Promise<void> }).prepareOptions(options);

describe('sendingClient', () => {
  it('hands a call\'s signal to fetch in the fetch options, keeping the caller\'s other fetch options; any other signal stays the request\'s', async () => {
    const sender = sendingClient(new OpenAI({ apiKey: 'sk-test-relay-client', baseURL: 'http://127.0.0.1:9/v1' }));
    const call = createCallAbortController();
    const options: Options = { signal: call.signal, fetchOptions: { keepalive: true } };
    await prepareOptions(sender, options);
    expect(options.signal).toBeUndefined();
    expect(options.fetchOptions).toEqual({ keepalive: true, signal: call.signal });
    const other = new AbortController().signal;
    const plain: Options = { signal: other };
    await prepareOptions(sender, plain);
    expect([plain.signal, plain.fetchOptions]).toEqual([other, undefined]);
  });

  it('leaves the call\'s signal on the request for a client with workload identity (X.509 federation refuses a signal in fetch options)', async () => {
    const sender = sendingClient(
      new OpenAI({ baseURL: 'http://127.0.0.1:9/v1', workloadIdentity: { identityProviderId: 'idp_test', serviceAccountId: 'sa_test', provider: { tokenType: 'jwt', getToken: async () => 'subject-token' } } }),
    );
    const call = createCallAbortController();
    const options: Options = { signal: call.signal };
    await prepareOptions(sender, options);
    expect([options.signal, options.fetchOptions]).toEqual([call.signal, undefined]);
  });
});
