// Report settles an execution exactly once; these tests check each way a cost is decided
// (reported, priced from usage, priced from what the relay saw, the estimate), that settling
// releases the hold, and that every later report changes nothing at all.

import { describe, expect, it } from 'vitest';
import type { ReportResponse } from '../protocol.ts';
import { asAllow, asError, asRefusal, useHarnesses, UPSTREAM_KEY } from './test-harness.ts';
import type { Harness } from './test-harness.ts';

const { fake, harness } = useHarnesses();

/** Runs one non-streamed chat call through the relay, so the relay observes usage. */
async function relayOnce(h: Harness, apiKey: string, model = 'gpt-fake'): Promise<void> {
  const answer = await h.request('POST', '/relay/v1/chat/completions', {
    headers: { authorization: `Bearer ${apiKey}` },
    body: { model, messages: [{ role: 'user', content: 'hello' }] },
  });
  expect(answer.status).toBe(200);
  await h.vela.settled();
}

describe('report: costs', () => {
  it('completed with costUsd → the reported cost, with usage, ids and timings recorded', async () => {
    const h = await harness();
    const allow = asAllow(await h.prepare());
    h.clock.now += 2500;
    const answer = await h.report(allow.executionId, {
      status: 'completed',
      usage: { inputTokens: 21, outputTokens: 9, totalTokens: 30, cachedInputTokens: 5, cacheWriteInputTokens: 2, reasoningTokens: 4 },
      costUsd: 0.0011,
      responseId: 'resp_123',
      finishReason: 'stop',
      durationMs: 812,
      timeToFirstTokenMs: 140,
    });
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ executionId: allow.executionId, alreadyReported: false, status: 'completed', costUsd: 0.0011 });
    expect(h.vela.admin.audit()[0]).toMatchObject({
      status: 'completed',
      inputTokens: 21,
      outputTokens: 9,
      totalTokens: 30,
      cachedInputTokens: 5,
      cacheWriteInputTokens: 2,
      reasoningTokens: 4,
      costUsd: 0.0011,
      costSource: 'reported',
      responseId: 'resp_123',
      finishReason: 'stop',
      durationMs: 812,
      timeToFirstTokenMs: 140,
      reportedAt: new Date(h.clock.now).toISOString(),
    });
  });

  it('completed with usage and no cost → priced from the table (cached input at the cached price)', async () => {
    const h = await harness();
    const allow = asAllow(await h.prepare());
    // gpt-fake: $1 input, $0.5 cached input, $2 output per million tokens.
    const answer = await h.report(allow.executionId, { status: 'completed', usage: { inputTokens: 1000, outputTokens: 500, cachedInputTokens: 200 } });
    expect((answer.body as ReportResponse).costUsd).toBe(0.0019);
    expect(h.vela.admin.audit()[0]).toMatchObject({ costUsd: 0.0019, costSource: 'priced', totalTokens: 1500 });
  });

  it('the prices option overrides the default table', async () => {
    const h = await harness({ prices: { 'gpt-fake': { inputPerMTokUsd: 10, outputPerMTokUsd: 20 } } });
    const allow = asAllow(await h.prepare());
    await h.report(allow.executionId, { status: 'completed', usage: { inputTokens: 1000, outputTokens: 500, cachedInputTokens: 200 } });
    expect(h.vela.admin.audit()[0]?.costUsd).toBe(0.02);
  });

  it('completed without usage → priced from the usage the relay observed', async () => {
    const h = await harness();
    fake().enqueue({ text: 'Hi.', usage: { inputTokens: 3000, outputTokens: 1000 } });
    const allow = asAllow(await h.prepare());
    await relayOnce(h, allow.relay.apiKey);
    await h.report(allow.executionId, { status: 'completed' });
    expect(h.vela.admin.audit()[0]).toMatchObject({ relayInputTokens: 3000, relayOutputTokens: 1000, costUsd: 0.005, costSource: 'priced' });
  });

  it('completed with nothing to price → the estimate', async () => {
    const h = await harness();
    const unpriced = h.prepareBody({ estimatedCostUsd: 0.07 });
    unpriced.modelSlot.requiredModel = 'openai/unpriced-model';
    const a = asAllow(await h.prepare(unpriced));
    await h.report(a.executionId, { status: 'completed', usage: { inputTokens: 10, outputTokens: 10 } });
    const b = asAllow(await h.prepare(h.prepareBody({ estimatedCostUsd: 0.03 })));
    await h.report(b.executionId, { status: 'completed' });
    expect(h.vela.admin.audit().map((row) => [row.costUsd, row.costSource])).toEqual([
      [0.07, 'estimate'],
      [0.03, 'estimate'],
    ]);
  });

  it('failed → cost 0 without relay usage, error recorded with secrets scrubbed', async () => {
    const h = await harness();
    const allow = asAllow(await h.prepare());
    const answer = await h.report(allow.executionId, {
      status: 'failed',
      error: { message: `upstream said no to Bearer abc.def with ${UPSTREAM_KEY} and ${allow.relay.apiKey}`, type: 'RateLimitError', statusCode: 429 },
      durationMs: 30,
    });
    expect(answer.body).toEqual({ executionId: allow.executionId, alreadyReported: false, status: 'failed', costUsd: 0 });
    const row = h.vela.admin.audit()[0];
    expect(row).toMatchObject({ status: 'failed', costUsd: 0, costSource: null, errorType: 'RateLimitError', statusCode: 429, durationMs: 30 });
    expect(row?.errorMessage).toContain('upstream said no');
    expect(row?.errorMessage).not.toContain(UPSTREAM_KEY);
    expect(row?.errorMessage).not.toContain(allow.relay.apiKey);
    expect(row?.errorMessage).not.toContain('abc.def');
  });

  it('a very long error message is accepted and stored truncated', async () => {
    const h = await harness();
    const allow = asAllow(await h.prepare());
    const answer = await h.report(allow.executionId, { status: 'failed', error: { message: 'x'.repeat(10_000), type: 'E'.repeat(300) } });
    expect(answer.status).toBe(200);
    const row = h.vela.admin.audit()[0];
    expect(row?.errorMessage).toBe('x'.repeat(4000));
    expect(row?.errorType).toBe('E'.repeat(200));
  });

  it('failed or aborted after the relay saw usage → that usage, priced', async () => {
    const h = await harness();
    fake().enqueue({ text: 'Hi.', usage: { inputTokens: 1000, outputTokens: 1000 } }, { text: 'Hi.', usage: { inputTokens: 2000, outputTokens: 0 } });
    const failed = asAllow(await h.prepare());
    await relayOnce(h, failed.relay.apiKey);
    await h.report(failed.executionId, { status: 'failed', error: { message: 'parse error' } });
    const aborted = asAllow(await h.prepare());
    await relayOnce(h, aborted.relay.apiKey);
    await h.report(aborted.executionId, { status: 'aborted', reason: 'client aborted' });
    expect(h.vela.admin.audit().map((row) => [row.status, row.costUsd, row.costSource, row.errorMessage])).toEqual([
      ['failed', 0.003, 'priced', 'parse error'],
      ['aborted', 0.002, 'priced', 'client aborted'],
    ]);
  });
});

