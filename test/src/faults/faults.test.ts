// Faults, each with its expected outcome: Vela down, hanging, failing or talking garbage; the relay
// or the upstream failing in every way a stream can fail. Every call fails closed or reports
// failed exactly once, the model is not asked when authorization failed, and nothing is unhandled.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createPipeline, SluicePluginError, type Outcome, type SluicePlugin } from '@sluice/core';
import { wrapOpenAI } from '@sluice/core/openai';
import { createVelaClient, vela } from '@sluice/plugin-vela';
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startFakeModelServer, type FakeModelServer } from '../fake-model-server.ts';
import { startVelaWorld, type VelaWorld } from '../vela/vela-harness.ts';

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => void unhandled.push(reason);
beforeAll(() => void process.on('unhandledRejection', onUnhandled));
afterAll(() => {
  process.off('unhandledRejection', onUnhandled);
  expect(unhandled).toEqual([]);
});

function reports() {
  const outcomes: Outcome[] = [];
  const plugin: SluicePlugin = { name: 'reports', apply: (h) => h.onReport.tap('reports', (_c, o) => void outcomes.push(o)) };
  return { plugin, outcomes };
}

describe('Vela misbehaving at prepare: the call fails closed, the model is not asked', () => {
  let upstream: FakeModelServer;
  const servers: Server[] = [];
  beforeAll(async () => {
    upstream = await startFakeModelServer();
  });
  afterAll(async () => {
    for (const s of servers) {
      s.closeAllConnections();
      await new Promise((r) => s.close(r));
    }
    await upstream.close();
  });

  async function fakeVela(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
    const server = createServer((req, res) => {
      req.resume();
      handler(req, res);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    servers.push(server);
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  async function closedPort(): Promise<string> {
    const url = await fakeVela(() => undefined);
    const server = servers.pop()!;
    await new Promise((r) => server.close(r));
    return url;
  }

  it.each([
    ['refusing connections', () => closedPort(), { code: 'VELA_UNAVAILABLE', reason: 'network' }],
    ['hanging (timeout)', () => fakeVela(() => undefined), { code: 'VELA_UNAVAILABLE', reason: 'timeout' }],
    ['answering 500', () => fakeVela((_q, r) => r.writeHead(500).end('{"error":{"code":"boom","message":"x"}}')), { code: 'VELA_UNAVAILABLE', reason: 'server_error', statusCode: 500 }],
    ['answering garbage JSON', () => fakeVela((_q, r) => r.writeHead(200, { 'content-type': 'application/json' }).end('{"outcome": "allow", "relay": ')), { code: 'VELA_PROTOCOL_ERROR' }],
    ['answering a wrong shape', () => fakeVela((_q, r) => r.writeHead(200).end('{"outcome":"allow","executionId":"ex_1"}')), { code: 'VELA_PROTOCOL_ERROR' }],
  ] as const)('Vela %s', async (_name, start, cause) => {
    const baseUrl = await start();
    const { plugin, outcomes } = reports();
    const sluice = createPipeline({ plugins: [vela({ client: createVelaClient({ baseUrl, appId: 'app', appToken: 'vat_faults_token_0123456789', timeoutMs: 150, retries: 1, backoffMs: 1 }) }), plugin] });
    const before = upstream.requests.length;
    const openai = wrapOpenAI(new OpenAI({ apiKey: 'sk-default', baseURL: upstream.baseURL, maxRetries: 0 }), sluice, { scope: { customerTenantId: 't', delegationId: 'd' } });
    const error = await openai.chat.completions.create({ model: 'gpt-fake', messages: [{ role: 'user', content: 'hi' }], stream: true }).catch((e: unknown) => e);
    await sluice.idle();
    expect(error).toBeInstanceOf(SluicePluginError);
    expect((error as SluicePluginError).cause).toMatchObject(cause);
    expect((error as Error).message).toContain(`Vela at ${baseUrl}`);
    expect(upstream.requests.length).toBe(before);
    expect(outcomes.map((o) => o.status)).toEqual(['failed']);
    await sluice.close();
  });
});

describe('the relay and the upstream failing', () => {
  let world: VelaWorld;
  beforeAll(async () => {
    world = await startVelaWorld({ budgetUsd: 100 });
  });
  afterAll(() => world.close());
  afterEach(() => world.upstream.reset());

  const openai = () => wrapOpenAI(new OpenAI({ apiKey: 'unused', maxRetries: 0 }), world.sluice, { scope: world.scope });
  async function drain(stream: AsyncIterable<unknown>): Promise<number> {
    let n = 0;
    for await (const _c of stream) n++;
    return n;
  }
  async function lastAuditRow() {
    await world.sluice.idle();
    await world.plugin.flushReports();
    await world.velaServer.settled();
    const rows = world.velaServer.admin.audit({ tenant: world.tenantId });
    return rows[rows.length - 1]!;
  }

  it('the connection dropped mid-stream: the consumer gets an error, the call is reported failed once', async () => {
    world.upstream.setScript([{ text: 'one two three four five', fault: { kind: 'drop', afterChunks: 2 } }]);
    const reportsBefore = world.recorder.reports().length;
    const error = await drain(await openai().chat.completions.create({ model: 'gpt-fake', messages: [{ role: 'user', content: 'x' }], stream: true })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    const row = await lastAuditRow();
    expect(row.status).toBe('failed');
    expect(world.recorder.reports().slice(reportsBefore).map((r) => r.outcome.status)).toEqual(['failed']);
  });

  it('the upstream answers 429 with Retry-After: RateLimitError with the header reaches the caller; failed with status 429', async () => {
    world.upstream.setScript([{ text: 'x', fault: { kind: 'status', status: 429, retryAfter: '7', message: 'slow down' } }]);
    const error = await openai().chat.completions.create({ model: 'gpt-fake', messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    expect((error as InstanceType<typeof OpenAI.RateLimitError>).headers?.get('retry-after')).toBe('7');
    const row = await lastAuditRow();
    expect(row).toMatchObject({ status: 'failed', statusCode: 429 });
  });

  it('the upstream answers 500: InternalServerError, reported failed', async () => {
    world.upstream.setScript([{ text: 'x', fault: { kind: 'status', status: 500 } }]);
    const error = await openai().responses.create({ model: 'gpt-fake', input: 'x', stream: true }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.InternalServerError);
    expect(await lastAuditRow()).toMatchObject({ status: 'failed', statusCode: 500 });
  });

  it('a malformed SSE line: the stream fails loudly, reported failed', async () => {
    world.upstream.setScript([{ text: 'one two three four', fault: { kind: 'malformed', afterChunks: 1 } }]);
    const error = await drain(await openai().chat.completions.create({ model: 'gpt-fake', messages: [{ role: 'user', content: 'x' }], stream: true })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect((await lastAuditRow()).status).toBe('failed');
  });

  it('a stream that ends without its final event: reported failed (truncated), never completed', async () => {
    world.upstream.setScript([{ text: 'one two three four', fault: { kind: 'truncate', afterChunks: 2 } }]);
    await drain(await openai().responses.create({ model: 'gpt-fake', input: 'x', stream: true })).catch(() => undefined);
    const row = await lastAuditRow();
    expect(row.status).toBe('failed');
    expect(row.errorType).toBe('StreamTruncatedError');
  });

  it('an error event mid-stream: the stream throws, reported failed', async () => {
    world.upstream.setScript([{ text: 'one two three four', fault: { kind: 'mid-stream-error', afterChunks: 2, message: 'overloaded' } }]);
    const error = await drain(await openai().responses.create({ model: 'gpt-fake', input: 'x', stream: true })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect(await lastAuditRow()).toMatchObject({ status: 'failed' });
  });
});
