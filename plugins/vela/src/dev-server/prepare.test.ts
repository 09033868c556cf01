// Prepare is where every governance rule is decided; these tests drive it over real HTTP against a
// real SQLite file and check both the answer and what the audit recorded, rule by rule, plus the
// two properties that are easy to get wrong: idempotent retries and budgets under concurrency.

import { describe, expect, it } from 'vitest';
import type { PrepareResponse } from '../protocol.ts';
import { asAllow, asError, asRefusal, useHarnesses } from './test-harness.ts';
import type { Harness } from './test-harness.ts';

const { harness } = useHarnesses();

describe('prepare: allow', () => {
  it('answers allow with a relay key bound to the resolved model and records a pending execution', async () => {
    const h = await harness();
    const allow = asAllow(await h.prepare(h.prepareBody({ estimatedCostUsd: 0.02 })));
    expect(allow.executionId).toMatch(/^ex_[A-Za-z0-9_-]+$/);
    expect(allow.relay.baseUrl).toBe(`${h.vela.url}/relay/v1`);
    expect(allow.relay.apiKey).toMatch(/^vrk_[A-Za-z0-9_-]{40,}$/);
    expect(allow.relay.model).toBe('gpt-fake');
    expect(allow.relay.expiresAt).toBe(new Date(h.clock.now + 60_000).toISOString());
    expect(allow.budget).toBeUndefined(); // the seeded delegation has no budget

    const [row] = h.vela.admin.audit();
    expect(row).toMatchObject({
      executionId: allow.executionId,
      appId: h.app.appId,
      customerTenantId: h.tenantId,
      delegationId: h.delegationId,
      userId: null,
      slotId: 'agent',
      slotLabel: 'Agent response',
      requestedModel: 'openai/gpt-fake',
      model: 'gpt-fake',
      api: 'chat_completions',
      outcome: 'allow',
      reasonCode: null,
      status: 'pending',
      estimatedCostUsd: 0.02,
      costUsd: null,
      costSource: null,
      relayStatus: 'unused',
      createdAt: new Date(h.clock.now).toISOString(),
      reportedAt: null,
    });
  });

  it('uses relayTtlMs and publicUrl', async () => {
    const h = await harness({ relayTtlMs: 5000, publicUrl: 'https://vela.example.test/' });
    const allow = asAllow(await h.prepare());
    expect(allow.relay.baseUrl).toBe('https://vela.example.test/relay/v1');
    expect(allow.relay.expiresAt).toBe(new Date(h.clock.now + 5000).toISOString());
  });

  it('records the user id and the api', async () => {
    const h = await harness();
    const body = h.prepareBody({ api: 'responses' });
    body.executionScope.userId = 'user-7';
    asAllow(await h.prepare(body));
    expect(h.vela.admin.audit()[0]).toMatchObject({ userId: 'user-7', api: 'responses' });
  });
});

describe('prepare: model resolution', () => {
  it('locked slots run the required model without its provider prefix, even with a delegation default', async () => {
    const h = await harness({ delegation: { defaultModel: 'gpt-fake-mini' } });
    const allow = asAllow(await h.prepare());
    expect(allow.relay.model).toBe('gpt-fake');
  });

  it('tenant slots run the delegation default model when set', async () => {
    const h = await harness({ delegation: { defaultModel: 'gpt-fake-mini' } });
    const body = h.prepareBody();
    body.modelSlot.selectionMode = 'tenant';
    const allow = asAllow(await h.prepare(body));
    expect(allow.relay.model).toBe('gpt-fake-mini');
    expect(h.vela.admin.audit()[0]).toMatchObject({ requestedModel: 'openai/gpt-fake', model: 'gpt-fake-mini' });
  });

  it('tenant slots fall back to the required model without a default', async () => {
    const h = await harness();
    const body = h.prepareBody();
    body.modelSlot.selectionMode = 'tenant';
    expect(asAllow(await h.prepare(body)).relay.model).toBe('gpt-fake');
  });
});

