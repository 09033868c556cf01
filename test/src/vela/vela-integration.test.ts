import { createOpenAiCompatibleUsageReportInput, createVelaClient, createVelaIntegration, getErrorMessage, type VelaAllowedExecution } from '@sluice/plugin-vela';
import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { SLOT } from '../support/scenario.ts';
import { startVelaWorld, type VelaWorld } from './vela-harness.ts';

let world: VelaWorld | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

function integrationFor(w: VelaWorld) {
  return createVelaIntegration({ client: createVelaClient({ baseUrl: w.velaServer.url, appId: w.appId, appToken: w.appToken, retries: 0 }), executionScope: w.scope, modelSlot: SLOT });
}

describe('createVelaIntegration (route handlers without the pipeline)', () => {
  it('allow: raw fetch to the relay with the given URL, headers and model; the reporter settles once with the estimate as cost', async () => {
    world = await startVelaWorld({ budgetUsd: 1 });
    const execution = (await integrationFor(world).prepareExecutionWithResponse({ estimatedCostUsd: 0.02 })) as VelaAllowedExecution;
    expect(execution.outcome).toBe('allow');
    expect(execution.openAiCompatibleChatCompletionsUrl).toBe(`${world.velaServer.url}/relay/v1/chat/completions`);
    expect(execution.openAiCompatibleResponsesUrl).toBe(`${world.velaServer.url}/relay/v1/responses`);
    expect(execution.openAiCompatibleModel).toBe('gpt-fake');
    const response = await fetch(execution.openAiCompatibleChatCompletionsUrl, {
      method: 'POST',
      headers: execution.openAiCompatibleRequestHeaders,
      body: JSON.stringify({ model: execution.openAiCompatibleModel, messages: [{ role: 'user', content: 'hi' }] }),
    });
    const completion = (await response.json()) as { usage: unknown; choices: Array<{ message: { content: string } }> };
    expect(completion.choices[0]!.message.content).toBe('Hello from the fake model.');

    const errors: unknown[] = [];
    const reporter = execution.createResultReporter({ onReportError: (e) => void errors.push(e) });
    expect(await reporter.reportCompletedWithUsage({ usage: completion.usage as Record<string, unknown> })).toEqual({ sent: true, alreadyReported: false });
    expect(reporter.settled).toBe(true);
    expect(await reporter.reportFailedWithError(new Error('late'))).toEqual({ sent: false, alreadyReported: true });
    const [row] = world.velaServer.admin.audit({ tenant: world.tenantId });
    expect(row).toMatchObject({ status: 'completed', costUsd: 0.02, costSource: 'reported' });
    expect(row!.inputTokens).toBeGreaterThan(0);
    expect(errors).toEqual([]);
  });

  it('the OpenAI client works with openAiCompatibleClientOptions; the key is single-use', async () => {
    world = await startVelaWorld();
    const execution = (await integrationFor(world).prepareExecutionWithResponse({ estimatedCostUsd: 0.01 })) as VelaAllowedExecution;
    const client = new OpenAI({ ...execution.openAiCompatibleClientOptions, maxRetries: 0 });
    const first = await client.chat.completions.create({ model: execution.openAiCompatibleModel, messages: [{ role: 'user', content: 'hi' }] });
    expect(first.choices[0]!.message.content).toBe('Hello from the fake model.');
    const second = await client.chat.completions.create({ model: execution.openAiCompatibleModel, messages: [{ role: 'user', content: 'again' }] }).catch((e: unknown) => e);
    expect(second).toBeInstanceOf(OpenAI.AuthenticationError);
    expect(world.upstream.requests).toHaveLength(1);
  });

  it('deny and blocked come with a ready Response: 403 / 429 with Retry-After and a JSON reason', async () => {
    world = await startVelaWorld({ budgetUsd: 0.01 });
    const integration = integrationFor(world);
    const blocked = await integration.prepareExecutionWithResponse({ estimatedCostUsd: 0.5 });
    expect(blocked.outcome).toBe('blocked');
    if (blocked.outcome === 'allow') throw new Error('unreachable');
    expect(blocked.response.status).toBe(429);
    expect(await blocked.response.json()).toMatchObject({ error: { code: 'budget_exceeded', outcome: 'blocked', executionId: blocked.executionId } });
    world.velaServer.admin.revokeDelegation(world.delegationId);
    const denied = await integration.prepareExecutionWithResponse({ estimatedCostUsd: 0 });
    if (denied.outcome === 'allow') throw new Error('expected a denial');
    expect([denied.outcome, denied.reason.code, denied.response.status]).toEqual(['deny', 'delegation_revoked', 403]);
  });

  it('tryReport… never throws: a report Vela cannot take goes to onReportError', async () => {
    world = await startVelaWorld();
    const execution = (await integrationFor(world).prepareExecutionWithResponse({ estimatedCostUsd: 0.01 })) as VelaAllowedExecution;
    await world.velaServer.close();
    const errors: unknown[] = [];
    const reporter = execution.createResultReporter({ onReportError: (e) => void errors.push(e) });
    expect(await reporter.tryReportAborted('user left')).toBeUndefined();
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: 'VELA_UNAVAILABLE' });
  });

  it('rejects bad input with typed errors before anything is sent', async () => {
    world = await startVelaWorld();
    const integration = integrationFor(world);
    await expect(integration.prepareExecutionWithResponse({ estimatedCostUsd: -1 })).rejects.toThrow('Invalid estimatedCostUsd');
    await expect(integration.prepareExecutionWithResponse({ estimatedCostUsd: Number.NaN })).rejects.toThrow('Invalid estimatedCostUsd');
    expect(() => createVelaIntegration({ client: createVelaClient({ appId: 'a', appToken: 'b' }), executionScope: {} as never })).toThrow('Invalid executionScope');
    expect(world.velaServer.admin.audit()).toHaveLength(0);
  });
});

describe('helpers', () => {
  it('createOpenAiCompatibleUsageReportInput reads both OpenAI usage shapes', () => {
    expect(createOpenAiCompatibleUsageReportInput({ prompt_tokens: 10, completion_tokens: 4, total_tokens: 14, prompt_tokens_details: { cached_tokens: 3 } })).toEqual({ inputTokens: 10, outputTokens: 4, totalTokens: 14, cachedInputTokens: 3 });
    expect(createOpenAiCompatibleUsageReportInput({ input_tokens: 7, output_tokens: 2, total_tokens: 9, output_tokens_details: { reasoning_tokens: 1 } })).toEqual({ inputTokens: 7, outputTokens: 2, totalTokens: 9, reasoningTokens: 1 });
    expect(createOpenAiCompatibleUsageReportInput(undefined)).toBeUndefined();
  });

  it('getErrorMessage is predictable for strings, empty errors and unknown values, and redacts keys', () => {
    expect(getErrorMessage('plain')).toBe('plain');
    expect(getErrorMessage(new Error(''))).toBe('Error');
    expect(getErrorMessage(null)).toBe('no error value (null)');
    expect(getErrorMessage(42)).toBe('42');
    expect(getErrorMessage(new Error('bad key vrk_abcdefghijklmnop'))).toBe('bad key vrk_[redacted]');
  });
});
