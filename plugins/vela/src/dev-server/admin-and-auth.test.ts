// The admin API, authentication and the audit's visibility rules, plus the properties that span
// everything: data survives a restart on the same file, and no secret ever reaches a log line, an
// audit row, the database or an error answer.

import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import type { AuditResponse } from '../protocol.ts';
import { DEMO_IDS, seedVelaDemo } from './demo-seed.ts';
import { VelaDevServerError, VelaDevServerOptionsError } from './errors.ts';
import { startVelaDevServer } from './server.ts';
import { ADMIN_TOKEN, asAllow, asError, asRefusal, useHarnesses, UPSTREAM_KEY } from './test-harness.ts';
import type { Answer, Harness } from './test-harness.ts';

const { fake, harness } = useHarnesses();

const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };

function auditOf(answer: Answer): AuditResponse['rows'] {
  expect(answer.status).toBe(200);
  return (answer.body as AuditResponse).rows;
}

describe('health and the admin HTTP API', () => {
  it('GET /health needs no credentials', async () => {
    const h = await harness();
    const answer = await h.request('GET', '/health');
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ ok: true });
  });

  it('creates apps, tenants and delegations, suspends, revokes — and prepare obeys', async () => {
    const h = await harness();
    const app = await h.request('POST', '/v1/admin/apps', { headers: admin, body: { appId: 'http-app', name: 'HTTP app' } });
    expect(app.status).toBe(201);
    const credentials = app.body as { appId: string; appToken: string };
    expect(credentials.appId).toBe('http-app');
    expect(credentials.appToken).toMatch(/^vat_[A-Za-z0-9_-]{40,}$/);
    const generated = await h.request('POST', '/v1/admin/apps', { headers: admin });
    expect((generated.body as { appId: string }).appId).toMatch(/^app_/);

    const tenant = await h.request('POST', '/v1/admin/tenants', { headers: admin, body: { appId: 'http-app', tenantId: 'acme' } });
    expect(tenant).toMatchObject({ status: 201, body: { tenantId: 'acme' } });
    const delegation = await h.request('POST', '/v1/admin/delegations', {
      headers: admin,
      body: { tenantId: 'acme', delegationId: 'acme-d', budgetUsd: 1, allowedModels: ['openai/gpt-fake'], defaultModel: 'gpt-fake' },
    });
    expect(delegation).toMatchObject({ status: 201, body: { delegationId: 'acme-d' } });

    const body = h.prepareBody({ executionScope: { customerTenantId: 'acme', delegationId: 'acme-d' } });
    expect(asAllow(await h.prepare(body, { app: credentials })).budget?.remainingUsd).toBe(0.99);

    const suspend = await h.request('POST', '/v1/admin/tenants/acme/suspend', { headers: admin, body: { suspended: true } });
    expect(suspend).toMatchObject({ status: 200, body: { tenantId: 'acme', suspended: true } });
    expect(asRefusal(await h.prepare(body, { app: credentials })).reason.code).toBe('tenant_suspended');
    await h.request('POST', '/v1/admin/tenants/acme/suspend', { headers: admin, body: { suspended: false } });

    const revoke = await h.request('POST', '/v1/admin/delegations/acme-d/revoke', { headers: admin });
    expect(revoke).toMatchObject({ status: 200, body: { delegationId: 'acme-d', revoked: true } });
    expect(asRefusal(await h.prepare(body, { app: credentials })).reason.code).toBe('delegation_revoked');

    const rows = auditOf(await h.request('GET', '/v1/audit?tenant=acme', { headers: admin }));
    expect(rows.map((row) => [row.outcome, row.reasonCode])).toEqual([
      ['allow', null],
      ['deny', 'tenant_suspended'],
      ['deny', 'delegation_revoked'],
    ]);
  });

  it('admin helpers refuse what the HTTP API refuses, with the same code and field', async () => {
    const h = await harness();
    const attempt = (fn: () => unknown): VelaDevServerError => {
      try {
        fn();
      } catch (error) {
        if (error instanceof VelaDevServerError) return error;
        throw error;
      }
      throw new Error('expected a VelaDevServerError');
    };
    expect(attempt(() => h.vela.admin.createTenant({ appId: 'nope' }))).toMatchObject({ code: 'unknown_app', status: 404, field: 'appId' });
    expect(attempt(() => h.vela.admin.createDelegation({ tenantId: h.tenantId, allowedModels: ['gpt-fake'] }))).toMatchObject({
      code: 'invalid_request',
      field: 'allowedModels.0',
    });
    expect(attempt(() => h.vela.admin.createApp({ appId: h.app.appId }))).toMatchObject({ code: 'already_exists', status: 409 });
    expect(attempt(() => h.vela.admin.suspendTenant('nope', true))).toMatchObject({ code: 'unknown_tenant' });
    expect(attempt(() => h.vela.admin.revokeDelegation('nope'))).toMatchObject({ code: 'unknown_delegation' });
  });

  it('refuses options it cannot start with', async () => {
    const base = { upstream: { baseURL: fake().baseURL, apiKey: 'k' }, adminToken: 'a' };
    await expect(startVelaDevServer({ ...base, adminToken: '' })).rejects.toBeInstanceOf(VelaDevServerOptionsError);
    await expect(startVelaDevServer({ ...base, upstream: { baseURL: 'ftp://x', apiKey: 'k' } })).rejects.toMatchObject({
      code: 'invalid_options',
      field: 'upstream.baseURL',
    });
    await expect(startVelaDevServer({ ...base, relayTtlMs: 0 })).rejects.toMatchObject({ field: 'relayTtlMs' });
    await expect(startVelaDevServer({ ...base, prices: { m: { inputPerMTokUsd: -1, outputPerMTokUsd: 1 } } })).rejects.toMatchObject({
      field: 'prices.m',
    });
  });
});

