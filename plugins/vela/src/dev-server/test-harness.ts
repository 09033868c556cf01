// Why this file exists: the dev server's tests (the *.test.ts beside it) all need the same set-up
// — a server on a real SQLite file in a temp dir, one app/tenant/delegation, a controllable clock,
// captured log lines, and raw HTTP helpers — and a way to prove "nothing changed": a dump of every
// table read through a separate connection. The server itself never imports this file.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import { startFakeModelServer, type FakeModelServer } from '../../../../test/src/fake-model-server.ts';
import type { ErrorBody, PrepareAllow, PrepareRefusal, PrepareRequest } from '../protocol.ts';
import type { VelaDevServer, VelaDevServerOptions } from './options.ts';
import { startVelaDevServer } from './server.ts';

/** Secrets the harness configures, to search for in logs and rows. */
export const ADMIN_TOKEN = 'admin-token-0123456789abcdef';
export const UPSTREAM_KEY = 'sk-upstream-0123456789abcdef';

/** A raw HTTP answer. */
export interface Answer {
  status: number;
  headers: Headers;
  /** Parsed JSON, or the text when not JSON. */
  body: unknown;
  text: string;
}

/** The answer's body as an allow, failing loudly when it is not one. */
export function asAllow(answer: Answer): PrepareAllow {
  if (answer.status !== 200 || !isRecord(answer.body) || answer.body.outcome !== 'allow') {
    throw new Error(`expected an allow, got ${answer.status} ${answer.text}`);
  }
  return answer.body as unknown as PrepareAllow;
}

/** The answer's body as a deny/blocked, failing loudly when it is not one. */
export function asRefusal(answer: Answer): PrepareRefusal {
  if (answer.status !== 200 || !isRecord(answer.body) || (answer.body.outcome !== 'deny' && answer.body.outcome !== 'blocked')) {
    throw new Error(`expected a refusal, got ${answer.status} ${answer.text}`);
  }
  return answer.body as unknown as PrepareRefusal;
}

