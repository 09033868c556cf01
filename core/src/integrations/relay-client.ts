// Why this file exists: the Agents and openai integrations build an `openai` client from an Allow's
// relay settings the same way: the relay's base URL and single-use key, no SDK-level retries.
import OpenAI from 'openai';
import { SluiceConfigError } from '../errors.ts';
import type { RelaySettings } from '../model-call.ts';

/**
 * The client to send one call with: derived from `base` (keeping its fetch, timeout, headers) with
 * the relay's URL and key, or `base` itself when there is no relay.
 */
export function openAIClientFor(base: OpenAI | undefined, relay: RelaySettings | undefined): OpenAI {
  if (!relay) {
    if (!base) {
      throw new SluiceConfigError(
        'client',
        'no plugin supplied relay settings for this call and no default client was configured; pass `client: new OpenAI(...)` or register an authorizing plugin',
      );
    }
    return base;
  }
  const options = {
    baseURL: relay.baseURL,
    apiKey: relay.apiKey,
    // A relay key is valid once: an SDK retry would be refused. A retry is a new pipeline call.
    maxRetries: 0,
    ...(relay.headers ? { defaultHeaders: relay.headers } : {}),
  };
  return base ? base.withOptions(options) : new OpenAI(options);
}
