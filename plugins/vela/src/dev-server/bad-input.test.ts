// Bad input must be refused with the right status, code and field — and must never change the
// database. Every case below runs against the same server and compares a dump of every table (and
// the audit) before and after.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeModelServer } from '../../../../test/src/fake-model-server.ts';
import type { FakeModelServer } from '../../../../test/src/fake-model-server.ts';
import type { PrepareAllow, PrepareRefusal } from '../protocol.ts';
import { ADMIN_TOKEN, asAllow, asError, asRefusal, startHarness } from './test-harness.ts';
import type { Harness } from './test-harness.ts';

let fake: FakeModelServer;
let h: Harness;
let allow: PrepareAllow;
let refusal: PrepareRefusal;

beforeAll(async () => {
  fake = await startFakeModelServer();
  h = await startHarness(fake.baseURL);
  allow = asAllow(await h.prepare());
  const denied = h.prepareBody();
  denied.executionScope.delegationId = 'nope';
  refusal = asRefusal(await h.prepare(denied));
  h.vela.admin.createApp({ appId: 'existing-app' });
});

afterAll(async () => {
  await h.close();
  await fake.close();
});

type Body = string | Uint8Array | object | undefined;

interface Case {
  name: string;
  method?: string;
  path: string | (() => string);
  auth?: 'app' | 'admin' | 'none' | 'relay' | Record<string, string>;
  headers?: Record<string, string>;
  body: Body | (() => Body);
  status: number;
  code: string;
  field?: string;
}

const TWO_MIB = 'x'.repeat(2 * 1024 * 1024);
const NINE_MIB = 'x'.repeat(9 * 1024 * 1024);
const INVALID_UTF8 = new Uint8Array([0x7b, 0x22, 0x61, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]); // {"a\xff\xfe":1}

/** A valid prepare body with the value at dotted `path` replaced by `value` (or deleted). */
function prepareWith(path: string, value: unknown, remove = false): () => object {
  return () => {
    const body: Record<string, unknown> = structuredClone({ ...h.prepareBody() });
    const keys = path.split('.');
    const last = keys.pop() ?? '';
    let target: Record<string, unknown> = body;
    for (const key of keys) target = target[key] as Record<string, unknown>;
    if (remove) delete target[last];
    else target[last] = value;
    return body;
  };
}

function prepareWithout(path: string): () => object {
  return prepareWith(path, undefined, true);
}

const validPrepare = (): object => h.prepareBody();

const PREPARE = '/v1/executions/prepare';
const report = (): string => `/v1/executions/${allow.executionId}/report`;