/** The answer's error, failing loudly when it has none. */
export function asError(answer: Answer): ErrorBody['error'] {
  if (!isRecord(answer.body) || !isRecord(answer.body.error)) throw new Error(`expected an error body, got ${answer.status} ${answer.text}`);
  return answer.body.error as unknown as ErrorBody['error'];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Credentials of one app. */
export interface AppCredentials {
  appId: string;
  appToken: string;
}

/** A running dev server seeded with one app, tenant and delegation. */
export interface Harness {
  vela: VelaDevServer;
  dir: string;
  dbPath: string;
  logs: string[];
  clock: { now: number };
  app: AppCredentials;
  tenantId: string;
  delegationId: string;
  /** A valid prepare body for the seeded tenant/delegation, with overrides. */
  prepareBody(overrides?: Partial<PrepareRequest>): PrepareRequest;
  /** `POST /v1/executions/prepare` with a fresh Idempotency-Key unless one is given. */
  prepare(body?: unknown, options?: { idempotencyKey?: string | null; app?: AppCredentials }): Promise<Answer>;
  report(executionId: string, body: unknown, app?: AppCredentials): Promise<Answer>;
  /** Any request to the server with JSON (or raw) body. */
  request(method: string, path: string, options?: { headers?: Record<string, string>; body?: unknown }): Promise<Answer>;
  /** App auth headers. */
  appHeaders(app?: AppCredentials): Record<string, string>;
  /** Every row of every table, through a separate read-only connection. */
  dump(): Record<string, unknown[]>;
  /** Restarts the server on the same database file. */
  restart(): Promise<void>;
  close(): Promise<void>;
}

let idempotencyCounter = 0;

/** Starts a harness relaying to `upstreamBaseURL`. */
export async function startHarness(
  upstreamBaseURL: string,
  options: Partial<Omit<VelaDevServerOptions, 'upstream' | 'adminToken' | 'dbPath' | 'logger' | 'now'>> & {
    delegation?: { budgetUsd?: number; allowedModels?: string[]; defaultModel?: string };
    tenant?: { rateLimitPerMinute?: number };
  } = {},
): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'vela-dev-server-'));
  const dbPath = join(dir, 'vela.sqlite');
  const logs: string[] = [];
  const clock = { now: Date.parse('2030-01-01T00:00:00.000Z') };
  const { delegation: delegationOptions, tenant: tenantOptions, ...serverOptions } = options;
  const start = (): Promise<VelaDevServer> =>
    startVelaDevServer({
      ...serverOptions,
      dbPath,
      upstream: { baseURL: upstreamBaseURL, apiKey: UPSTREAM_KEY },
      adminToken: ADMIN_TOKEN,
      logger: (line) => logs.push(line),
      now: () => clock.now,
    });
  let vela = await start();
  const app = vela.admin.createApp({ name: 'App A' });
  const { tenantId } = vela.admin.createTenant({ appId: app.appId, name: 'Tenant A', ...tenantOptions });
  const { delegationId } = vela.admin.createDelegation({ tenantId, ...delegationOptions });

  const request = async (method: string, path: string, init: { headers?: Record<string, string>; body?: unknown } = {}): Promise<Answer> => {
    const body =
      init.body === undefined
        ? undefined
        : typeof init.body === 'string'
          ? init.body
          : init.body instanceof Uint8Array
            ? new Uint8Array(init.body)
            : JSON.stringify(init.body);
    const response = await fetch(vela.url + path, {
      method,
      headers: { 'content-type': 'application/json', ...init.headers },
      ...(body !== undefined ? { body } : {}),
    });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // keep the text
    }
    return { status: response.status, headers: response.headers, body: parsed, text };
  };
  const appHeaders = (credentials: AppCredentials = app): Record<string, string> => ({
    authorization: `Bearer ${credentials.appToken}`,
    'vela-app-id': credentials.appId,
  });

  const harness: Harness = {
    get vela() {
      return vela;
    },
    dir,
    dbPath,
    logs,
    clock,
    app,
    tenantId,
    delegationId,
    prepareBody(overrides = {}) {
      return {
        executionScope: { customerTenantId: tenantId, delegationId },
        modelSlot: { slotId: 'agent', label: 'Agent response', selectionMode: 'locked', requiredModel: 'openai/gpt-fake' },
        api: 'chat_completions',
        estimatedCostUsd: 0.01,
        ...overrides,
      };
    },
    prepare(body = harness.prepareBody(), prepareOptions = {}) {
      const key = prepareOptions.idempotencyKey === undefined ? `call-${++idempotencyCounter}` : prepareOptions.idempotencyKey;
      return request('POST', '/v1/executions/prepare', {
        headers: { ...appHeaders(prepareOptions.app), ...(key !== null ? { 'idempotency-key': key } : {}) },
        body,
      });
    },
    report(executionId, body, credentials = app) {
      return request('POST', `/v1/executions/${encodeURIComponent(executionId)}/report`, { headers: appHeaders(credentials), body });
    },
    request,
    appHeaders,
    dump() {
      const db = new DatabaseSync(dbPath, { readOnly: true });
      try {
        const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all();
        const result: Record<string, unknown[]> = {};
        for (const { name } of tables) {
          result[String(name)] = db.prepare(`SELECT * FROM "${String(name)}" ORDER BY rowid`).all();
        }
        return result;
      } finally {
        db.close();
      }
    },
    async restart() {
      await vela.close();
      vela = await start();
    },
    async close() {
      await vela.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return harness;
}

/** What {@link useHarnesses} gives a test file. */
export interface HarnessSuite {
  /** The fake upstream model behind every harness of the file (reset before each test). */
  fake(): FakeModelServer;
  /** Starts a harness relaying to the upstream (or to `upstreamBaseURL`); closed after the test. */
  harness(options?: Parameters<typeof startHarness>[1], upstreamBaseURL?: string): Promise<Harness>;
}

/**
 * Registers the set-up every dev-server test file shares: one fake upstream for the file, reset
 * before each test, and the harnesses a test starts, closed after it.
 */
export function useHarnesses(): HarnessSuite {
  let fake: FakeModelServer | undefined;
  const started: Harness[] = [];
  beforeAll(async () => {
    fake = await startFakeModelServer();
  });
  afterAll(async () => {
    await fake?.close();
  });
  beforeEach(() => {
    fake?.reset();
  });
  afterEach(async () => {
    await Promise.all(started.splice(0).map((h) => h.close()));
  });
  const current = (): FakeModelServer => {
    if (!fake) throw new Error('the fake upstream starts in beforeAll: use it inside a test');
    return fake;
  };
  return {
    fake: current,
    async harness(options = {}, upstreamBaseURL = current().baseURL) {
      const h = await startHarness(upstreamBaseURL, options);
      started.push(h);
      return h;
    },
  };
}
