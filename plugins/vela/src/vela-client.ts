// Why this file exists: the one place that speaks HTTP to Vela — authentication headers, per-attempt
// timeouts, retries with backoff for network errors and 5xx (never for 4xx), strict answer parsing.
import { SluiceConfigError } from '@sluice/core';
import { VelaProtocolError, VelaRequestError, VelaUnavailableError } from './errors.ts';
import type { PrepareRequest, PrepareResponse, ReportRequest, ReportResponse } from './protocol.ts';

/** Options of {@link createVelaClient}. */
export interface VelaClientOptions {
  /** Default `http://localhost:4000`. */
  baseUrl?: string;
  appId: string;
  /** Sent as a bearer token; kept out of every error, log line and property. */
  appToken: string;
  /** Per attempt. Default 5,000 ms. */
  timeoutMs?: number;
  /** Extra attempts after the first for network errors, timeouts and 5xx. Default 2. */
  retries?: number;
  /** First backoff delay (doubled per retry, with jitter, capped at 2 s). Default 100 ms. */
  backoffMs?: number;
  fetch?: typeof fetch;
}

/** A client for one Vela app. */
export interface VelaClient {
  readonly baseUrl: string;
  readonly appId: string;
  /** `POST /v1/executions/prepare` with `Idempotency-Key`. */
  prepare(body: PrepareRequest, idempotencyKey: string, options?: { signal?: AbortSignal; timeoutMs?: number }): Promise<PrepareResponse>;
  /** `POST /v1/executions/{id}/report`. Idempotent on the server: a repeat answers `alreadyReported`. */
  report(executionId: string, body: ReportRequest, options?: { signal?: AbortSignal; timeoutMs?: number }): Promise<ReportResponse>;
}

const DEFAULT_BASE_URL = 'http://localhost:4000';

function record(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

function parsePrepare(body: unknown): PrepareResponse | string {
  const b = record(body);
  if (!b) return 'expected a JSON object';
  if (typeof b.executionId !== 'string') return 'executionId is not a string';
  if (b.outcome === 'allow') {
    const relay = record(b.relay);
    if (!relay || typeof relay.baseUrl !== 'string' || typeof relay.apiKey !== 'string' || typeof relay.model !== 'string' || typeof relay.expiresAt !== 'string') {
      return 'relay must have string baseUrl, apiKey, model and expiresAt';
    }
    return b as unknown as PrepareResponse;
  }
  if (b.outcome === 'deny' || b.outcome === 'blocked') {
    const reason = record(b.reason);
    if (!reason || typeof reason.code !== 'string' || typeof reason.message !== 'string') return 'reason must have string code and message';
    if (b.retryAfterMs !== undefined && typeof b.retryAfterMs !== 'number') return 'retryAfterMs is not a number';
    return b as unknown as PrepareResponse;
  }
  return `outcome must be allow, deny or blocked, got ${JSON.stringify(b.outcome)?.slice(0, 40)}`;
}

function parseReport(body: unknown): ReportResponse | string {
  const b = record(body);
  if (!b) return 'expected a JSON object';
  if (typeof b.alreadyReported !== 'boolean') return 'alreadyReported is not a boolean';
  return b as unknown as ReportResponse;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => (clearTimeout(timer), reject(signal.reason)), { once: true });
  });

/**
 * Creates a Vela client.
 *
 * @example
 * const client = createVelaClient({ baseUrl: 'http://localhost:4000', appId: 'app_1', appToken: process.env.VELA_APP_TOKEN! });
 */
export function createVelaClient(options: VelaClientOptions): VelaClient {
  const baseUrl = (options.baseUrl ?? DEFAULT_BASE_URL).replace(/\/+$/, '');
  let parsed: URL;
  try {
    parsed = new URL(baseUrl);
  } catch {
    throw new SluiceConfigError('baseUrl', 'expected an absolute http(s) URL such as http://localhost:4000');
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new SluiceConfigError('baseUrl', `expected http: or https:, got ${parsed.protocol}`);
  if (parsed.username || parsed.password) throw new SluiceConfigError('baseUrl', 'must not contain credentials; use appToken');
  if (typeof options.appId !== 'string' || options.appId.trim() === '') throw new SluiceConfigError('appId', 'expected a non-empty string');
  if (typeof options.appToken !== 'string' || options.appToken.trim() === '') throw new SluiceConfigError('appToken', 'expected a non-empty string');
  const appId = options.appId;
  const authorization = `Bearer ${options.appToken}`; // closed over: never a property of the client
  const timeoutMs = options.timeoutMs ?? 5_000;
  const retries = options.retries ?? 2;
  const backoffMs = options.backoffMs ?? 100;
  const doFetch = options.fetch ?? fetch;

  async function post<T>(path: string, body: unknown, headers: Record<string, string>, parse: (body: unknown) => T | string, call?: { signal?: AbortSignal; timeoutMs?: number }): Promise<T> {
    const payload = JSON.stringify(body);
    let last: { reason: VelaUnavailableError['reason']; detail: string; statusCode?: number; cause?: unknown } | undefined;
    for (let attempt = 1; attempt <= retries + 1; attempt++) {
      if (attempt > 1) {
        const cap = Math.min(2_000, backoffMs * 2 ** (attempt - 2));
        await sleep(cap / 2 + Math.random() * (cap / 2), call?.signal);
      }
      const timeout = AbortSignal.timeout(call?.timeoutMs ?? timeoutMs);
      const signal = call?.signal ? AbortSignal.any([call.signal, timeout]) : timeout;
      let response: Response;
      let text: string;
      try {
        response = await doFetch(`${baseUrl}${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization, 'vela-app-id': appId, ...headers },
          body: payload,
          signal,
        });
        text = await response.text();
      } catch (error) {
        if (call?.signal?.aborted) throw call.signal.reason;
        const timedOut = timeout.aborted;
        const code = (error as { cause?: { code?: unknown } })?.cause?.code;
        last = { reason: timedOut ? 'timeout' : 'network', detail: timedOut ? `no answer within ${call?.timeoutMs ?? timeoutMs} ms` : `connection failed${typeof code === 'string' ? ` (${code})` : ''}`, cause: error };
        continue;
      }
      if (response.status >= 500) {
        last = { reason: 'server_error', detail: `HTTP ${response.status}`, statusCode: response.status };
        continue;
      }
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        throw new VelaProtocolError(baseUrl, path, response.status, 'not JSON');
      }
      if (response.status >= 400) {
        const error = record(record(json)?.error);
        throw new VelaRequestError({
          baseUrl,
          path,
          statusCode: response.status,
          velaCode: typeof error?.code === 'string' ? error.code : 'unknown',
          message: typeof error?.message === 'string' ? error.message : 'no message',
          field: typeof error?.field === 'string' ? error.field : undefined,
        });
      }
      const result = parse(json);
      if (typeof result === 'string') throw new VelaProtocolError(baseUrl, path, response.status, result);
      return result;
    }
    throw new VelaUnavailableError({ baseUrl, path, attempts: retries + 1, ...last! });
  }

  return {
    baseUrl,
    appId,
    prepare(body, idempotencyKey, call) {
      return post('/v1/executions/prepare', body, { 'idempotency-key': idempotencyKey }, parsePrepare, call);
    },
    report(executionId, body, call) {
      return post(`/v1/executions/${encodeURIComponent(executionId)}/report`, body, {}, parseReport, call);
    },
  };
}
