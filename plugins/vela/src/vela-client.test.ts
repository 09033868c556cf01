import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { VelaProtocolError, VelaRequestError, VelaUnavailableError } from './errors.ts';
import { createVelaClientFromEnvironment, createVelaEnvironmentDiagnosticsResponse, getVelaEnvironmentDiagnostics } from './environment.ts';
import type { PrepareRequest } from './protocol.ts';
import { createVelaClient } from './vela-client.ts';

const TOKEN = 'vat_unit_test_secret_token_0123456789';
const body: PrepareRequest = {
  executionScope: { customerTenantId: 't_1', delegationId: 'd_1' },
  modelSlot: { slotId: 'agent', label: 'Agent', selectionMode: 'locked', requiredModel: 'openai/gpt-fake' },
  api: 'chat_completions',
  estimatedCostUsd: 0.01,
};
const allow = { outcome: 'allow', executionId: 'ex_1', relay: { baseUrl: 'http://127.0.0.1:1/relay/v1', apiKey: 'vrk_x', model: 'gpt-fake', expiresAt: '2026-11-22T00:00:00Z' } };

/** A scripted Vela stand-in: each request gets the next handler; records what it received. */
async function scriptedVela(handlers: Array<(req: IncomingMessage, res: ServerResponse) => void>) {
  const received: Array<{ url: string | undefined; headers: IncomingMessage['headers'] }> = [];
  const server: Server = createServer((req, res) => {
    received.push({ url: req.url, headers: req.headers });
    req.resume();
    const handler = handlers.shift() ?? ((_q, r) => r.writeHead(500).end());
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received };
}
const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});
const json = (status: number, value: unknown) => (_req: IncomingMessage, res: ServerResponse) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));

describe('createVelaClient', () => {
  it('sends the app credentials and Idempotency-Key, and parses an allow', async () => {
    const vela = await scriptedVela([json(200, allow)]);
    const client = createVelaClient({ baseUrl: vela.url, appId: 'app_1', appToken: TOKEN });
    const answer = await client.prepare(body, 'call-123');
    expect(answer).toEqual(allow);
    expect(vela.received[0]).toMatchObject({ url: '/v1/executions/prepare', headers: { authorization: `Bearer ${TOKEN}`, 'vela-app-id': 'app_1', 'idempotency-key': 'call-123' } });
    expect(JSON.stringify(client)).not.toContain(TOKEN);
  });

  it('retries 5xx with the same Idempotency-Key, then succeeds', async () => {
    const vela = await scriptedVela([json(503, { error: { code: 'unavailable', message: 'x' } }), json(500, {}), json(200, allow)]);
    const client = createVelaClient({ baseUrl: vela.url, appId: 'app_1', appToken: TOKEN, retries: 2, backoffMs: 1 });
    await expect(client.prepare(body, 'call-7')).resolves.toMatchObject({ outcome: 'allow' });
    expect(vela.received.map((r) => r.headers['idempotency-key'])).toEqual(['call-7', 'call-7', 'call-7']);
  });

  it('never retries a 4xx: one request, a VelaRequestError with the code and field', async () => {
    const vela = await scriptedVela([json(400, { error: { code: 'invalid_request', message: 'estimatedCostUsd must be ≥ 0', field: 'estimatedCostUsd' } })]);
    const client = createVelaClient({ baseUrl: vela.url, appId: 'app_1', appToken: TOKEN, backoffMs: 1 });
    const error = await client.prepare(body, 'k').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(VelaRequestError);
    expect(error).toMatchObject({ statusCode: 400, velaCode: 'invalid_request', field: 'estimatedCostUsd' });
    expect(vela.received).toHaveLength(1);
  });

  it('garbage JSON is a VelaProtocolError; a wrong shape too', async () => {
    const vela = await scriptedVela([(_q, r) => r.writeHead(200).end('<html>oops'), json(200, { outcome: 'maybe', executionId: 'ex' })]);
    const client = createVelaClient({ baseUrl: vela.url, appId: 'app_1', appToken: TOKEN });
    await expect(client.prepare(body, 'a')).rejects.toBeInstanceOf(VelaProtocolError);
    await expect(client.prepare(body, 'b')).rejects.toThrow(/outcome must be allow, deny or blocked/);
  });

  it('connection refused: VelaUnavailableError naming Vela and its URL, no token in the message', async () => {
    const vela = await scriptedVela([]);
    const url = vela.url;
    await new Promise((resolve) => servers.pop()!.close(resolve));
    const client = createVelaClient({ baseUrl: url, appId: 'app_1', appToken: TOKEN, retries: 1, backoffMs: 1 });
    const error = await client.prepare(body, 'x').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(VelaUnavailableError);
    expect(error).toMatchObject({ reason: 'network', attempts: 2, baseUrl: url });
    expect((error as Error).message).toContain(`Vela at ${url}`);
    expect((error as Error).message).not.toContain(TOKEN);
  });

  it('a hanging Vela times out per attempt', async () => {
    const vela = await scriptedVela([() => undefined, () => undefined]);
    const client = createVelaClient({ baseUrl: vela.url, appId: 'app_1', appToken: TOKEN, timeoutMs: 50, retries: 1, backoffMs: 1 });
    await expect(client.prepare(body, 'x')).rejects.toMatchObject({ code: 'VELA_UNAVAILABLE', reason: 'timeout', attempts: 2 });
  });

  it('rejects bad options with typed errors', () => {
    expect(() => createVelaClient({ baseUrl: 'localhost:4000', appId: 'a', appToken: TOKEN })).toThrow(/Invalid baseUrl/);
    expect(() => createVelaClient({ baseUrl: 'http://user:pw@localhost', appId: 'a', appToken: TOKEN })).toThrow(/must not contain credentials/);
    expect(() => createVelaClient({ appId: '', appToken: TOKEN })).toThrow(/Invalid appId/);
  });
});

describe('environment', () => {
  it('names missing and malformed variables without echoing values', () => {
    const diagnostics = getVelaEnvironmentDiagnostics({ env: { VELA_APP_TOKEN: ' vat_secret_with_space_123456 ', VELA_BASE_URL: 'ftp://vela' } });
    expect(diagnostics.ok).toBe(false);
    expect(diagnostics.problems.map((p) => p.variable)).toEqual(['VELA_APP_ID', 'VELA_APP_TOKEN', 'VELA_BASE_URL']);
    expect(JSON.stringify(diagnostics)).not.toContain('vat_secret_with_space');
    expect(getVelaEnvironmentDiagnostics({ env: { VELA_APP_ID: 'app', VELA_APP_TOKEN: TOKEN } })).toEqual({ ok: true, problems: [] });
  });

  it('createVelaClientFromEnvironment throws naming the problems; the diagnostics response is a 500 JSON', async () => {
    expect(() => createVelaClientFromEnvironment({ VELA_APP_ID: 'app' })).toThrow('VELA_APP_TOKEN is missing');
    const client = createVelaClientFromEnvironment({ VELA_APP_ID: 'app', VELA_APP_TOKEN: TOKEN });
    expect(client.baseUrl).toBe('http://localhost:4000');
    const response = createVelaEnvironmentDiagnosticsResponse(getVelaEnvironmentDiagnostics({ env: {} }));
    expect(response.status).toBe(500);
    expect(await response.json()).toMatchObject({ error: { code: 'vela_misconfigured', problems: [{ variable: 'VELA_APP_ID' }, { variable: 'VELA_APP_TOKEN' }] } });
  });
});