describe('prepare: deny and blocked, rule by rule', () => {
  it('unknown tenant → deny unknown_tenant, recorded as denied', async () => {
    const h = await harness();
    const body = h.prepareBody();
    body.executionScope.customerTenantId = 'no-such-tenant';
    const refusal = asRefusal(await h.prepare(body));
    expect(refusal).toMatchObject({ outcome: 'deny', reason: { code: 'unknown_tenant' } });
    expect(refusal.executionId).toMatch(/^ex_/);
    expect(refusal.reason.message).toContain('no-such-tenant');
    expect(h.vela.admin.audit()).toEqual([
      expect.objectContaining({
        executionId: refusal.executionId,
        outcome: 'deny',
        reasonCode: 'unknown_tenant',
        status: 'denied',
        customerTenantId: 'no-such-tenant',
        relayStatus: 'unused',
      }),
    ]);
  });

  it("another app's tenant → deny unknown_tenant", async () => {
    const h = await harness();
    const appB = h.vela.admin.createApp({ appId: 'app-b' });
    const { tenantId } = h.vela.admin.createTenant({ appId: appB.appId });
    const { delegationId } = h.vela.admin.createDelegation({ tenantId });
    const body = h.prepareBody({ executionScope: { customerTenantId: tenantId, delegationId } });
    expect(asRefusal(await h.prepare(body))).toMatchObject({ outcome: 'deny', reason: { code: 'unknown_tenant' } });
    // …while app B itself is allowed.
    asAllow(await h.prepare(body, { app: appB }));
  });

  it("unknown delegation, or another tenant's → deny unknown_delegation", async () => {
    const h = await harness();
    const body = h.prepareBody();
    body.executionScope.delegationId = 'no-such-delegation';
    expect(asRefusal(await h.prepare(body))).toMatchObject({ outcome: 'deny', reason: { code: 'unknown_delegation' } });

    const { tenantId: otherTenant } = h.vela.admin.createTenant({ appId: h.app.appId });
    const { delegationId: otherDelegation } = h.vela.admin.createDelegation({ tenantId: otherTenant });
    body.executionScope.delegationId = otherDelegation;
    expect(asRefusal(await h.prepare(body))).toMatchObject({ outcome: 'deny', reason: { code: 'unknown_delegation' } });
  });

  it('revoked delegation → deny delegation_revoked', async () => {
    const h = await harness();
    asAllow(await h.prepare());
    h.vela.admin.revokeDelegation(h.delegationId);
    expect(asRefusal(await h.prepare())).toMatchObject({ outcome: 'deny', reason: { code: 'delegation_revoked' } });
  });

  it('suspended tenant → deny tenant_suspended, and allowed again once resumed', async () => {
    const h = await harness();
    h.vela.admin.suspendTenant(h.tenantId, true);
    expect(asRefusal(await h.prepare())).toMatchObject({ outcome: 'deny', reason: { code: 'tenant_suspended' } });
    h.vela.admin.suspendTenant(h.tenantId, false);
    asAllow(await h.prepare());
  });

  it('model outside allowedModels → deny model_not_allowed; an allowed one is allowed', async () => {
    const h = await harness({ delegation: { allowedModels: ['openai/gpt-fake-mini'], defaultModel: 'gpt-fake-mini' } });
    expect(asRefusal(await h.prepare())).toMatchObject({ outcome: 'deny', reason: { code: 'model_not_allowed' } });
    const mini = h.prepareBody();
    mini.modelSlot.requiredModel = 'openai/gpt-fake-mini';
    expect(asAllow(await h.prepare(mini)).relay.model).toBe('gpt-fake-mini');
    // A tenant slot resolves to the default model, which is allowed, whatever the slot asked for.
    const tenantSlot = h.prepareBody();
    tenantSlot.modelSlot.selectionMode = 'tenant';
    expect(asAllow(await h.prepare(tenantSlot)).relay.model).toBe('gpt-fake-mini');
  });

  it('rules apply in order: revoked before suspended before model', async () => {
    const h = await harness({ delegation: { allowedModels: ['openai/gpt-fake-mini'] } });
    h.vela.admin.suspendTenant(h.tenantId, true);
    expect(asRefusal(await h.prepare()).reason.code).toBe('tenant_suspended');
    h.vela.admin.revokeDelegation(h.delegationId);
    expect(asRefusal(await h.prepare()).reason.code).toBe('delegation_revoked');
  });

  it('rate limit → blocked rate_limited with retryAfterMs, lifted when the window passes', async () => {
    const h = await harness({ tenant: { rateLimitPerMinute: 2 } });
    asAllow(await h.prepare());
    h.clock.now += 10_000;
    asAllow(await h.prepare());
    const blocked = asRefusal(await h.prepare());
    expect(blocked).toMatchObject({ outcome: 'blocked', reason: { code: 'rate_limited' }, retryAfterMs: 50_000 });
    h.clock.now += 49_999;
    expect(asRefusal(await h.prepare()).retryAfterMs).toBe(1);
    h.clock.now += 1; // the first prepare leaves the window; refused prepares never counted
    asAllow(await h.prepare());
    expect(asRefusal(await h.prepare()).reason.code).toBe('rate_limited');
    expect(h.vela.admin.audit().map((row) => row.outcome)).toEqual(['allow', 'allow', 'blocked', 'blocked', 'allow', 'blocked']);
  });

  it("another app probing a tenant id does not use up that tenant's rate limit", async () => {
    const h = await harness({ tenant: { rateLimitPerMinute: 1 } });
    const appB = h.vela.admin.createApp();
    for (let i = 0; i < 3; i += 1) {
      expect(asRefusal(await h.prepare(h.prepareBody(), { app: appB })).reason.code).toBe('unknown_tenant');
    }
    asAllow(await h.prepare());
  });

  it('budget → blocked budget_exceeded after exactly N calls, with remainingUsd counting down', async () => {
    const h = await harness({ delegation: { budgetUsd: 1 } });
    const remaining: number[] = [];
    for (let i = 0; i < 10; i += 1) {
      remaining.push(asAllow(await h.prepare(h.prepareBody({ estimatedCostUsd: 0.1 }))).budget?.remainingUsd ?? NaN);
    }
    expect(remaining).toEqual([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0]);
    const blocked = asRefusal(await h.prepare(h.prepareBody({ estimatedCostUsd: 0.1 })));
    expect(blocked).toMatchObject({ outcome: 'blocked', reason: { code: 'budget_exceeded' } });
    expect(blocked.retryAfterMs).toBeUndefined();
    // A call estimated at 0 still fits; the budget is not more than exhausted.
    asAllow(await h.prepare(h.prepareBody({ estimatedCostUsd: 0 })));
  });

  it('settling releases the hold and counts the cost', async () => {
    const h = await harness({ delegation: { budgetUsd: 0.2 } });
    const first = asAllow(await h.prepare(h.prepareBody({ estimatedCostUsd: 0.1 })));
    asAllow(await h.prepare(h.prepareBody({ estimatedCostUsd: 0.1 })));
    expect(asRefusal(await h.prepare(h.prepareBody({ estimatedCostUsd: 0.05 }))).reason.code).toBe('budget_exceeded');
    expect((await h.report(first.executionId, { status: 'completed', costUsd: 0.04 })).status).toBe(200);
    // spent 0.04 + held 0.1: 0.06 left.
    expect(asAllow(await h.prepare(h.prepareBody({ estimatedCostUsd: 0.06 }))).budget?.remainingUsd).toBe(0);
    expect(asRefusal(await h.prepare(h.prepareBody({ estimatedCostUsd: 0.000001 }))).reason.code).toBe('budget_exceeded');
  });

  it('an estimate of 0 holds defaultEstimateUsd', async () => {
    const h = await harness({ delegation: { budgetUsd: 0.1 }, defaultEstimateUsd: 0.05 });
    asAllow(await h.prepare(h.prepareBody({ estimatedCostUsd: 0 })));
    asAllow(await h.prepare(h.prepareBody({ estimatedCostUsd: 0 })));
    expect(asRefusal(await h.prepare(h.prepareBody({ estimatedCostUsd: 0 }))).reason.code).toBe('budget_exceeded');
    expect(h.vela.admin.audit()[0]?.estimatedCostUsd).toBe(0.05);
  });

  it('50 concurrent prepares against a budget for 10 allow exactly 10', async () => {
    const h = await harness({ delegation: { budgetUsd: 0.1 } });
    const answers = await Promise.all(Array.from({ length: 50 }, () => h.prepare(h.prepareBody({ estimatedCostUsd: 0.01 }))));
    const outcomes = answers.map((answer) => (answer.body as PrepareResponse).outcome);
    expect(outcomes.filter((outcome) => outcome === 'allow')).toHaveLength(10);
    expect(outcomes.filter((outcome) => outcome === 'blocked')).toHaveLength(40);
    const rows = h.vela.admin.audit();
    expect(rows).toHaveLength(50);
    expect(rows.filter((row) => row.status === 'pending').reduce((sum, row) => sum + (row.estimatedCostUsd ?? 0), 0)).toBeCloseTo(0.1, 12);
  });
});

