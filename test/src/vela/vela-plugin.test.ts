import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Runner } from '@openai/agents';
import { createPipeline, ExecutionDeniedError, SluicePluginError, type SluicePlugin } from '@sluice/core';
import { createModelProvider } from '@sluice/core/agents';
import { wrapOpenAI } from '@sluice/core/openai';
import { createVelaClient, createVelaIntegration, getVelaEnvironmentDiagnostics, vela } from '@sluice/plugin-vela';
import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { toolLoopScript } from '../fake-model-server.ts';
import { weatherAgent } from '../support/agents-weather.ts';
import { FAKE_USAGE, FINAL_TEXT, SLOT, TOOL_TURNS } from '../support/scenario.ts';
import { PRICES, secretsOf, startVelaWorld, type VelaWorld } from './vela-harness.ts';

const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));
let world: VelaWorld | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

/** The price of FAKE_USAGE at PRICES['gpt-fake'] (cached input at the cached rate). */
const FAKE_CALL_COST =
  ((FAKE_USAGE.inputTokens - FAKE_USAGE.cachedInputTokens!) * PRICES['gpt-fake'].inputPerMTokUsd +
    FAKE_USAGE.cachedInputTokens! * PRICES['gpt-fake'].cachedInputPerMTokUsd +
    FAKE_USAGE.outputTokens * PRICES['gpt-fake'].outputPerMTokUsd) /
  1e6;

async function runWeather(w: VelaWorld, api: 'responses' | 'chat_completions' = 'responses') {
  const runner = new Runner({ modelProvider: createModelProvider(w.sluice, { slots: [SLOT], api, scope: w.scope }), tracingDisabled: true });
  const result = await runner.run(weatherAgent(), 'Weather and time in Paris?', { stream: true });
  for await (const _event of result) {
    // drain
  }
  await result.completed;
  return result;
}

