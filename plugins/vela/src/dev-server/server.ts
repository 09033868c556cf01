// Why this file exists: it assembles the dev server — resolves options into the routes' shared
// context, routes requests (404 unknown route, 405 wrong method), turns thrown errors into
// protocol error answers, logs one secret-free line per request, tracks in-flight work so tests
// can await it, and shuts everything down in the right order (sockets, relay streams, records,
// database).

import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { createAdminHelpers } from './admin-service.ts';
import {
  handleAudit,
  handleCreateApp,
  handleCreateDelegation,
  handleCreateTenant,
  handleRevokeDelegation,
  handleSuspendTenant,
} from './admin-routes.ts';
import type { ServerContext } from './context.ts';
import { openVelaDatabase } from './database.ts';
import { VelaDevServerError, VelaDevServerOptionsError } from './errors.ts';
import { ClientGoneError, sendError, sendJson } from './http-json.ts';
import type { VelaDevServer, VelaDevServerOptions } from './options.ts';
import { handlePrepare } from './prepare-route.ts';
import { DEFAULT_PRICES, isValidPrice, MAX_USD, usdToNano } from './pricing.ts';
import type { PriceTable } from './pricing.ts';
import { handleRelay } from './relay-route.ts';
import { handleReport } from './report-route.ts';
import { hashSecret, redactSecrets } from './secrets.ts';

/** Default relay key lifetime. */
export const DEFAULT_RELAY_TTL_MS = 60_000;

type Handler = (context: ServerContext, req: IncomingMessage, res: ServerResponse, params: string[], url: URL) => void | Promise<void>;

interface Route {
  pattern: RegExp;
  methods: Partial<Record<string, Handler>>;
}

const SEGMENT = '([^/]+)';

const ROUTES: Route[] = [
  { pattern: /^\/health$/, methods: { GET: (_context, _req, res) => sendJson(res, 200, { ok: true }) } },
  { pattern: /^\/v1\/executions\/prepare$/, methods: { POST: (context, req, res) => handlePrepare(context, req, res) } },
  {
    pattern: new RegExp(`^/v1/executions/${SEGMENT}/report$`),
    methods: { POST: (context, req, res, [executionId = '']) => handleReport(context, req, res, executionId) },
  },
  { pattern: /^\/relay\/v1\/chat\/completions$/, methods: { POST: (context, req, res) => handleRelay(context, req, res, 'chat_completions') } },
  { pattern: /^\/relay\/v1\/responses$/, methods: { POST: (context, req, res) => handleRelay(context, req, res, 'responses') } },
  { pattern: /^\/v1\/admin\/apps$/, methods: { POST: (context, req, res) => handleCreateApp(context, req, res) } },
  { pattern: /^\/v1\/admin\/tenants$/, methods: { POST: (context, req, res) => handleCreateTenant(context, req, res) } },
  {
    pattern: new RegExp(`^/v1/admin/tenants/${SEGMENT}/suspend$`),
    methods: { POST: (context, req, res, [tenantId = '']) => handleSuspendTenant(context, req, res, tenantId) },
  },
  { pattern: /^\/v1\/admin\/delegations$/, methods: { POST: (context, req, res) => handleCreateDelegation(context, req, res) } },
  {
    pattern: new RegExp(`^/v1/admin/delegations/${SEGMENT}/revoke$`),
    methods: { POST: (context, req, res, [delegationId = '']) => handleRevokeDelegation(context, req, res, delegationId) },
  },
  { pattern: /^\/v1\/audit$/, methods: { GET: (context, req, res, _params, url) => handleAudit(context, req, res, url) } },
];

function notFound(): VelaDevServerError {
  return new VelaDevServerError(404, 'not_found', 'no such route');
}

async function route(context: ServerContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://vela.invalid');
  for (const candidate of ROUTES) {
    const match = candidate.pattern.exec(url.pathname);
    if (match === null) continue;
    const handler = candidate.methods[req.method ?? 'GET'];
    if (handler === undefined) {
      const allow = Object.keys(candidate.methods).join(', ');
      sendError(res, new VelaDevServerError(405, 'method_not_allowed', `${req.method ?? '?'} is not allowed here (allowed: ${allow})`), { allow });
      return;
    }
    let params: string[];
    try {
      params = match.slice(1).map((segment) => decodeURIComponent(segment));
    } catch {
      throw notFound();
    }
    await handler(context, req, res, params, url);
    return;
  }
  throw notFound();
}

