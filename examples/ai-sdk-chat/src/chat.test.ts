// Why this file exists: the chat app as a user meets it — a real browser (Chromium via
// playwright-core) on the real server with the embedded fake model and local Vela: a streamed answer
// with a tool call, usage and Vela's cost per reply, a denial shown and recovered from — while every
// byte the page sends or receives is recorded and searched for the server's secrets.
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SluicePlugin, VelEvent } from '@sluice/core';
import { validateVelStream } from '@sluice/plugin-vel';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedBackend, type EmbeddedBackend } from './embedded-backend.ts';
import { startRecordingProxy, type RecordingProxy } from './recording-proxy.ts';
import { startChatServer, type ChatServer } from './server.ts';
import { formatUsd, type ChatMessageMetadata } from './shared/chat-message.ts';

const CHROMIUM = '/usr/bin/chromium';
const HAVE_CHROMIUM = existsSync(CHROMIUM);
const IN_CI = process.env.CI === 'true';
const SCREENSHOT = join(dirname(fileURLToPath(import.meta.url)), '../../../test-artifacts/ai-sdk-chat.png');

if (!HAVE_CHROMIUM && !IN_CI) {
  console.warn(`\n!!! examples/ai-sdk-chat: ${CHROMIUM} is missing — the browser test is SKIPPED. Install it: apt-get install chromium\n`);
}
if (!HAVE_CHROMIUM && IN_CI) {
  it('finds Chromium to drive the page (CI=true: a missing browser fails instead of skipping)', () => {
    expect.fail(`${CHROMIUM} is missing: apt-get install chromium`);
  });
}

/**
 * Records what the browser reports of every request and response: URL, headers, bodies (a body the
 * page stopped reading is not kept by the browser — the proxy record has it).
 */
function recordPageTraffic(page: Page) {
  const pending: Promise<string>[] = [];
  const urls: string[] = [];
  page.on('request', (request) => {
    urls.push(request.url());
    pending.push((async () => `${request.method()} ${request.url()}\n${JSON.stringify(await request.allHeaders())}\n${request.postData() ?? ''}`)());
  });
  page.on('response', (response) => {
    pending.push(
      (async () => {
        const body = await response.body().catch(() => Buffer.alloc(0));
        return `${response.status()} ${response.url()}\n${JSON.stringify(await response.allHeaders())}\n${body.toString('utf8')}`;
      })(),
    );
  });
  return { urls, all: () => Promise.all(pending) };
}

/** Parses `data: <json>\n\n` frames; the stream must end with `data: [DONE]`. */
function parseSse(body: string): VelEvent[] {
  const frames = body.split('\n\n').filter((frame) => frame !== '');
  expect(frames.at(-1)).toBe('data: [DONE]');
  return frames.slice(0, -1).map((frame) => {
    expect(frame.startsWith('data: ')).toBe(true);
    return JSON.parse(frame.slice('data: '.length)) as VelEvent;
  });
}