const cases: Case[] = [
  // prepare: headers and auth
  { name: 'prepare without credentials', path: PREPARE, auth: 'none', body: validPrepare, status: 401, code: 'unauthorized' },
  {
    name: 'prepare with a wrong app token',
    path: PREPARE,
    auth: { authorization: 'Bearer vat_wrong', 'vela-app-id': '' },
    body: validPrepare,
    status: 401,
    code: 'unauthorized',
  },
  {
    name: 'prepare for an unknown app',
    path: PREPARE,
    auth: { authorization: 'Bearer vat_wrong', 'vela-app-id': 'no-such-app' },
    body: validPrepare,
    status: 401,
    code: 'unauthorized',
  },
  { name: 'prepare without Idempotency-Key', path: PREPARE, headers: { 'idempotency-key': '' }, body: validPrepare, status: 400, code: 'invalid_request', field: 'Idempotency-Key' },
  { name: 'prepare with a 201-character Idempotency-Key', path: PREPARE, headers: { 'idempotency-key': 'k'.repeat(201) }, body: validPrepare, status: 400, code: 'invalid_request', field: 'Idempotency-Key' },
  // prepare: body encoding
  { name: 'prepare with invalid JSON', path: PREPARE, body: '{"executionScope":', status: 400, code: 'invalid_json' },
  { name: 'prepare with invalid UTF-8', path: PREPARE, body: INVALID_UTF8, status: 400, code: 'invalid_json' },
  { name: 'prepare with an empty body', path: PREPARE, body: '', status: 400, code: 'invalid_json' },
  { name: 'prepare with a JSON array', path: PREPARE, body: '[]', status: 400, code: 'invalid_request', field: 'body' },
  { name: 'prepare with JSON null', path: PREPARE, body: 'null', status: 400, code: 'invalid_request', field: 'body' },
  { name: 'prepare with a 2 MiB body', path: PREPARE, body: TWO_MIB, status: 413, code: 'payload_too_large' },
  {
    name: 'prepare with a top-level __proto__ key',
    path: PREPARE,
    body: () => `{"__proto__":{"polluted":true},${JSON.stringify(h.prepareBody()).slice(1)}`,
    status: 400,
    code: 'invalid_request',
    field: '__proto__',
  },
  {
    name: 'prepare with a nested constructor key',
    path: PREPARE,
    body: () => `${JSON.stringify(h.prepareBody()).slice(0, -1)},"metadata":{"constructor":"x"}}`,
    status: 400,
    code: 'invalid_request',
    field: 'constructor',
  },
  {
    name: 'prepare with a nested prototype key',
    path: PREPARE,
    body: () => JSON.stringify(h.prepareBody()).replace('"executionScope":{', '"executionScope":{"prototype":{},'),
    status: 400,
    code: 'invalid_request',
    field: 'prototype',
  },
  // prepare: fields
  { name: 'prepare without executionScope', path: PREPARE, body: prepareWithout('executionScope'), status: 400, code: 'invalid_request', field: 'executionScope' },
  { name: 'prepare with executionScope a string', path: PREPARE, body: prepareWith('executionScope', 't'), status: 400, code: 'invalid_request', field: 'executionScope' },
  { name: 'prepare without customerTenantId', path: PREPARE, body: prepareWithout('executionScope.customerTenantId'), status: 400, code: 'invalid_request', field: 'executionScope.customerTenantId' },
  { name: 'prepare with a numeric customerTenantId', path: PREPARE, body: prepareWith('executionScope.customerTenantId', 7), status: 400, code: 'invalid_request', field: 'executionScope.customerTenantId' },
  { name: 'prepare with an empty delegationId', path: PREPARE, body: prepareWith('executionScope.delegationId', ''), status: 400, code: 'invalid_request', field: 'executionScope.delegationId' },
  { name: 'prepare with userId null', path: PREPARE, body: prepareWith('executionScope.userId', null), status: 400, code: 'invalid_request', field: 'executionScope.userId' },
  { name: 'prepare with an unknown scope field', path: PREPARE, body: prepareWith('executionScope.tenant', 'x'), status: 400, code: 'invalid_request', field: 'executionScope.tenant' },
  { name: 'prepare without modelSlot', path: PREPARE, body: prepareWithout('modelSlot'), status: 400, code: 'invalid_request', field: 'modelSlot' },
  { name: 'prepare without slotId', path: PREPARE, body: prepareWithout('modelSlot.slotId'), status: 400, code: 'invalid_request', field: 'modelSlot.slotId' },
  { name: 'prepare with a numeric label', path: PREPARE, body: prepareWith('modelSlot.label', 1), status: 400, code: 'invalid_request', field: 'modelSlot.label' },
  { name: 'prepare with selectionMode "auto"', path: PREPARE, body: prepareWith('modelSlot.selectionMode', 'auto'), status: 400, code: 'invalid_request', field: 'modelSlot.selectionMode' },
  { name: 'prepare with an unqualified requiredModel', path: PREPARE, body: prepareWith('modelSlot.requiredModel', 'gpt-fake'), status: 400, code: 'invalid_request', field: 'modelSlot.requiredModel' },
  { name: 'prepare with api "completions"', path: PREPARE, body: prepareWith('api', 'completions'), status: 400, code: 'invalid_request', field: 'api' },
  { name: 'prepare without estimatedCostUsd', path: PREPARE, body: prepareWithout('estimatedCostUsd'), status: 400, code: 'invalid_request', field: 'estimatedCostUsd' },
  { name: 'prepare with a negative estimate', path: PREPARE, body: prepareWith('estimatedCostUsd', -0.01), status: 400, code: 'invalid_request', field: 'estimatedCostUsd' },
  { name: 'prepare with a string estimate', path: PREPARE, body: prepareWith('estimatedCostUsd', '0.01'), status: 400, code: 'invalid_request', field: 'estimatedCostUsd' },
  { name: 'prepare with a huge estimate', path: PREPARE, body: prepareWith('estimatedCostUsd', 1e308), status: 400, code: 'invalid_request', field: 'estimatedCostUsd' },
  { name: 'prepare with metadata an array', path: PREPARE, body: prepareWith('metadata', []), status: 400, code: 'invalid_request', field: 'metadata' },
  { name: 'prepare with a nested metadata value', path: PREPARE, body: prepareWith('metadata', { runId: { a: 1 } }), status: 400, code: 'invalid_request', field: 'metadata.runId' },
  { name: 'prepare with an unknown top-level field', path: PREPARE, body: prepareWith('extra', true), status: 400, code: 'invalid_request', field: 'extra' },
  // report
  { name: 'report without credentials', path: report, auth: 'none', body: { status: 'completed' }, status: 401, code: 'unauthorized' },
  { name: 'report of an unknown execution', path: '/v1/executions/ex_unknown/report', body: { status: 'completed' }, status: 404, code: 'unknown_execution' },
  { name: 'report of a refused execution', path: () => `/v1/executions/${refusal.executionId}/report`, body: { status: 'completed' }, status: 409, code: 'not_reportable' },
  { name: 'report with invalid JSON', path: report, body: '{"status":', status: 400, code: 'invalid_json' },
  { name: 'report with invalid UTF-8', path: report, body: INVALID_UTF8, status: 400, code: 'invalid_json' },
  { name: 'report with a __proto__ key', path: report, body: '{"status":"completed","usage":{"__proto__":{"inputTokens":1}}}', status: 400, code: 'invalid_request', field: '__proto__' },
  { name: 'report with a 2 MiB body', path: report, body: TWO_MIB, status: 413, code: 'payload_too_large' },
  { name: 'report with a JSON string', path: report, body: '"completed"', status: 400, code: 'invalid_request', field: 'body' },
  { name: 'report without status', path: report, body: { usage: {} }, status: 400, code: 'invalid_request', field: 'status' },
  { name: 'report with status "done"', path: report, body: { status: 'done' }, status: 400, code: 'invalid_request', field: 'status' },
  { name: 'report with negative tokens', path: report, body: { status: 'completed', usage: { inputTokens: -1 } }, status: 400, code: 'invalid_request', field: 'usage.inputTokens' },
  { name: 'report with fractional tokens', path: report, body: { status: 'completed', usage: { outputTokens: 1.5 } }, status: 400, code: 'invalid_request', field: 'usage.outputTokens' },
  { name: 'report with string tokens', path: report, body: { status: 'completed', usage: { totalTokens: '3' } }, status: 400, code: 'invalid_request', field: 'usage.totalTokens' },
  { name: 'report with an unknown usage field', path: report, body: { status: 'completed', usage: { tokens: 3 } }, status: 400, code: 'invalid_request', field: 'usage.tokens' },
  { name: 'report with usage an array', path: report, body: { status: 'completed', usage: [] }, status: 400, code: 'invalid_request', field: 'usage' },
  { name: 'report with a negative cost', path: report, body: { status: 'completed', costUsd: -0.1 }, status: 400, code: 'invalid_request', field: 'costUsd' },
  { name: 'report with a string cost', path: report, body: { status: 'completed', costUsd: 'free' }, status: 400, code: 'invalid_request', field: 'costUsd' },
  { name: 'report with a negative duration', path: report, body: { status: 'completed', durationMs: -5 }, status: 400, code: 'invalid_request', field: 'durationMs' },
  { name: 'report completed with a reason', path: report, body: { status: 'completed', reason: 'x' }, status: 400, code: 'invalid_request', field: 'reason' },
  { name: 'report failed without error', path: report, body: { status: 'failed' }, status: 400, code: 'invalid_request', field: 'error' },
  { name: 'report failed without error.message', path: report, body: { status: 'failed', error: { type: 'X' } }, status: 400, code: 'invalid_request', field: 'error.message' },
  { name: 'report failed with statusCode 42', path: report, body: { status: 'failed', error: { message: 'm', statusCode: 42 } }, status: 400, code: 'invalid_request', field: 'error.statusCode' },
  { name: 'report aborted with a numeric reason', path: report, body: { status: 'aborted', reason: 5 }, status: 400, code: 'invalid_request', field: 'reason' },
  // relay
  { name: 'relay without a key', path: '/relay/v1/chat/completions', auth: 'none', body: { model: 'gpt-fake', messages: [] }, status: 401, code: 'invalid_relay_key' },
  { name: 'relay with invalid JSON', path: '/relay/v1/chat/completions', auth: 'relay', body: '{"model":', status: 400, code: 'invalid_json' },
  { name: 'relay with invalid UTF-8', path: '/relay/v1/responses', auth: 'relay', body: INVALID_UTF8, status: 400, code: 'invalid_json' },
  { name: 'relay with a JSON array', path: '/relay/v1/chat/completions', auth: 'relay', body: '[]', status: 400, code: 'invalid_request', field: 'body' },
  { name: 'relay without model', path: '/relay/v1/chat/completions', auth: 'relay', body: { messages: [] }, status: 400, code: 'invalid_request', field: 'model' },
  { name: 'relay with a numeric model', path: '/relay/v1/chat/completions', auth: 'relay', body: { model: 4, messages: [] }, status: 400, code: 'invalid_request', field: 'model' },
  { name: 'relay with another model', path: '/relay/v1/chat/completions', auth: 'relay', body: { model: 'gpt-4o', messages: [] }, status: 403, code: 'model_mismatch', field: 'model' },
  { name: 'relay with a 9 MiB body', path: '/relay/v1/chat/completions', auth: 'relay', body: NINE_MIB, status: 413, code: 'payload_too_large' },
  // admin
  { name: 'create app without admin token', path: '/v1/admin/apps', auth: 'none', body: {}, status: 401, code: 'unauthorized' },
  { name: 'create app with an app token as admin', path: '/v1/admin/apps', auth: 'app', body: {}, status: 401, code: 'unauthorized' },
  { name: 'create app with a wrong admin token', path: '/v1/admin/apps', auth: { authorization: 'Bearer not-the-admin-token' }, body: {}, status: 401, code: 'unauthorized' },
  { name: 'create app with a bad appId', path: '/v1/admin/apps', auth: 'admin', body: { appId: 'a b' }, status: 400, code: 'invalid_request', field: 'appId' },
  { name: 'create app with an existing appId', path: '/v1/admin/apps', auth: 'admin', body: { appId: 'existing-app' }, status: 409, code: 'already_exists', field: 'appId' },
  { name: 'create app with a numeric name', path: '/v1/admin/apps', auth: 'admin', body: { name: 1 }, status: 400, code: 'invalid_request', field: 'name' },
  { name: 'create app with a short appToken', path: '/v1/admin/apps', auth: 'admin', body: { appToken: 'short' }, status: 400, code: 'invalid_request', field: 'appToken' },
  { name: 'create app with an unknown field', path: '/v1/admin/apps', auth: 'admin', body: { owner: 'me' }, status: 400, code: 'invalid_request', field: 'owner' },
  { name: 'create app with a __proto__ key', path: '/v1/admin/apps', auth: 'admin', body: '{"__proto__":{}}', status: 400, code: 'invalid_request', field: '__proto__' },
  { name: 'create app with a 2 MiB body', path: '/v1/admin/apps', auth: 'admin', body: TWO_MIB, status: 413, code: 'payload_too_large' },
  { name: 'create tenant without appId', path: '/v1/admin/tenants', auth: 'admin', body: { name: 't' }, status: 400, code: 'invalid_request', field: 'appId' },
  { name: 'create tenant of an unknown app', path: '/v1/admin/tenants', auth: 'admin', body: { appId: 'no-such-app' }, status: 404, code: 'unknown_app', field: 'appId' },
  { name: 'create tenant with a negative rate limit', path: '/v1/admin/tenants', auth: 'admin', body: { appId: 'existing-app', rateLimitPerMinute: -1 }, status: 400, code: 'invalid_request', field: 'rateLimitPerMinute' },
  { name: 'create tenant with a fractional rate limit', path: '/v1/admin/tenants', auth: 'admin', body: { appId: 'existing-app', rateLimitPerMinute: 1.5 }, status: 400, code: 'invalid_request', field: 'rateLimitPerMinute' },
  { name: 'create tenant with an existing tenantId', path: '/v1/admin/tenants', auth: 'admin', body: () => ({ appId: 'existing-app', tenantId: h.tenantId }), status: 409, code: 'already_exists', field: 'tenantId' },
  { name: 'create tenant with invalid JSON', path: '/v1/admin/tenants', auth: 'admin', body: '{', status: 400, code: 'invalid_json' },
  { name: 'suspend an unknown tenant', path: '/v1/admin/tenants/nope/suspend', auth: 'admin', body: { suspended: true }, status: 404, code: 'unknown_tenant', field: 'tenantId' },
  { name: 'suspend with "yes"', path: () => `/v1/admin/tenants/${h.tenantId}/suspend`, auth: 'admin', body: { suspended: 'yes' }, status: 400, code: 'invalid_request', field: 'suspended' },
  { name: 'suspend without a body', path: () => `/v1/admin/tenants/${h.tenantId}/suspend`, auth: 'admin', body: undefined, status: 400, code: 'invalid_json' },
  { name: 'suspend without admin token', path: () => `/v1/admin/tenants/${h.tenantId}/suspend`, auth: 'app', body: { suspended: true }, status: 401, code: 'unauthorized' },
  { name: 'create delegation without tenantId', path: '/v1/admin/delegations', auth: 'admin', body: {}, status: 400, code: 'invalid_request', field: 'tenantId' },
  { name: 'create delegation of an unknown tenant', path: '/v1/admin/delegations', auth: 'admin', body: { tenantId: 'nope' }, status: 404, code: 'unknown_tenant', field: 'tenantId' },
  { name: 'create delegation with a negative budget', path: '/v1/admin/delegations', auth: 'admin', body: () => ({ tenantId: h.tenantId, budgetUsd: -1 }), status: 400, code: 'invalid_request', field: 'budgetUsd' },
  { name: 'create delegation with allowedModels a string', path: '/v1/admin/delegations', auth: 'admin', body: () => ({ tenantId: h.tenantId, allowedModels: 'openai/gpt-fake' }), status: 400, code: 'invalid_request', field: 'allowedModels' },
  { name: 'create delegation with an unqualified allowed model', path: '/v1/admin/delegations', auth: 'admin', body: () => ({ tenantId: h.tenantId, allowedModels: ['openai/gpt-fake', 'gpt-fake'] }), status: 400, code: 'invalid_request', field: 'allowedModels.1' },
  { name: 'create delegation with a bad defaultModel', path: '/v1/admin/delegations', auth: 'admin', body: () => ({ tenantId: h.tenantId, defaultModel: 'gpt fake' }), status: 400, code: 'invalid_request', field: 'defaultModel' },
  { name: 'create delegation with an existing id', path: '/v1/admin/delegations', auth: 'admin', body: () => ({ tenantId: h.tenantId, delegationId: h.delegationId }), status: 409, code: 'already_exists', field: 'delegationId' },
  { name: 'revoke an unknown delegation', path: '/v1/admin/delegations/nope/revoke', auth: 'admin', body: undefined, status: 404, code: 'unknown_delegation', field: 'delegationId' },
  { name: 'revoke with an unknown field', path: () => `/v1/admin/delegations/${h.delegationId}/revoke`, auth: 'admin', body: { now: true }, status: 400, code: 'invalid_request', field: 'now' },
  { name: 'revoke without admin token', path: () => `/v1/admin/delegations/${h.delegationId}/revoke`, auth: 'none', body: undefined, status: 401, code: 'unauthorized' },
  // audit
  { name: 'audit without credentials', method: 'GET', path: '/v1/audit', auth: 'none', body: undefined, status: 401, code: 'unauthorized' },
  { name: 'audit with an unknown query parameter', method: 'GET', path: '/v1/audit?user=x', auth: 'admin', body: undefined, status: 400, code: 'invalid_request', field: 'user' },
  { name: 'audit with an empty tenant', method: 'GET', path: '/v1/audit?tenant=', auth: 'admin', body: undefined, status: 400, code: 'invalid_request', field: 'tenant' },
  { name: 'audit of an unknown tenant as an app', method: 'GET', path: '/v1/audit?tenant=nope', auth: 'app', body: undefined, status: 404, code: 'unknown_tenant' },
  // routing
  { name: 'an unknown route', path: '/v1/nope', auth: 'admin', body: {}, status: 404, code: 'not_found' },
  { name: 'GET on prepare', method: 'GET', path: PREPARE, body: undefined, status: 405, code: 'method_not_allowed' },
  { name: 'POST on health', path: '/health', auth: 'none', body: {}, status: 405, code: 'method_not_allowed' },
  { name: 'DELETE on audit', method: 'DELETE', path: '/v1/audit', auth: 'admin', body: undefined, status: 405, code: 'method_not_allowed' },
  { name: 'a malformed path escape', path: '/v1/executions/%E0%A4%A/report', body: { status: 'completed' }, status: 404, code: 'not_found' },
];