describe('authentication and audit visibility', () => {
  it('app tokens are stored only as SHA-256 hashes', async () => {
    const h = await harness();
    const dump = JSON.stringify(h.dump());
    expect(dump).not.toContain(h.app.appToken);
    expect(dump).toContain(createHash('sha256').update(h.app.appToken).digest('hex'));
  });

  it('a wrong token and an unknown app get the same 401', async () => {
    const h = await harness();
    const wrongToken = await h.prepare(h.prepareBody(), { app: { appId: h.app.appId, appToken: 'vat_wrong' } });
    const unknownApp = await h.prepare(h.prepareBody(), { app: { appId: 'no-such-app', appToken: h.app.appToken } });
    expect(wrongToken.status).toBe(401);
    expect(unknownApp.status).toBe(401);
    expect(asError(wrongToken)).toEqual(asError(unknownApp));
  });

  it("apps read only their own tenants' audit; the admin reads all", async () => {
    const h = await harness();
    asAllow(await h.prepare());
    const appB = h.vela.admin.createApp({ appId: 'app-b' });
    const { tenantId: tenantB } = h.vela.admin.createTenant({ appId: appB.appId });
    const { delegationId: delegationB } = h.vela.admin.createDelegation({ tenantId: tenantB });
    asAllow(await h.prepare(h.prepareBody({ executionScope: { customerTenantId: tenantB, delegationId: delegationB } }), { app: appB }));

    const asA = auditOf(await h.request('GET', `/v1/audit?tenant=${h.tenantId}`, { headers: h.appHeaders() }));
    expect(asA.map((row) => row.appId)).toEqual([h.app.appId]);
    expect(auditOf(await h.request('GET', '/v1/audit', { headers: h.appHeaders() })).map((row) => row.customerTenantId)).toEqual([h.tenantId]);

    const foreign = await h.request('GET', `/v1/audit?tenant=${h.tenantId}`, { headers: h.appHeaders(appB) });
    expect(foreign.status).toBe(404);
    expect(asError(foreign).code).toBe('unknown_tenant');
    expect(foreign.text).not.toContain(h.app.appId);
    expect(auditOf(await h.request('GET', '/v1/audit', { headers: h.appHeaders(appB) })).map((row) => row.customerTenantId)).toEqual([tenantB]);

    expect(auditOf(await h.request('GET', '/v1/audit', { headers: admin }))).toHaveLength(2);
    expect(auditOf(await h.request('GET', `/v1/audit?tenant=${tenantB}`, { headers: admin })).map((row) => row.appId)).toEqual(['app-b']);
    expect(h.vela.admin.audit({ tenant: h.tenantId })).toEqual(asA);
  });
});