describe('prepare: idempotency', () => {
  it('a retried allow returns the same execution with a fresh key, holds once, and revokes the old key', async () => {
    const h = await harness({ delegation: { budgetUsd: 0.05 } });
    const first = asAllow(await h.prepare(h.prepareBody({ estimatedCostUsd: 0.03 }), { idempotencyKey: 'call-a' }));
    h.clock.now += 1000;
    const again = asAllow(await h.prepare(h.prepareBody({ estimatedCostUsd: 0.03 }), { idempotencyKey: 'call-a' }));
    expect(again.executionId).toBe(first.executionId);
    expect(again.relay.expiresAt).toBe(first.relay.expiresAt);
    expect(again.relay.model).toBe(first.relay.model);
    expect(again.budget).toEqual(first.budget);
    expect(again.relay.apiKey).not.toBe(first.relay.apiKey);
    expect(h.vela.admin.audit()).toHaveLength(1);
    // One hold of 0.03: a second 0.02 still fits, a 0.03 would not have after two holds.
    asAllow(await h.prepare(h.prepareBody({ estimatedCostUsd: 0.02 })));

    const old = await h.request('POST', '/relay/v1/chat/completions', {
      headers: { authorization: `Bearer ${first.relay.apiKey}` },
      body: { model: 'gpt-fake', messages: [{ role: 'user', content: 'hi' }] },
    });
    expect(old.status).toBe(401);
    expect(asError(old).code).toBe('relay_key_revoked');
  });

  it('a retried refusal returns the same refusal without recording another execution', async () => {
    const h = await harness();
    h.vela.admin.suspendTenant(h.tenantId, true);
    const first = asRefusal(await h.prepare(h.prepareBody(), { idempotencyKey: 'call-b' }));
    h.vela.admin.suspendTenant(h.tenantId, false);
    const again = asRefusal(await h.prepare(h.prepareBody(), { idempotencyKey: 'call-b' }));
    expect(again).toEqual(first);
    expect(h.vela.admin.audit()).toHaveLength(1);
  });

  it('idempotency keys are per app', async () => {
    const h = await harness();
    const appB = h.vela.admin.createApp();
    const a = asAllow(await h.prepare(h.prepareBody(), { idempotencyKey: 'shared' }));
    const b = asRefusal(await h.prepare(h.prepareBody(), { idempotencyKey: 'shared', app: appB }));
    expect(b.executionId).not.toBe(a.executionId);
    expect(b.reason.code).toBe('unknown_tenant');
  });

  it('the same key with a different request → 409 idempotency_key_conflict, nothing recorded', async () => {
    const h = await harness();
    asAllow(await h.prepare(h.prepareBody(), { idempotencyKey: 'call-c' }));
    const before = h.dump();
    const conflict = await h.prepare(h.prepareBody({ estimatedCostUsd: 0.5 }), { idempotencyKey: 'call-c' });
    expect(conflict.status).toBe(409);
    expect(asError(conflict)).toMatchObject({ code: 'idempotency_key_conflict', field: 'Idempotency-Key' });
    expect(h.dump()).toEqual(before);
  });

  it('an allow whose key was used, expired or settled cannot be replayed → 409 idempotent_replay_unavailable', async () => {
    const h = await harness();
    const used = asAllow(await h.prepare(h.prepareBody(), { idempotencyKey: 'used' }));
    const relay = await h.request('POST', '/relay/v1/chat/completions', {
      headers: { authorization: `Bearer ${used.relay.apiKey}` },
      body: { model: 'gpt-fake', messages: [{ role: 'user', content: 'hi' }] },
    });
    expect(relay.status).toBe(200);
    asAllow(await h.prepare(h.prepareBody(), { idempotencyKey: 'expired' }));
    const settled = asAllow(await h.prepare(h.prepareBody(), { idempotencyKey: 'settled' }));
    expect((await h.report(settled.executionId, { status: 'aborted' })).status).toBe(200);
    h.clock.now += 60_000;

    for (const key of ['used', 'expired', 'settled']) {
      const replay = await h.prepare(h.prepareBody(), { idempotencyKey: key });
      expect(replay.status, key).toBe(409);
      expect(asError(replay), key).toMatchObject({ code: 'idempotent_replay_unavailable', field: 'Idempotency-Key' });
    }
  });
});