function authHeaders(auth: Case['auth']): Record<string, string> {
  if (auth === undefined || auth === 'app') return h.appHeaders();
  if (auth === 'none') return {};
  if (auth === 'admin') return { authorization: `Bearer ${ADMIN_TOKEN}` };
  if (auth === 'relay') return { authorization: `Bearer ${allow.relay.apiKey}` };
  return auth;
}

describe('bad input: the right 4xx, the field named, the database unchanged', () => {
  for (const testCase of cases) {
    it(testCase.name, async () => {
      const before = { tables: h.dump(), audit: h.vela.admin.audit() };
      const path = typeof testCase.path === 'function' ? testCase.path() : testCase.path;
      const body = typeof testCase.body === 'function' ? testCase.body() : testCase.body;
      const method = testCase.method ?? 'POST';
      const headers = { 'idempotency-key': `bad-${testCase.name}`, ...authHeaders(testCase.auth), ...testCase.headers };
      if (headers['idempotency-key'] === '') delete (headers as Record<string, string | undefined>)['idempotency-key'];
      const answer = await h.request(method, path, { headers, ...(body !== undefined ? { body } : {}) });
      expect(answer.status).toBe(testCase.status);
      const error = asError(answer);
      expect(error.code).toBe(testCase.code);
      expect(error.field).toBe(testCase.field);
      expect(typeof error.message).toBe('string');
      expect(error.message.length).toBeGreaterThan(0);
      if (testCase.status === 405) expect(answer.headers.get('allow')).toBeTruthy();
      await h.vela.settled();
      expect({ tables: h.dump(), audit: h.vela.admin.audit() }).toEqual(before);
    });
  }

  it('the relay key survived every refused relay request', async () => {
    const answer = await h.request('POST', '/relay/v1/chat/completions', {
      headers: { authorization: `Bearer ${allow.relay.apiKey}` },
      body: { model: 'gpt-fake', messages: [{ role: 'user', content: 'hi' }] },
    });
    expect(answer.status).toBe(200);
    expect(fake.requests.filter((request) => request.api !== 'other')).toHaveLength(1);
  });

  it('no prototype was polluted', () => {
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