describe.skipIf(!HAVE_CHROMIUM)('examples/ai-sdk-chat in Chromium', () => {
  let backend: EmbeddedBackend;
  let server: ChatServer;
  let browser: Browser;
  let proxy: RecordingProxy;
  const relayKeys: string[] = [];

  beforeAll(async () => {
    backend = await startEmbeddedBackend();
    const keyCatcher: SluicePlugin = {
      name: 'relay-key-catcher',
      apply: (hooks) => hooks.onAllow.tap('relay-key-catcher', (_call, allow) => void (allow.relay && relayKeys.push(allow.relay.apiKey))),
    };
    server = await startChatServer({ vela: backend.vela, scopes: backend.scopes, executionCostUsd: backend.executionCostUsd, plugins: [keyCatcher] });
    proxy = await startRecordingProxy();
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  });

  afterAll(async () => {
    await browser?.close();
    await proxy?.close();
    await server?.close();
    await backend?.close();
  });

  it('streams an answer with a tool call, usage and cost; shows a Vela denial and recovers; no secret reaches the page', async () => {
    // Every request of the page goes through the recording proxy (loopback too: Playwright adds <-loopback>).
    const context = await browser.newContext({ proxy: { server: proxy.url }, viewport: { width: 900, height: 1000 } });
    const page = await context.newPage();
    const pageTraffic = recordPageTraffic(page);
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => void pageErrors.push(error.message));
    page.on('console', (message) => void (message.type() === 'error' && pageErrors.push(message.text())));

    await page.goto(server.url);
    await page.getByRole('heading', { name: 'Sluice · AI SDK chat' }).waitFor();
    const input = page.getByRole('textbox', { name: 'Message' });

    // 1. A weather question: get_weather is called, its output feeds the streamed answer.
    await input.fill('What is the weather in Lisbon?');
    await input.press('Enter');
    const firstUsage = page.getByTestId('usage').first();
    await firstUsage.waitFor();
    const weather = page.getByTestId('tool-get_weather');
    expect(JSON.parse((await weather.getByTestId('tool-input').textContent()) ?? '')).toEqual({ city: 'Lisbon' });
    const output = JSON.parse((await weather.getByTestId('tool-output').textContent()) ?? '') as { city: string; condition: string; temperatureC: number; windKmh: number };
    expect(output).toMatchObject({ city: 'Lisbon', condition: expect.any(String), temperatureC: expect.any(Number) });
    const firstReply = page.getByTestId('message-assistant').first();
    expect(await firstReply.locator('p').textContent()).toBe(
      `In Lisbon it is ${output.condition.toLowerCase()} and ${output.temperatureC}°C, with wind at ${output.windKmh} km/h. Anything else?`,
    );
    const afterFirstReply = backend.fakeModel.requests.length;
    expect(afterFirstReply).toBe(2); // the tool call, then the answer

    // 2. The revoked delegation: Vela denies before the model is asked; the page says so.
    await page.getByLabel('Use revoked delegation').check();
    await page.getByTestId('delegation').filter({ hasText: backend.scopes.revoked.delegationId }).waitFor();
    await input.fill('What time is it in Tokyo?');
    await input.press('Enter');
    const alert = page.getByRole('alert');
    await alert.waitFor();
    expect(await alert.textContent()).toBe(`Denied by Vela: delegation_revoked — delegation "${backend.scopes.revoked.delegationId}" was revoked`);
    expect(backend.fakeModel.requests.length).toBe(afterFirstReply);
    mkdirSync(dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });

    // 3. Back on the working delegation, the chat carries on.
    await page.getByLabel('Use revoked delegation').uncheck();
    await input.fill('What time is it in Tokyo?');
    await input.press('Enter');
    await page.getByTestId('usage').nth(1).waitFor();
    const time = page.getByTestId('tool-get_time');
    expect(JSON.parse((await time.getByTestId('tool-input').textContent()) ?? '')).toEqual({ city: 'Tokyo' });
    expect(JSON.parse((await time.getByTestId('tool-output').textContent()) ?? '')).toMatchObject({ city: 'Tokyo', timeZone: 'Asia/Tokyo', localTime: expect.stringMatching(/^\d\d:\d\d$/) });
    expect(await alert.count()).toBe(0);

    // The /api/chat responses: the UI message stream header, valid Vel streams, usage and Vela's cost.
    const html = await page.content();
    const storage = await page.evaluate(() => JSON.stringify({ cookie: document.cookie, local: { ...localStorage }, session: { ...sessionStorage } }));
    const usageLines = await page.getByTestId('usage').allTextContents();
    const pageRecord = await pageTraffic.all();
    await context.close();
    await proxy.settled();
    const exchanges = proxy.exchanges;
    expect(new Set(exchanges.map((exchange) => exchange.url))).toEqual(new Set(pageTraffic.urls)); // the proxy saw all of it
    const chats = exchanges.filter((exchange) => new URL(exchange.url).pathname === '/api/chat');
    expect(chats.map((chat) => (JSON.parse(chat.requestBody) as { scope: unknown }).scope)).toEqual([backend.scopes.active, backend.scopes.revoked, backend.scopes.active]);
    const streams = chats.map((chat) => {
      expect(chat.status).toBe(200);
      expect(chat.responseHeaders['x-vercel-ai-ui-message-stream']).toBe('v1');
      const events = parseSse(chat.responseBody);
      expect(validateVelStream(events)).toEqual({ valid: true });
      return events;
    });
    const [first, denied, third] = streams as [VelEvent[], VelEvent[], VelEvent[]];
    expect(first.filter((event) => event.type === 'text-delta').length).toBeGreaterThan(5); // streamed, not one block
    expect(denied).toEqual([
      { type: 'start' },
      { type: 'error', errorText: `Model call denied (delegation_revoked): delegation "${backend.scopes.revoked.delegationId}" was revoked` },
      { type: 'finish', finishReason: 'error' },
    ]);
    const audit = backend.velaServer.admin.audit({ tenant: backend.scopes.active.customerTenantId });
    expect(audit.map((row) => row.outcome)).toEqual(['allow', 'allow', 'deny', 'allow', 'allow']);
    for (const [index, events] of [first, third].entries()) {
      const [metadataChunk, finish] = events.slice(-2) as [Extract<VelEvent, { type: 'message-metadata' }>, Extract<VelEvent, { type: 'finish' }>];
      expect(metadataChunk.type).toBe('message-metadata');
      const { costUsd, modelCalls } = metadataChunk.messageMetadata as ChatMessageMetadata;
      const { usage } = finish.messageMetadata as ChatMessageMetadata;
      const rows = audit.filter((row) => row.outcome === 'allow').slice(index * 2, index * 2 + 2);
      expect(modelCalls).toBe(2);
      expect(costUsd).toBeCloseTo(rows.reduce((sum, row) => sum + (row.costUsd ?? 0), 0), 12);
      expect(usage?.inputTokens).toBe(rows.reduce((sum, row) => sum + (row.inputTokens ?? 0), 0));
      expect(usage?.outputTokens).toBe(rows.reduce((sum, row) => sum + (row.outputTokens ?? 0), 0));
      expect(usageLines[index]).toBe(
        `${usage?.inputTokens} input · ${usage?.outputTokens} output tokens · ${formatUsd(costUsd ?? Number.NaN)} · 2 model calls`,
      );
    }

    // Nothing secret in anything the page sent, received, rendered or stored.
    expect(relayKeys).toHaveLength(4);
    const secrets = [...Object.entries(backend.secrets), ...relayKeys.map((key, index) => [`relay key #${index + 1}`, key] as const)];
    const seen = [html, storage, ...pageRecord, ...exchanges.map((exchange) => JSON.stringify(exchange))].join('\n');
    expect(exchanges.some((exchange) => exchange.responseHeaders['content-type']?.startsWith('text/javascript') && exchange.responseBody.includes('sendMessage'))).toBe(true);
    expect(seen).toContain(backend.scopes.revoked.delegationId); // request bodies are in the record
    expect(seen).toContain('Anything else?'); // so are streamed response bodies
    for (const [name, secret] of secrets) expect(seen.includes(secret), `the ${name} reached the page`).toBe(false);
    expect(pageErrors).toEqual([]);
  });

  it('rejects a body whose scope is not exactly { customerTenantId, delegationId } with 400, before any model call', async () => {
    const before = backend.fakeModel.requests.length;
    const messages = [{ id: 'm1', role: 'user', parts: [{ type: 'text', text: 'What is the weather in Paris?' }] }];
    const post = async (body: unknown) => {
      const response = await fetch(new URL('/api/chat', server.url), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      return { status: response.status, body: (await response.json()) as { error: { code: string; field?: string } } };
    };
    expect(await post({ messages })).toEqual({ status: 400, body: { error: expect.objectContaining({ code: 'invalid_scope', field: 'scope' }) } });
    expect(await post({ messages, scope: { ...backend.scopes.active, appToken: 'x' } })).toEqual({
      status: 400,
      body: { error: expect.objectContaining({ code: 'invalid_scope', field: 'scope.appToken' }) },
    });
    expect(await post({ messages, scope: { customerTenantId: backend.scopes.active.customerTenantId, delegationId: 'd 1"' } })).toEqual({
      status: 400,
      body: { error: expect.objectContaining({ code: 'invalid_scope', field: 'scope.delegationId' }) },
    });
    expect(await post({ messages: [{ role: 'user' }], scope: backend.scopes.active })).toEqual({ status: 400, body: { error: expect.objectContaining({ code: 'invalid_messages' }) } });
    expect(backend.fakeModel.requests.length).toBe(before);
  });
});
