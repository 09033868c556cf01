// Why this file exists: the chat app's server — plain `node:http` serving the built page, the
// page's config (execution scopes: ids only) and `POST /api/chat`, whose every model call runs
// through one Sluice pipeline: Vela (authorization, single-use relay credentials, audit), Vel (the
// UI stream), OpenTelemetry and per-tenant concurrency. Run directly (`npm start`), it starts the
// embedded fake model and local Vela too and prints the URL.
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, sep } from 'node:path';
import { createPipeline, type SluicePlugin, type SluicePluginError } from '@sluice/core';
import { concurrency } from '@sluice/plugin-concurrency';
import { otel } from '@sluice/plugin-otel';
import { vel } from '@sluice/plugin-vel';
import { createVelaClient, vela } from '@sluice/plugin-vela';
import { createChatRoute, type ExecutionCostLookup } from './chat-route.ts';
import { executionTracker } from './execution-tracker.ts';
import { ensurePageBuilt } from './page-build.ts';
import type { ChatScopes } from './shared/chat-scope.ts';

/** Options of {@link startChatServer}. */
export interface ChatServerOptions {
  /** The Vela app this server is. The token stays in this process; the page never sees it. */
  vela: { baseUrl: string; appId: string; appToken: string };
  /** The execution scopes the page may switch between (ids only). */
  scopes: ChatScopes;
  /** What Vela charged for a reply's executions (e.g. from its audit); absent: the page shows tokens only. */
  executionCostUsd?: ExecutionCostLookup;
  /** The model asked for. Default `gpt-fake`. */
  model?: string;
  /** Default 0 (a free port). */
  port?: number;
  /** Default `127.0.0.1`. */
  host?: string;
  /** The built page; default `dist/page`, built first when missing or stale. */
  pageDir?: string;
  /** More plugins for the pipeline, registered after the built-in ones. */
  plugins?: SluicePlugin[];
  /** Isolated plugin errors (a failed span export, an undeliverable report). Default: stderr. */
  onPluginError?: (error: SluicePluginError) => void;
}

/** A running chat server. */
export interface ChatServer {
  /** `http://127.0.0.1:PORT/` */
  url: string;
  /** Stops listening, then closes the pipeline (delivering pending Vela reports). */
  close(): Promise<void>;
}

const CONTENT_TYPES: Readonly<Record<string, string>> = Object.freeze({
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
});

const SECURITY_HEADERS = Object.freeze({
  'content-security-policy': "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
});

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store', ...headers });
  res.end(text);
}

async function serveStatic(pageDir: string, pathname: string, res: ServerResponse): Promise<void> {
  const relative = pathname === '/' ? 'index.html' : decodeURIComponent(pathname).replace(/^\/+/, '');
  const path = normalize(join(pageDir, relative));
  const type = CONTENT_TYPES[extname(path)];
  if (!path.startsWith(pageDir.endsWith(sep) ? pageDir : pageDir + sep) || type === undefined) {
    return sendJson(res, 404, { error: { code: 'not_found', message: 'no such file' } });
  }
  let body: Buffer;
  try {
    body = await readFile(path);
  } catch {
    return sendJson(res, 404, { error: { code: 'not_found', message: 'no such file' } });
  }
  const cache = relative.startsWith('assets/') ? 'public, max-age=31536000, immutable' : 'no-cache';
  res.writeHead(200, { 'content-type': type, 'content-length': body.length, 'cache-control': cache, ...SECURITY_HEADERS });
  res.end(body);
}

/**
 * Starts the chat server: the pipeline (Vela, Vel, OpenTelemetry, concurrency), the page (built if
 * needed) and the API.
 *
 * @example
 * const backend = await startEmbeddedBackend();
 * const server = await startChatServer({ vela: backend.vela, scopes: backend.scopes, executionCostUsd: backend.executionCostUsd });
 * console.log(`open ${server.url}`);
 */
export async function startChatServer(options: ChatServerOptions): Promise<ChatServer> {
  const { outDir: pageDir } = await ensurePageBuilt(options.pageDir !== undefined ? { outDir: options.pageDir } : {});
  const velaPlugin = vela({ client: createVelaClient({ baseUrl: options.vela.baseUrl, appId: options.vela.appId, appToken: options.vela.appToken }), closeTimeoutMs: 2_000 });
  const tracker = executionTracker();
  const sluice = createPipeline({
    plugins: [velaPlugin, vel(), otel(), concurrency({ perTenant: { concurrency: 4 } }), tracker, ...(options.plugins ?? [])],
    onPluginError: options.onPluginError ?? ((error) => process.stderr.write(`[sluice] ${error.message}\n`)),
  });
  const chat = createChatRoute({ sluice, velaPlugin, tracker, model: options.model ?? 'gpt-fake', ...(options.executionCostUsd ? { executionCostUsd: options.executionCostUsd } : {}) });
  const config = { scopes: options.scopes, model: options.model ?? 'gpt-fake' };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const { pathname } = new URL(req.url ?? '/', 'http://chat.invalid');
    if (pathname === '/api/chat') {
      if (req.method !== 'POST') return sendJson(res, 405, { error: { code: 'method_not_allowed', message: 'use POST' } }, { allow: 'POST' });
      return chat(req, res);
    }
    if (pathname === '/api/config') return sendJson(res, 200, config);
    if (req.method !== 'GET' && req.method !== 'HEAD') return sendJson(res, 405, { error: { code: 'method_not_allowed', message: 'use GET' } }, { allow: 'GET, HEAD' });
    return serveStatic(pageDir, pathname, res);
  };
  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      process.stderr.write(`[chat] ${req.method} ${req.url}: ${error instanceof Error ? error.message : String(error)}\n`);
      if (!res.headersSent) sendJson(res, 500, { error: { code: 'internal', message: 'the server failed to answer' } });
      else res.destroy();
    });
  });
  server.listen(options.port ?? 0, options.host ?? '127.0.0.1');
  await once(server, 'listening');
  const { address, port } = server.address() as AddressInfo;
  return {
    url: `http://${address.includes(':') ? `[${address}]` : address}:${port}/`,
    async close() {
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await stopped;
      await sluice.close();
    },
  };
}

// `npm start`: everything embedded — fake model, local Vela, the chat server. Never runs on import.
if (import.meta.main) {
  const { startEmbeddedBackend } = await import('./embedded-backend.ts');
  const backend = await startEmbeddedBackend({ chunkDelayMs: Number(process.env.CHUNK_DELAY_MS ?? 30) });
  let telemetry: { shutdown(): Promise<void> } | undefined;
  if (process.env.OTEL_EXPORTER_OTLP_ENDPOINT) {
    const { startOtel } = await import('@sluice/plugin-otel/sdk');
    telemetry = startOtel({ serviceName: 'sluice-ai-sdk-chat' });
  }
  const server = await startChatServer({
    vela: backend.vela,
    scopes: backend.scopes,
    executionCostUsd: backend.executionCostUsd,
    port: Number(process.env.PORT ?? 3000),
  });
  process.stdout.write(`Sluice AI SDK chat: ${server.url}\n  fake model ${backend.fakeModel.baseURL}, local Vela ${backend.vela.baseUrl}, tenant ${backend.scopes.active.customerTenantId}\n  Ctrl+C to stop\n`);
  const stop = (): void => {
    void (async () => {
      await server.close();
      await backend.close();
      await telemetry?.shutdown();
      process.exit(0);
    })();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
