// Why this file exists: the execution scope is the only thing about Vela the browser holds (a
// tenant id and a delegation id — never a token or key). Page and server share its shape here, and
// the server checks every request body against it before anything reaches the pipeline.

/** The execution scope the page sends with each chat request. */
export interface ChatScope {
  customerTenantId: string;
  delegationId: string;
}

/** The scopes the page can switch between (from `GET /api/config`). */
export interface ChatScopes {
  /** The tenant's working delegation. */
  active: ChatScope;
  /** A delegation of the same tenant that Vela has revoked: every call made with it is denied. */
  revoked?: ChatScope;
}

/** The result of {@link parseChatScope}: the scope, or what is wrong with it (naming the field). */
export type ParsedChatScope = { ok: true; scope: ChatScope } | { ok: false; field: string; message: string };

const SCOPE_KEYS = ['customerTenantId', 'delegationId'] as const;
/** Ids as the Vela dev server makes them (`t_…`, `demo-delegation`): no spaces, quotes or control characters. */
const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

/**
 * Checks that `value` is exactly `{ customerTenantId, delegationId }` with id-shaped strings; any
 * other key (a `userId` the page must not choose, a stray `appToken`) makes it invalid.
 */
export function parseChatScope(value: unknown, field = 'scope'): ParsedChatScope {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, field, message: 'expected an object { customerTenantId, delegationId }' };
  }
  const record = value as Record<string, unknown>;
  const extra = Object.keys(record).find((key) => !(SCOPE_KEYS as readonly string[]).includes(key));
  if (extra !== undefined) return { ok: false, field: `${field}.${extra}`, message: 'unknown field (allowed: customerTenantId, delegationId)' };
  for (const key of SCOPE_KEYS) {
    const id = record[key];
    if (typeof id !== 'string' || !ID_PATTERN.test(id)) {
      return { ok: false, field: `${field}.${key}`, message: 'expected an id: 1–128 letters, digits, ".", "_", ":" or "-"' };
    }
  }
  return { ok: true, scope: { customerTenantId: record.customerTenantId as string, delegationId: record.delegationId as string } };
}
