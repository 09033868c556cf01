// Why this file exists: the relay is the only path from an app to the model, and the upstream key
// never leaves this process. It honours a relay key once — for its execution, its model, until it
// expires — forwards the request with the upstream key, passes the answer through chunk by chunk as
// it arrives, and records what it observed on the execution.
//
// Key consumption: the key's state and the body's `model` are checked before anything is consumed,
// so a refused request (401, 400, 403 `model_mismatch`, 413) leaves the key usable; only a request
// about to be forwarded consumes it, with one conditional UPDATE whose row count decides the race
// (of 100 parallel uses, exactly one is forwarded). A forward that then fails (upstream unreachable → 502)
// has still used the key: single use means single attempt, and the app prepares again.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { PrepareRequest, RelayStatus } from '../protocol.ts';
import { bearerToken } from './auth.ts';
import type { ServerContext } from './context.ts';
import type { RelayKeyRecord } from './database.ts';
import { invalidField, VelaDevServerError } from './errors.ts';
import { parseJsonObject, readBody, sendError } from './http-json.ts';
import { createRelayUsageObserver } from './relay-usage-observer.ts';
import { hashSecret, RELAY_KEY_PREFIX } from './secrets.ts';

/**
 * Body limit of relay requests: 8 MiB, above the JSON API's 1 MiB because a model request carries
 * whole conversations (and images as data URLs).
 */
export const RELAY_BODY_LIMIT = 8 * 1024 * 1024;

/** Upstream response headers passed to the client; everything else (cookies, org ids, lengths) stays. */
const PASSED_RESPONSE_HEADERS = ['content-type', 'cache-control', 'x-request-id', 'retry-after', 'retry-after-ms', 'openai-processing-ms'];

const UPSTREAM_PATHS: Record<PrepareRequest['api'], string> = {
  chat_completions: '/chat/completions',
  responses: '/responses',
};

/** 401 for a key that cannot be used at `now`, or undefined when it can. */
function keyRefusal(key: RelayKeyRecord | undefined, now: number): VelaDevServerError | undefined {
  if (key === undefined) return new VelaDevServerError(401, 'invalid_relay_key', 'missing or unknown relay key (Authorization: Bearer vrk_…)');
  if (key.usedAt !== null) return new VelaDevServerError(401, 'relay_key_used', 'this relay key was already used; relay keys are single-use');
  if (key.revokedAt !== null) {
    return new VelaDevServerError(401, 'relay_key_revoked', 'this relay key was revoked (its execution was reported, or re-prepared)');
  }
  if (key.expiresAt <= now) return new VelaDevServerError(401, 'relay_key_expired', 'this relay key expired; prepare the call again');
  return undefined;
}

/** `POST /relay/v1/chat/completions` and `POST /relay/v1/responses`. */
export async function handleRelay(
  context: ServerContext,
  req: IncomingMessage,
  res: ServerResponse,
  api: PrepareRequest['api'],
): Promise<void> {
  const { db } = context;
  const token = bearerToken(req);
  const keyHash = token !== undefined && token.startsWith(RELAY_KEY_PREFIX) ? hashSecret(token) : undefined;
  // Unknown keys are refused before the body is read; the key's state is judged after, so that the
  // conditional UPDATE below is the one place a race between uses is decided.
  if (keyHash === undefined || db.getRelayKey(keyHash) === undefined) throw keyRefusal(undefined, 0);

  const raw = await readBody(req, RELAY_BODY_LIMIT);
  const now = context.now();
  const key = db.getRelayKey(keyHash);
  const refusal = keyRefusal(key, now);
  if (refusal !== undefined || key === undefined) throw refusal;
  const body = parseJsonObject(raw, { rejectForbiddenKeys: false });
  if (typeof body.model !== 'string') throw invalidField('model', 'the model string given with the relay key');
  if (body.model !== key.model) {
    throw new VelaDevServerError(403, 'model_mismatch', `this relay key is bound to model "${key.model}"; the request asked for another model`, 'model');
  }

  if (!db.consumeRelayKey(keyHash, now)) {
    throw keyRefusal(db.getRelayKey(keyHash), now) ?? new VelaDevServerError(401, 'relay_key_used', 'this relay key was already used');
  }
  db.updateExecution(key.executionId, { relayStatus: 'streaming' });
  const record = (relayStatus: RelayStatus, inputTokens: number | null = null, outputTokens: number | null = null): void => {
    db.updateExecution(key.executionId, {
      relayStatus,
      ...(inputTokens !== null ? { relayInputTokens: inputTokens } : {}),
      ...(outputTokens !== null ? { relayOutputTokens: outputTokens } : {}),
    });
  };
  await forward(context, req, res, api, raw, record);
}

async function forward(
  context: ServerContext,
  req: IncomingMessage,
  res: ServerResponse,
  api: PrepareRequest['api'],
  body: Buffer<ArrayBuffer>,
  record: (status: RelayStatus, inputTokens?: number | null, outputTokens?: number | null) => void,
): Promise<void> {
  const controller = new AbortController();
  context.relays.add(controller);
  let clientGone = false;
  const onClose = (): void => {
    if (!res.writableFinished) {
      clientGone = true;
      controller.abort();
    }
  };
  res.once('close', onClose);
  if (res.destroyed) onClose(); // the client left before the listener was on
  try {
    let upstream: Response;
    try {
      upstream = await fetch(context.upstream.baseURL + UPSTREAM_PATHS[api], {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: typeof req.headers.accept === 'string' ? req.headers.accept : 'application/json',
          authorization: `Bearer ${context.upstream.apiKey}`,
        },
        body,
        signal: controller.signal,
        redirect: 'manual',
      });
    } catch {
      if (clientGone || controller.signal.aborted) {
        record('aborted');
        return;
      }
      record('failed');
      sendError(res, new VelaDevServerError(502, 'upstream_unavailable', 'the model upstream could not be reached'));
      return;
    }

    const headers: Record<string, string> = {};
    for (const name of PASSED_RESPONSE_HEADERS) {
      const value = upstream.headers.get(name);
      if (value !== null) headers[name] = value;
    }
    res.writeHead(upstream.status, headers);
    res.flushHeaders();

    const observer = createRelayUsageObserver(upstream.headers.get('content-type'));
    let broken = false;
    if (upstream.body !== null) {
      const reader = upstream.body.getReader();
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          observer.push(value);
          if (!res.write(value)) await drained(res, controller.signal);
          if (controller.signal.aborted) break;
        }
      } catch {
        broken = true;
      } finally {
        reader.releaseLock();
      }
    }
    if (clientGone || controller.signal.aborted) {
      await upstream.body?.cancel().catch(() => undefined);
      res.destroy();
      record('aborted');
      return;
    }
    if (broken) {
      // The upstream broke mid-answer: break the client's stream too, rather than end it as if whole.
      res.destroy();
      const seen = observer.finish();
      record('failed', seen.inputTokens, seen.outputTokens);
      return;
    }
    res.end();
    const seen = observer.finish();
    record(upstream.ok ? seen.outcome : 'failed', seen.inputTokens, seen.outputTokens);
  } finally {
    res.off('close', onClose);
    context.relays.delete(controller);
  }
}

/** Resolves when `res` can take more data, or when the relay is aborted. */
function drained(res: ServerResponse, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      signal.removeEventListener('abort', done);
      resolve();
    };
    res.once('drain', done);
    signal.addEventListener('abort', done, { once: true });
  });
}