describe('persistence', () => {
  it('a restart on the same database keeps apps, executions, spend and unused relay keys', async () => {
    const h = await harness({ delegation: { budgetUsd: 0.03 } });
    const settled = asAllow(await h.prepare(h.prepareBody({ estimatedCostUsd: 0.01 })));
    await h.report(settled.executionId, { status: 'completed', costUsd: 0.01 });
    const pending = asAllow(await h.prepare(h.prepareBody({ estimatedCostUsd: 0.01 })));
    const audit = h.vela.admin.audit();

    await h.restart();
    expect(h.vela.admin.audit()).toEqual(audit);
    // spent 0.01 + held 0.01: exactly 0.01 left, for the same app token.
    expect(asAllow(await h.prepare(h.prepareBody({ estimatedCostUsd: 0.01 }))).budget?.remainingUsd).toBe(0);
    expect(asRefusal(await h.prepare(h.prepareBody({ estimatedCostUsd: 0.01 }))).reason.code).toBe('budget_exceeded');
    // The relay key issued before the restart still works (it is in the database, hashed).
    const relay = await h.request('POST', '/relay/v1/chat/completions', {
      headers: { authorization: `Bearer ${pending.relay.apiKey}` },
      body: { model: 'gpt-fake', messages: [{ role: 'user', content: 'hi' }] },
    });
    expect(relay.status).toBe(200);
    expect((await h.report(settled.executionId, { status: 'completed' })).body).toMatchObject({ alreadyReported: true });
  });
});

describe('secrets', () => {
  it('no token, relay key, admin token or upstream key in log lines, audit rows, the database or error answers', async () => {
    const h = await harness();
    const answers: Answer[] = [];
    const allow = asAllow(await h.prepare());
    const stream = await new OpenAI({ baseURL: allow.relay.baseUrl, apiKey: allow.relay.apiKey, maxRetries: 0 }).chat.completions.create({
      model: allow.relay.model,
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
    });
    for await (const _chunk of stream) {
      // drain
    }
    answers.push(await h.request('POST', '/relay/v1/chat/completions', { headers: { authorization: `Bearer ${allow.relay.apiKey}` }, body: { model: 'gpt-fake' } }));
    answers.push(
      await h.report(allow.executionId, {
        status: 'failed',
        error: { message: `boom ${allow.relay.apiKey} ${h.app.appToken} ${ADMIN_TOKEN} ${UPSTREAM_KEY}`, type: `T ${UPSTREAM_KEY}` },
      }),
    );
    const second = asAllow(await h.prepare());
    answers.push(await h.request('POST', '/relay/v1/chat/completions', { headers: { authorization: `Bearer ${second.relay.apiKey}` }, body: { model: 'gpt-4o' } }));
    answers.push(await h.request('POST', `/v1/executions/${second.relay.apiKey}/report?token=${h.app.appToken}`, { headers: h.appHeaders(), body: { status: 'aborted' } }));
    answers.push(await h.request('GET', `/v1/audit?tenant=${ADMIN_TOKEN}`, { headers: admin }));
    answers.push(await h.request('POST', '/v1/admin/apps', { headers: { authorization: `Bearer ${h.app.appToken}` }, body: {} }));
    answers.push(await h.prepare(h.prepareBody(), { app: { appId: h.app.appId, appToken: `${h.app.appToken}x` } }));
    answers.push(await h.request('GET', '/v1/audit', { headers: admin }));
    await h.vela.settled();

    const secrets = [h.app.appToken, allow.relay.apiKey, second.relay.apiKey, ADMIN_TOKEN, UPSTREAM_KEY];
    const logs = h.logs.join('\n');
    const audit = JSON.stringify(h.vela.admin.audit());
    const database = JSON.stringify(h.dump());
    const answerText = answers.map((answer) => answer.text).join('\n');
    expect(h.logs.length).toBeGreaterThanOrEqual(10);
    for (const line of h.logs) expect(line).toMatch(/^(GET|POST) \/\S* \d{3} \d+ms( \(connection closed early\))?$/);
    expect(logs).toContain('POST /relay/v1/chat/completions 200');
    expect(audit).toContain('boom');
    for (const secret of secrets) {
      expect(logs).not.toContain(secret);
      expect(audit).not.toContain(secret);
      expect(database).not.toContain(secret);
      expect(answerText).not.toContain(secret);
    }
  });
});