describe('report: exactly once', () => {
  it('a second report answers alreadyReported and changes nothing, whatever it says', async () => {
    const h = await harness({ delegation: { budgetUsd: 1 } });
    const allow = asAllow(await h.prepare());
    await h.report(allow.executionId, { status: 'completed', costUsd: 0.25 });
    const before = h.dump();
    h.clock.now += 1000;
    for (const body of [
      { status: 'completed', costUsd: 0.5 },
      { status: 'failed', error: { message: 'late' } },
      { status: 'aborted' },
    ]) {
      const again = await h.report(allow.executionId, body);
      expect(again.status).toBe(200);
      expect(again.body).toEqual({ executionId: allow.executionId, alreadyReported: true, status: 'completed', costUsd: 0.25 });
    }
    expect(h.dump()).toEqual(before);
    // Spent stays 0.25: 0.75 is left.
    expect(asAllow(await h.prepare(h.prepareBody({ estimatedCostUsd: 0.75 }))).budget?.remainingUsd).toBe(0);
  });

  it("settling revokes the execution's unused relay key", async () => {
    const h = await harness();
    const allow = asAllow(await h.prepare());
    await h.report(allow.executionId, { status: 'aborted', reason: 'gave up before calling' });
    const relay = await h.request('POST', '/relay/v1/chat/completions', {
      headers: { authorization: `Bearer ${allow.relay.apiKey}` },
      body: { model: 'gpt-fake', messages: [] },
    });
    expect(relay.status).toBe(401);
    expect(asError(relay).code).toBe('relay_key_revoked');
    expect(fake().requests).toHaveLength(0);
  });

  it('a refused execution is not reportable → 409 not_reportable', async () => {
    const h = await harness();
    h.vela.admin.revokeDelegation(h.delegationId);
    const refusal = asRefusal(await h.prepare());
    const before = h.dump();
    const answer = await h.report(refusal.executionId, { status: 'completed' });
    expect(answer.status).toBe(409);
    expect(asError(answer).code).toBe('not_reportable');
    expect(h.dump()).toEqual(before);
  });

  it("unknown or another app's execution → 404 unknown_execution", async () => {
    const h = await harness();
    const allow = asAllow(await h.prepare());
    const appB = h.vela.admin.createApp();
    const before = h.dump();
    const foreign = await h.report(allow.executionId, { status: 'completed' }, appB);
    expect(foreign.status).toBe(404);
    expect(asError(foreign).code).toBe('unknown_execution');
    const unknown = await h.report('ex_nope', { status: 'completed' });
    expect(unknown.status).toBe(404);
    expect(asError(unknown).code).toBe('unknown_execution');
    expect(h.dump()).toEqual(before);
  });
});