describe('vela() with the local Vela dev server', () => {
  it.each(['responses', 'chat_completions'] as const)('a two-tool-turn Agents run (%s): 3 prepares, 3 distinct relay keys, 3 completed audit rows with the upstream usage', async (api) => {
    world = await startVelaWorld({ budgetUsd: 10 });
    world.upstream.setScript(toolLoopScript({ toolCalls: TOOL_TURNS, finalText: FINAL_TEXT, usage: FAKE_USAGE }));
    const result = await runWeather(world, api);
    await world.sluice.idle();
    await world.plugin.flushReports();

    expect(result.finalOutput).toBe(FINAL_TEXT);
    expect(new Set(world.relayKeys).size).toBe(3);
    // The upstream saw the upstream key, never a relay key.
    expect(world.upstream.requests.map((r) => r.headers.authorization)).toEqual(Array(3).fill(`Bearer sk-upstream-secret-key-0123456789abcdef`));
    const rows = world.velaServer.admin.audit({ tenant: world.tenantId });
    expect(rows).toHaveLength(3);
    for (const row of rows) {
      expect(row).toMatchObject({
        outcome: 'allow',
        status: 'completed',
        slotId: 'agent',
        model: 'gpt-fake',
        api,
        inputTokens: 21,
        outputTokens: 9,
        cachedInputTokens: 5,
        reasoningTokens: 4,
        costSource: 'priced',
      });
      expect(row.costUsd).toBeCloseTo(FAKE_CALL_COST, 10);
    }
    // The budget was settled with the summed cost: the next prepare sees what is left.
    const next = await createVelaIntegration({ client: createVelaClient({ baseUrl: world.velaServer.url, appId: world.appId, appToken: world.appToken }), executionScope: world.scope, modelSlot: SLOT }).prepareExecutionWithResponse({ estimatedCostUsd: 0 });
    expect(next.outcome).toBe('allow');
    expect(next.outcome === 'allow' && next.budget?.remainingUsd).toBeCloseTo(10 - 3 * FAKE_CALL_COST, 9);
  });

  it('revoking the delegation between the first and second call denies the second before the upstream is asked', async () => {
    let revoked = false;
    const revoker: SluicePlugin = {
      name: 'revoker',
      apply: (hooks) =>
        hooks.onReport.tap('revoker', () => {
          if (!revoked) world!.velaServer.admin.revokeDelegation(world!.delegationId);
          revoked = true;
        }),
    };
    world = await startVelaWorld({ extraPlugins: [revoker] });
    world.upstream.setScript(toolLoopScript({ toolCalls: TOOL_TURNS, finalText: FINAL_TEXT, usage: FAKE_USAGE }));
    const error = await runWeather(world).catch((e: unknown) => e);
    await world.sluice.idle();
    await world.plugin.flushReports();
    expect(error).toBeInstanceOf(ExecutionDeniedError);
    expect(error).toMatchObject({ kind: 'deny', reasonCode: 'delegation_revoked', decidedBy: 'vela' });
    expect(world.upstream.requests).toHaveLength(1);
    const rows = world.velaServer.admin.audit({ tenant: world.tenantId });
    expect(rows.map((r) => [r.outcome, r.status, r.reasonCode])).toEqual([
      ['allow', 'completed', null],
      ['deny', 'denied', 'delegation_revoked'],
    ]);
  });

  it('with a budget for exactly 3 calls, call 4 is blocked (budget_exceeded) and never reaches the upstream', async () => {
    world = await startVelaWorld({ budgetUsd: 0.03, plugin: { defaultEstimateUsd: 0.01, priceUsd: () => 0.01 } });
    const openai = wrapOpenAI(new OpenAI({ apiKey: 'unused-default', baseURL: 'http://127.0.0.1:9/none' }), world.sluice, { scope: world.scope });
    for (let i = 0; i < 3; i++) await openai.chat.completions.create({ model: 'gpt-fake', messages: [{ role: 'user', content: `call ${i}` }] });
    await world.sluice.idle();
    await world.plugin.flushReports();
    const error = await openai.chat.completions.create({ model: 'gpt-fake', messages: [{ role: 'user', content: 'one more' }] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ExecutionDeniedError);
    expect(error).toMatchObject({ kind: 'blocked', reasonCode: 'budget_exceeded' });
    expect(world.upstream.requests).toHaveLength(3);
  });

  it('50 concurrent prepares against a budget for 10 allow exactly 10', async () => {
    world = await startVelaWorld({ budgetUsd: 0.1 });
    const integration = createVelaIntegration({ client: createVelaClient({ baseUrl: world.velaServer.url, appId: world.appId, appToken: world.appToken }), executionScope: world.scope, modelSlot: SLOT });
    const answers = await Promise.all(Array.from({ length: 50 }, () => integration.prepareExecutionWithResponse({ estimatedCostUsd: 0.01 })));
    expect(answers.filter((a) => a.outcome === 'allow')).toHaveLength(10);
    expect(answers.filter((a) => a.outcome === 'blocked' && a.reason.code === 'budget_exceeded')).toHaveLength(40);
    const refused = answers.find((a) => a.outcome === 'blocked');
    expect(refused?.outcome === 'blocked' && refused.response.status).toBe(429);
  });

  it('Vela down at prepare: the call fails closed naming Vela and its URL; the upstream gets nothing', async () => {
    world = await startVelaWorld();
    const url = world.velaServer.url;
    await world.velaServer.close();
    const openai = wrapOpenAI(new OpenAI({ apiKey: 'unused-default', baseURL: world.upstream.baseURL, maxRetries: 0 }), world.sluice, { scope: world.scope });
    const error = await openai.chat.completions.create({ model: 'gpt-fake', messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SluicePluginError);
    expect(error).toMatchObject({ plugin: 'vela', hook: 'prepare' });
    expect((error as Error).message).toContain(`Vela at ${url} is unavailable`);
    expect(world.upstream.requests).toHaveLength(0);
  });

  it('failMode open lets the call through on the default client when Vela is unreachable, and says so', async () => {
    const failedOpen: string[] = [];
    world = await startVelaWorld({ plugin: { failMode: 'open', onFailOpen: (error) => void failedOpen.push(error.code) } });
    await world.velaServer.close();
    const openai = wrapOpenAI(new OpenAI({ apiKey: 'sk-default-client', baseURL: world.upstream.baseURL, maxRetries: 0 }), world.sluice, { scope: world.scope });
    const completion = await openai.chat.completions.create({ model: 'gpt-fake', messages: [{ role: 'user', content: 'hi' }] });
    expect(completion.choices[0]!.message.content).toBe('Hello from the fake model.');
    expect(failedOpen).toEqual(['VELA_UNAVAILABLE']);
    expect(world.upstream.requests[0]!.headers.authorization).toBe('Bearer sk-default-client');
  });

  it('Vela down at report time: the report waits in the outbox and is delivered exactly once when Vela is back', async () => {
    world = await startVelaWorld({ budgetUsd: 1 });
    world.upstream.setScript([{ text: 'one two three four', usage: FAKE_USAGE }]);
    // Vela goes down after the model answered and before the plugin's report is sent.
    world.sluice.use({ name: 'vela-killer', apply: (h) => h.onReport.tapPromise({ name: 'vela-killer', stage: -10 }, () => world!.velaServer.close()) });
    const openai = wrapOpenAI(new OpenAI({ apiKey: 'unused', maxRetries: 0 }), world.sluice, { scope: world.scope });
    const stream = await openai.chat.completions.create({ model: 'gpt-fake', messages: [{ role: 'user', content: 'count' }], stream: true });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    await world.sluice.idle();
    expect(text).toBe('one two three four');
    expect(world.plugin.pendingReports()).toBe(1);
    await world.restartVela();
    expect(await world.plugin.flushReports(5_000)).toEqual({ pending: 0 });
    const rows = world.velaServer.admin.audit({ tenant: world.tenantId });
    expect(rows.map((r) => [r.status, r.inputTokens, r.outputTokens])).toEqual([['completed', 21, 9]]);
    expect(await world.plugin.flushReports(100)).toEqual({ pending: 0 });
  });

  it('a report pending at shutdown survives in the outbox file and a new process delivers it exactly once', async () => {
    const outbox = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '.outbox-test.sqlite');
    const { rmSync } = await import('node:fs');
    for (const suffix of ['', '-wal', '-shm']) rmSync(outbox + suffix, { force: true });
    world = await startVelaWorld({ plugin: { outbox, closeTimeoutMs: 200 } });
    const openai = wrapOpenAI(new OpenAI({ apiKey: 'unused', maxRetries: 0 }), world.sluice, { scope: world.scope });
    // Take Vela down right after the model answered, before the report can be sent.
    const downAfterAnswer: SluicePlugin = { name: 'vela-killer', apply: (h) => h.onReport.tapPromise({ name: 'vela-killer', stage: -10 }, () => world!.velaServer.close()) };
    world.sluice.use(downAfterAnswer);
    await openai.chat.completions.create({ model: 'gpt-fake', messages: [{ role: 'user', content: 'hi' }] });
    await world.sluice.close(); // flush fails within 200 ms: the report stays in the file
    await world.restartVela();
    expect(world.velaServer.admin.audit({ tenant: world.tenantId })[0]!.status).toBe('pending');
    const { stdout } = await run(process.execPath, ['--conditions=sluice:source', join(here, 'deliver-outbox.ts')], {
      env: { PATH: process.env.PATH, VELA_APP_ID: world.appId, VELA_APP_TOKEN: world.appToken, VELA_BASE_URL: world.velaServer.url, OUTBOX: outbox },
    });
    expect(JSON.parse(stdout)).toEqual({ before: 1, after: 0 });
    const rows = world.velaServer.admin.audit({ tenant: world.tenantId });
    expect(rows.map((r) => r.status)).toEqual(['completed']);
    // Delivering again (another process) changes nothing: the outbox is empty.
    const again = await run(process.execPath, ['--conditions=sluice:source', join(here, 'deliver-outbox.ts')], {
      env: { PATH: process.env.PATH, VELA_APP_ID: world.appId, VELA_APP_TOKEN: world.appToken, VELA_BASE_URL: world.velaServer.url, OUTBOX: outbox },
    });
    expect(JSON.parse(again.stdout)).toEqual({ before: 0, after: 0 });
    for (const suffix of ['', '-wal', '-shm']) rmSync(outbox + suffix, { force: true });
  });

  it('abort mid-stream through the relay: one aborted audit row and the budget hold released', async () => {
    world = await startVelaWorld({ budgetUsd: 1, plugin: { defaultEstimateUsd: 0.5 } });
    let release!: () => void;
    world.upstream.setScript([{ text: 'one two three four five six', pauseAfterChunks: 2, gate: new Promise<void>((r) => (release = r)) }]);
    const openai = wrapOpenAI(new OpenAI({ apiKey: 'unused', maxRetries: 0 }), world.sluice, { scope: world.scope });
    const controller = new AbortController();
    const stream = await openai.chat.completions.create({ model: 'gpt-fake', messages: [{ role: 'user', content: 'count' }], stream: true }, { signal: controller.signal });
    let chunks = 0;
    for await (const _chunk of stream) if (++chunks === 2) controller.abort();
    release();
    await world.sluice.idle();
    await world.plugin.flushReports();
    const rows = world.velaServer.admin.audit({ tenant: world.tenantId });
    expect(rows.map((r) => r.status)).toEqual(['aborted']);
    // The 0.5 hold is released; only what the relay saw the upstream produce (if anything) is charged.
    const integration = createVelaIntegration({ client: createVelaClient({ baseUrl: world.velaServer.url, appId: world.appId, appToken: world.appToken }), executionScope: world.scope, modelSlot: SLOT });
    const next = await integration.prepareExecutionWithResponse({ estimatedCostUsd: 0 });
    expect(next.outcome === 'allow' && next.budget?.remainingUsd).toBeCloseTo(1 - (rows[0]!.costUsd ?? 0), 9);
    expect(rows[0]!.costUsd ?? 0).toBeLessThan(0.5);
  });

  it('a call without an execution scope fails closed before Vela or the model is asked', async () => {
    world = await startVelaWorld();
    const openai = wrapOpenAI(new OpenAI({ apiKey: 'unused', maxRetries: 0 }), world.sluice);
    const error = await openai.chat.completions.create({ model: 'gpt-fake', messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SluicePluginError);
    expect((error as Error).message).toContain('execution scope');
    expect(world.velaServer.admin.audit()).toHaveLength(0);
    expect(world.upstream.requests).toHaveLength(0);
  });

  it('no secret appears in any log line, error, audit row or diagnostics output', async () => {
    world = await startVelaWorld({ budgetUsd: 0.02, plugin: { priceUsd: () => 0.01, defaultEstimateUsd: 0.01 } });
    world.upstream.setScript([{ text: 'ok' }, { text: 'x', fault: { kind: 'status', status: 500, message: 'upstream failed' } }]);
    const openai = wrapOpenAI(new OpenAI({ apiKey: 'unused', maxRetries: 0 }), world.sluice, { scope: world.scope });
    const texts: string[] = [];
    const capture = (e: unknown) => void texts.push(String(e), JSON.stringify(e, Object.getOwnPropertyNames(e ?? {})), (e as Error)?.stack ?? '');
    await openai.chat.completions.create({ model: 'gpt-fake', messages: [{ role: 'user', content: 'hi' }] });
    await openai.chat.completions.create({ model: 'gpt-fake', messages: [{ role: 'user', content: 'fail' }] }).catch(capture);
    await openai.chat.completions.create({ model: 'gpt-fake', messages: [{ role: 'user', content: 'over budget' }] }).catch(capture);
    const badClient = vela({ client: createVelaClient({ baseUrl: world.velaServer.url, appId: world.appId, appToken: 'vat_wrong_token_0123456789abcdef' }) });
    await wrapOpenAI(new OpenAI({ apiKey: 'unused' }), createPipeline({ plugins: [badClient] }), { scope: world.scope })
      .chat.completions.create({ model: 'gpt-fake', messages: [{ role: 'user', content: 'x' }] })
      .catch(capture);
    // A relay key used twice.
    const reuse = await fetch(`${world.velaServer.url}/relay/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${world.relayKeys[0]}`, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'gpt-fake', messages: [] }) });
    texts.push(await reuse.text());
    await world.sluice.idle();
    await world.plugin.flushReports();
    texts.push(...world.logs, ...world.pluginErrors.map((e) => `${e.message} ${String(e.cause)}`));
    texts.push(JSON.stringify(world.velaServer.admin.audit()));
    texts.push(JSON.stringify(getVelaEnvironmentDiagnostics({ env: { VELA_APP_ID: world.appId, VELA_APP_TOKEN: ` ${world.appToken}`, VELA_BASE_URL: 'nope' } })));
    const haystack = texts.join('\n');
    expect(world.relayKeys.length).toBeGreaterThan(1);
    expect(world.logs.length).toBeGreaterThan(3);
    for (const secret of secretsOf(world)) expect(haystack).not.toContain(secret);
  });
});