describe('demo seed and CLI', () => {
  it('seedVelaDemo creates the demo ids once and the given token works', async () => {
    const h = await harness();
    const token = 'vat_demo-token-for-tests-0123456789';
    expect(seedVelaDemo(h.vela, { appToken: token })).toEqual({ ...DEMO_IDS, created: true });
    expect(seedVelaDemo(h.vela, { appToken: token })).toEqual({ ...DEMO_IDS, created: false });
    const body = h.prepareBody({ executionScope: { customerTenantId: DEMO_IDS.tenantId, delegationId: DEMO_IDS.delegationId } });
    expect(asAllow(await h.prepare(body, { app: { appId: DEMO_IDS.appId, appToken: token } })).budget?.remainingUsd).toBe(4.99);
  });

  it('the CLI prints its URL and ids, serves, and never prints a secret', async () => {
    const cli = fileURLToPath(new URL('./cli.ts', import.meta.url));
    const env = {
      ...process.env,
      SLUICE_TEST_UPSTREAM_KEY: UPSTREAM_KEY,
      SLUICE_TEST_ADMIN_TOKEN: ADMIN_TOKEN,
      VELA_APP_TOKEN: 'vat_cli-demo-token-0123456789',
    };
    const child = spawn(
      process.execPath,
      [
        '--conditions=sluice:source',
        cli,
        '--port',
        '0',
        '--upstream-url',
        fake().baseURL,
        '--upstream-key-env',
        'SLUICE_TEST_UPSTREAM_KEY',
        '--admin-token-env',
        'SLUICE_TEST_ADMIN_TOKEN',
        '--seed-demo',
      ],
      { env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        child.stdout.on('data', (chunk: Buffer) => {
          output += chunk.toString();
          const match = /listening on (http:\/\/\S+)/.exec(output);
          if (match?.[1] && output.includes('demo:')) resolve(match[1]);
        });
        child.once('exit', () => reject(new Error(`CLI exited early:\n${output}`)));
      });
      expect((await fetch(`${url}/health`)).status).toBe(200);
      const audit = await fetch(`${url}/v1/audit`, { headers: admin });
      expect(audit.status).toBe(200);
      expect(output).toContain(`VELA_APP_ID=${DEMO_IDS.appId}`);
    } finally {
      child.kill('SIGTERM');
    }
    await exited;
    for (const secret of [UPSTREAM_KEY, ADMIN_TOKEN, 'vat_cli-demo-token-0123456789']) expect(output).not.toContain(secret);
  });

  it('the CLI refuses to start without the upstream key, naming the variable only', async () => {
    const cli = fileURLToPath(new URL('./cli.ts', import.meta.url));
    const env: Record<string, string | undefined> = { ...process.env };
    delete env.OPENAI_API_KEY;
    const child = spawn(process.execPath, ['--conditions=sluice:source', cli, '--port', '0'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', (exitCode) => resolve(exitCode)));
    expect(code).toBe(2);
    expect(output).toContain('OPENAI_API_KEY');
  });
});