function resolveOptions(options: VelaDevServerOptions): {
  upstream: { baseURL: string; apiKey: string };
  prices: PriceTable;
  relayTtlMs: number;
  defaultEstimateNano: number;
  publicUrl: string | undefined;
} {
  const baseURL = options.upstream?.baseURL;
  if (typeof baseURL !== 'string' || !/^https?:\/\//.test(baseURL) || !URL.canParse(baseURL)) {
    throw new VelaDevServerOptionsError('upstream.baseURL', 'an http(s) URL like "https://api.openai.com/v1"');
  }
  if (typeof options.upstream.apiKey !== 'string') throw new VelaDevServerOptionsError('upstream.apiKey', 'a string');
  if (typeof options.adminToken !== 'string' || options.adminToken.length === 0) {
    throw new VelaDevServerOptionsError('adminToken', 'a non-empty string');
  }
  const relayTtlMs = options.relayTtlMs ?? DEFAULT_RELAY_TTL_MS;
  if (!Number.isSafeInteger(relayTtlMs) || relayTtlMs <= 0) throw new VelaDevServerOptionsError('relayTtlMs', 'a positive integer');
  const defaultEstimateUsd = options.defaultEstimateUsd ?? 0;
  if (!Number.isFinite(defaultEstimateUsd) || defaultEstimateUsd < 0 || defaultEstimateUsd > MAX_USD) {
    throw new VelaDevServerOptionsError('defaultEstimateUsd', `a number between 0 and ${MAX_USD}`);
  }
  const prices: PriceTable = { ...DEFAULT_PRICES };
  for (const [model, price] of Object.entries(options.prices ?? {})) {
    if (!isValidPrice(price)) throw new VelaDevServerOptionsError(`prices.${model}`, 'finite, non-negative USD-per-million-token prices');
    prices[model] = price;
  }
  if (options.publicUrl !== undefined && (!/^https?:\/\//.test(options.publicUrl) || !URL.canParse(options.publicUrl))) {
    throw new VelaDevServerOptionsError('publicUrl', 'an http(s) URL');
  }
  return {
    upstream: { baseURL: baseURL.replace(/\/+$/, ''), apiKey: options.upstream.apiKey },
    prices,
    relayTtlMs,
    defaultEstimateNano: usdToNano(defaultEstimateUsd),
    publicUrl: options.publicUrl?.replace(/\/+$/, ''),
  };
}

/** The path of a request for the log: no query string, no control characters, nothing token-shaped. */
function loggablePath(rawUrl: string | undefined): string {
  const path = (rawUrl ?? '/').split('?')[0] ?? '/';
  return redactSecrets(path.slice(0, 200).replace(/[\u0000-\u001f\u007f]/g, '?'));
}

/**
 * Starts a local Vela governance server (DESIGN.md §4) on 127.0.0.1: prepare/report, the relay to
 * an OpenAI-compatible upstream, the admin API and the audit log, on SQLite.
 *
 * @example
 * const vela = await startVelaDevServer({ upstream: { baseURL: fake.baseURL, apiKey: 'k' }, adminToken: 'admin' });
 * const { appId, appToken } = vela.admin.createApp();
 */
export async function startVelaDevServer(options: VelaDevServerOptions): Promise<VelaDevServer> {
  const resolved = resolveOptions(options);
  const host = options.host ?? '127.0.0.1';
  const db = openVelaDatabase(options.dbPath ?? ':memory:');
  let ownUrl = '';
  const context: ServerContext = {
    db,
    now: options.now ?? Date.now,
    prices: resolved.prices,
    relayTtlMs: resolved.relayTtlMs,
    defaultEstimateNano: resolved.defaultEstimateNano,
    publicUrl: () => resolved.publicUrl ?? ownUrl,
    upstream: resolved.upstream,
    adminTokenHash: hashSecret(options.adminToken),
    knownSecrets: [resolved.upstream.apiKey, options.adminToken],
    relays: new Set(),
  };
  const logger = options.logger;
  const inFlight = new Set<Promise<void>>();

  const server = createServer((req, res) => {
    const started = performance.now();
    if (logger !== undefined) {
      const method = (req.method ?? '?').slice(0, 16);
      const path = loggablePath(req.url);
      res.once('close', () => {
        const ms = Math.round(performance.now() - started);
        const note = res.writableFinished ? '' : ' (connection closed early)';
        try {
          logger(`${method} ${path} ${res.statusCode} ${ms}ms${note}`);
        } catch {
          // a throwing logger must not take the server down
        }
      });
    }
    const task: Promise<void> = route(context, req, res)
      .catch((error: unknown) => {
        if (error instanceof ClientGoneError) {
          res.destroy();
          return;
        }
        if (res.headersSent) {
          res.destroy();
          return;
        }
        if (!(error instanceof VelaDevServerError)) {
          sendError(res, new VelaDevServerError(500, 'internal_error', 'internal server error'));
          return;
        }
        // Messages and fields echo ids from the request; a client that put a token there gets it back
        // scrubbed.
        const scrub = (text: string): string => redactSecrets(text, context.knownSecrets);
        sendError(res, new VelaDevServerError(error.status, error.code, scrub(error.message), error.field === undefined ? undefined : scrub(error.field)));
      })
      .finally(() => {
        inFlight.delete(task);
      });
    inFlight.add(task);
  });

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    db.close();
    throw error;
  }
  const address = server.address();
  if (address === null || typeof address === 'string') {
    server.close();
    db.close();
    throw new Error('Vela dev server: expected a TCP address');
  }
  ownUrl = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;

  const settled = async (): Promise<void> => {
    while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
  };
  let closing: Promise<void> | undefined;

  return {
    url: ownUrl,
    port: address.port,
    admin: createAdminHelpers(context),
    settled,
    close() {
      closing ??= (async () => {
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        for (const relay of context.relays) relay.abort();
        server.closeAllConnections();
        await settled();
        await stopped;
        db.close();
      })();
      return closing;
    },
  };
}
