// Why this file exists: the admin HTTP API (apps, tenants, delegations, suspension, revocation)
// and the audit endpoint, as thin HTTP shells over admin-service.ts — authentication, body
// parsing, status codes — so the in-process helpers and the API cannot drift apart.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AuditResponse } from '../protocol.ts';
import {
  auditRows,
  createApp,
  createDelegation,
  createTenant,
  revokeDelegation,
  suspendTenant,
} from './admin-service.ts';
import { authenticateApp, isAdmin, requireAdmin } from './auth.ts';
import type { ServerContext } from './context.ts';
import { invalidField, VelaDevServerError } from './errors.ts';
import { JSON_BODY_LIMIT, parseJsonObject, readBody, sendJson } from './http-json.ts';
import type { JsonObject } from './http-json.ts';
import { rejectUnknownKeys } from './validate.ts';

async function adminBody(context: ServerContext, req: IncomingMessage, allowEmpty = false): Promise<JsonObject> {
  requireAdmin(context, req);
  return parseJsonObject(await readBody(req, JSON_BODY_LIMIT), { allowEmpty });
}

/** `POST /v1/admin/apps` → 201 `{ appId, appToken }` (the token is shown this once). */
export async function handleCreateApp(context: ServerContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const body = await adminBody(context, req, true);
  sendJson(res, 201, createApp(context, body));
}

/** `POST /v1/admin/tenants` → 201 `{ tenantId }`. */
export async function handleCreateTenant(context: ServerContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const body = await adminBody(context, req);
  sendJson(res, 201, createTenant(context, body));
}

/** `POST /v1/admin/tenants/{id}/suspend` with `{ suspended: boolean }`. */
export async function handleSuspendTenant(context: ServerContext, req: IncomingMessage, res: ServerResponse, tenantId: string): Promise<void> {
  const body = await adminBody(context, req);
  sendJson(res, 200, suspendTenant(context, tenantId, body));
}

/** `POST /v1/admin/delegations` → 201 `{ delegationId }`. */
export async function handleCreateDelegation(context: ServerContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const body = await adminBody(context, req);
  sendJson(res, 201, createDelegation(context, body));
}

/** `POST /v1/admin/delegations/{id}/revoke` (body optional, `{}`). */
export async function handleRevokeDelegation(context: ServerContext, req: IncomingMessage, res: ServerResponse, delegationId: string): Promise<void> {
  const body = await adminBody(context, req, true);
  rejectUnknownKeys(body, [], '');
  sendJson(res, 200, revokeDelegation(context, delegationId));
}

/**
 * `GET /v1/audit?tenant=…`: with the admin token, any tenant or all; with app credentials, only
 * that app's executions, and a tenant of another app (or none) is 404 `unknown_tenant`.
 */
export function handleAudit(context: ServerContext, req: IncomingMessage, res: ServerResponse, url: URL): void {
  const admin = isAdmin(context, req);
  const app = admin ? undefined : authenticateApp(context, req);
  for (const name of url.searchParams.keys()) {
    if (name !== 'tenant') throw invalidField(name, 'no such query parameter (allowed: tenant)');
  }
  const tenants = url.searchParams.getAll('tenant');
  const tenant = tenants[0];
  if (tenants.length > 1 || (tenant !== undefined && (tenant.length === 0 || tenant.length > 200))) {
    throw invalidField('tenant', 'one tenant id of 1 to 200 characters');
  }
  let answer: AuditResponse;
  if (app === undefined) {
    answer = { rows: auditRows(context, tenant !== undefined ? { tenant } : {}) };
  } else {
    if (tenant !== undefined && context.db.getTenant(tenant)?.appId !== app.appId) {
      throw new VelaDevServerError(404, 'unknown_tenant', `tenant "${tenant}" is not a tenant of this app`);
    }
    answer = { rows: auditRows(context, { appId: app.appId, ...(tenant !== undefined ? { tenant } : {}) }) };
  }
  sendJson(res, 200, answer);
}
